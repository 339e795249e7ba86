//! Tokens: readers use a stored token while it is good; when it is not, one caller takes the refresh lease
//! and calls WeChat while the others wait for its result. A token WeChat rejects (40001/42001) is expired
//! only if it is still the stored value, refreshed, and the call retried once. Within one invocation a token
//! read or written is remembered (`remembering`), so a request that makes several WeChat calls reads it once.
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::platform::Platform;
use crate::error::{AppError, AppResult};
use crate::store::{authorizers, components, tokens, tokens::Subject};
use crate::wechat::{errcode, WechatError};

/// A token is "good" while it has at least this long to live (covers the call in flight).
const GOOD_MARGIN_SECS: i64 = 60;
/// The scheduled job refreshes tokens with less than this left (schedule 5 min + the 10 min rule).
pub const SCHEDULED_REFRESH_MARGIN_SECS: i64 = 15 * 60;
const LEASE_SECS: i64 = 15;
const WAIT_FOR_OTHER_WRITER: Duration = Duration::from_secs(8);

fn new_owner() -> String {
    crate::random::hex(8)
}

struct Fresh {
    value: String,
    expires_in: i64,
}

tokio::task_local! {
    /// Tokens this invocation has read or written: (component, subject) → (value, expires_at).
    static REMEMBERED: Mutex<HashMap<(String, Option<String>), (String, i64)>>;
}

/// Runs one invocation's work with its own memory of tokens; none is carried into the next invocation, so a
/// token refreshed or expired elsewhere is seen by the next request.
pub async fn remembering<F: Future>(fut: F) -> F::Output {
    REMEMBERED.scope(Mutex::new(HashMap::new()), fut).await
}

fn memo_key(component: &str, subject: Subject<'_>) -> (String, Option<String>) {
    let authorizer = match subject {
        Subject::Component => None,
        Subject::Authorizer(a) => Some(a.to_owned()),
    };
    (component.to_owned(), authorizer)
}

fn recalled(component: &str, subject: Subject<'_>, good_until: i64) -> Option<String> {
    REMEMBERED
        .try_with(|m| {
            let m = m.lock().unwrap_or_else(|e| e.into_inner());
            m.get(&memo_key(component, subject))
                .filter(|(_, expires_at)| *expires_at > good_until)
                .map(|(v, _)| v.clone())
        })
        .ok()
        .flatten()
}

fn remember(component: &str, subject: Subject<'_>, value: &str, expires_at: i64) {
    let _ = REMEMBERED.try_with(|m| {
        let mut m = m.lock().unwrap_or_else(|e| e.into_inner());
        m.insert(memo_key(component, subject), (value.to_owned(), expires_at));
    });
}

fn forget(component: &str, subject: Subject<'_>) {
    let _ = REMEMBERED.try_with(|m| {
        m.lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&memo_key(component, subject));
    });
}

/// What a caller found when it tried to become the one writer of a token.
enum Claim {
    /// A token that lives long enough is already stored: its value and expiry.
    Good(String, i64),
    /// This caller holds the lease and must refresh (or release) it.
    Taken,
    /// Another writer holds the lease.
    Busy,
}

async fn claim(
    deps: &Deps,
    component: &str,
    subject: Subject<'_>,
    owner: &str,
    good_until: i64,
) -> AppResult<Claim> {
    if let Some((v, expires_at)) = good_token(deps, component, subject, good_until).await? {
        return Ok(Claim::Good(v, expires_at));
    }
    if !tokens::try_lease(
        &deps.table,
        component,
        subject,
        owner,
        now_secs(),
        LEASE_SECS,
    )
    .await?
    {
        return Ok(Claim::Busy);
    }
    // Another writer may have refreshed and released the lease since our read.
    if let Some((v, expires_at)) = good_token(deps, component, subject, good_until).await? {
        tokens::release_lease(&deps.table, component, subject, owner).await?;
        return Ok(Claim::Good(v, expires_at));
    }
    Ok(Claim::Taken)
}

/// Returns a good token, refreshing it under the lease when needed.
async fn obtain(deps: &Deps, component: &str, subject: Subject<'_>) -> AppResult<String> {
    if let Some(v) = recalled(component, subject, now_secs() + GOOD_MARGIN_SECS) {
        return Ok(v);
    }
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER_WRITER;
    let owner = new_owner();
    loop {
        match claim(
            deps,
            component,
            subject,
            &owner,
            now_secs() + GOOD_MARGIN_SECS,
        )
        .await?
        {
            Claim::Good(v, expires_at) => {
                remember(component, subject, &v, expires_at);
                return Ok(v);
            }
            Claim::Taken => return refresh_under_lease(deps, component, subject, &owner).await,
            Claim::Busy if tokio::time::Instant::now() >= deadline => {
                return Err(AppError::TokenBusy)
            }
            Claim::Busy => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The stored token if it lives beyond `good_until`.
async fn good_token(
    deps: &Deps,
    component: &str,
    subject: Subject<'_>,
    good_until: i64,
) -> AppResult<Option<(String, i64)>> {
    let stored = tokens::get(&deps.table, component, subject).await?;
    Ok(stored.and_then(|t| {
        let expires_at = t.expires_at;
        t.value
            .filter(|_| expires_at > good_until)
            .map(|v| (v, expires_at))
    }))
}

/// Asks WeChat for a new token of the subject.
async fn fetch(deps: &Deps, component: &str, subject: Subject<'_>) -> AppResult<Fresh> {
    match subject {
        Subject::Component => fetch_component_token(deps, component).await,
        // Boxed: an authorizer token is fetched with the component token, which goes through `obtain` again.
        Subject::Authorizer(a) => Box::pin(fetch_authorizer_token(deps, component, a)).await,
    }
}

async fn refresh_under_lease(
    deps: &Deps,
    component: &str,
    subject: Subject<'_>,
    owner: &str,
) -> AppResult<String> {
    match fetch(deps, component, subject).await {
        Ok(fresh) => {
            let now = now_secs();
            let stored = tokens::store_refreshed(
                &deps.table,
                component,
                subject,
                owner,
                &fresh.value,
                now + fresh.expires_in,
                now,
            )
            .await?;
            if stored {
                remember(component, subject, &fresh.value, now + fresh.expires_in);
            }
            tracing::info!(component, subject = %subject_kind(subject), "token refreshed");
            refreshed(subject, "ok");
            Ok(fresh.value)
        }
        Err(e) => {
            refreshed(subject, crate::http::response::status_and_code(&e).1);
            tokens::release_lease(&deps.table, component, subject, owner).await?;
            Err(e)
        }
    }
}

/// Counts one refresh by what was refreshed and how it ended (the `TokenRefreshes` metric).
fn refreshed(subject: Subject<'_>, outcome: &str) {
    let kind = match subject {
        Subject::Component => "component",
        Subject::Authorizer(_) => "authorizer",
    };
    crate::metrics::count("TokenRefreshes", &[("Subject", kind), ("Outcome", outcome)]);
    if outcome != "ok" {
        crate::metrics::count("TokenRefreshFailures", &[]);
    }
}

fn subject_kind(subject: Subject<'_>) -> String {
    match subject {
        Subject::Component => "component".into(),
        Subject::Authorizer(a) => format!("authorizer {a}"),
    }
}

async fn fetch_component_token(deps: &Deps, component: &str) -> AppResult<Fresh> {
    if Platform::of(component) == Platform::Alipay {
        return Err(AppError::Conflict(format!(
            "workspace {component} holds an Alipay application only: WeChat's routes need a WeChat component"
        )));
    }
    let ticket = components::get_ticket(&deps.table, component)
        .await?
        .ok_or(AppError::TicketMissing)?;
    if !ticket.is_valid_at(now_secs()) {
        return Err(AppError::TicketMissing);
    }
    let secret = deps.secrets.component(component).await?;
    let asked = deps
        .wechat
        .component_token(component, &secret.appsecret, &ticket.value)
        .await;
    let t = match asked {
        // WeChat refused the appsecret: it may have been rotated since this instance cached it.
        Err(e) if e.errcode() == Some(errcode::INVALID_APPSECRET) => {
            match deps.secrets.reload_component(component).await? {
                Some(fresh) => {
                    tracing::info!(component, "component secret re-read after 40125");
                    deps.wechat
                        .component_token(component, &fresh.appsecret, &ticket.value)
                        .await?
                }
                None => return Err(e.into()),
            }
        }
        other => other?,
    };
    Ok(Fresh {
        value: t.component_access_token,
        expires_in: t.expires_in,
    })
}

pub async fn component_token(deps: &Deps, component: &str) -> AppResult<String> {
    obtain(deps, component, Subject::Component).await
}

async fn fetch_authorizer_token(
    deps: &Deps,
    component: &str,
    authorizer: &str,
) -> AppResult<Fresh> {
    let record = authorizers::get(&deps.table, component, authorizer)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("mini-program {authorizer}")))?;
    let refresh_token = match (record.status.as_str(), record.refresh_token) {
        (authorizers::STATUS_AUTHORIZED, Some(rt)) => rt,
        _ => return Err(AppError::ReauthorizationRequired(authorizer.to_owned())),
    };
    let result = with_component_token(deps, component, |cat| {
        let rt = refresh_token.clone();
        async move {
            deps.wechat
                .authorizer_token(&cat, component, authorizer, &rt)
                .await
        }
    })
    .await;
    match result {
        Ok(t) => {
            // WeChat usually answers with the refresh token we hold: nothing to save then.
            if t.authorizer_refresh_token != refresh_token {
                authorizers::save_refresh_token(
                    &deps.table,
                    component,
                    authorizer,
                    &t.authorizer_refresh_token,
                    now_millis(),
                )
                .await?;
            }
            Ok(Fresh {
                value: t.authorizer_access_token,
                expires_in: t.expires_in,
            })
        }
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::REFRESH_TOKEN_INVALID) => {
            tracing::warn!(
                component,
                authorizer,
                "refresh token refused (61023): reauthorization required"
            );
            authorizers::mark_reauthorization_required(
                &deps.table,
                component,
                authorizer,
                "WeChat errcode 61023: refresh token invalid",
                now_secs(),
            )
            .await?;
            Err(AppError::ReauthorizationRequired(authorizer.to_owned()))
        }
        Err(e) => Err(e),
    }
}

pub async fn authorizer_token(deps: &Deps, component: &str, authorizer: &str) -> AppResult<String> {
    obtain(deps, component, Subject::Authorizer(authorizer)).await
}

/// Calls WeChat with a token; on a rejected token expires it (if still current), refreshes and retries once.
async fn with_token<T, G, GFut, C, CFut>(
    deps: &Deps,
    component: &str,
    subject: Subject<'_>,
    get: G,
    call: C,
) -> AppResult<T>
where
    G: Fn() -> GFut,
    GFut: Future<Output = AppResult<String>>,
    C: Fn(String) -> CFut,
    CFut: Future<Output = Result<T, WechatError>>,
{
    let token = get().await?;
    match retrying(&call, token.clone()).await {
        Err(e) if e.is_token_rejected() => {
            tracing::warn!(component, subject = %subject_kind(subject), errcode = e.errcode(), "token rejected; refreshing");
            forget(component, subject);
            tokens::expire_if_current(&deps.table, component, subject, &token).await?;
            let fresh = get().await?;
            Ok(retrying(&call, fresh).await?)
        }
        other => Ok(other?),
    }
}

/// Attempts of one WeChat call that failed transiently (-1, 5xx, no answer).
const TRANSIENT_ATTEMPTS: u32 = 3;
/// A retry is only started while this much of the invocation is left: one more call may take the client's
/// whole timeout, and the caller still has to record what happened.
const RETRY_RESERVE_MS: i64 = 6_500;

/// One WeChat call, retried with back-off (200 ms, then 400 ms, with jitter) while it fails transiently and the
/// invocation has time left for another try.
async fn retrying<T, C, CFut>(call: &C, token: String) -> Result<T, WechatError>
where
    C: Fn(String) -> CFut,
    CFut: Future<Output = Result<T, WechatError>>,
{
    let mut attempt = 1;
    loop {
        match call(token.clone()).await {
            Err(e) if e.is_transient() && attempt < TRANSIENT_ATTEMPTS => {
                let pause = (100u64 << attempt) + crate::random::jitter_ms(100);
                let left = crate::clock::time_left_ms().unwrap_or(i64::MAX);
                if left < RETRY_RESERVE_MS + pause as i64 {
                    return Err(e);
                }
                tracing::warn!(attempt, error = %e, "WeChat failed transiently; retrying");
                tokio::time::sleep(Duration::from_millis(pause)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub async fn with_component_token<T, C, CFut>(deps: &Deps, component: &str, call: C) -> AppResult<T>
where
    C: Fn(String) -> CFut,
    CFut: Future<Output = Result<T, WechatError>>,
{
    with_token(
        deps,
        component,
        Subject::Component,
        || component_token(deps, component),
        call,
    )
    .await
}

pub async fn with_authorizer_token<T, C, CFut>(
    deps: &Deps,
    component: &str,
    authorizer: &str,
    call: C,
) -> AppResult<T>
where
    C: Fn(String) -> CFut,
    CFut: Future<Output = Result<T, WechatError>>,
{
    let subject = Subject::Authorizer(authorizer);
    with_token(
        deps,
        component,
        subject,
        || authorizer_token(deps, component, authorizer),
        call,
    )
    .await
}

/// Scheduled refresh: only when within the margin, and only if no one else holds the lease. One conditional write
/// checks both, so a fleet of tokens costs one write each before WeChat is asked.
pub async fn refresh_if_due(deps: &Deps, component: &str, subject: Subject<'_>) -> AppResult<bool> {
    let owner = new_owner();
    let now = now_secs();
    let leased = tokens::try_lease_if_due(
        &deps.table,
        component,
        subject,
        &owner,
        now,
        LEASE_SECS,
        now + SCHEDULED_REFRESH_MARGIN_SECS,
    )
    .await?;
    if !leased {
        return Ok(false); // fresh enough, or another writer is at it
    }
    refresh_under_lease(deps, component, subject, &owner)
        .await
        .map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_is_remembered_within_one_invocation_only_while_good() {
        let a = Subject::Authorizer("wxa");
        remembering(async {
            assert_eq!(recalled("c", a, 100), None);
            remember("c", a, "t1", 200);
            assert_eq!(recalled("c", a, 100).as_deref(), Some("t1"));
            // Not good enough for a caller that needs it beyond its expiry.
            assert_eq!(recalled("c", a, 200), None);
            // Another subject and another component are their own.
            assert_eq!(recalled("c", Subject::Component, 100), None);
            assert_eq!(recalled("other", a, 100), None);
            forget("c", a);
            assert_eq!(recalled("c", a, 100), None);
        })
        .await;
        remembering(async {
            assert_eq!(
                recalled("c", a, 100),
                None,
                "the next invocation starts empty"
            );
        })
        .await;
        // Outside an invocation nothing is remembered.
        remember("c", a, "t1", 200);
        assert_eq!(recalled("c", a, 100), None);
    }
}
