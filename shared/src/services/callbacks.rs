//! Handling of WeChat pushes: verify → decrypt → parse → deduplicate → apply → record.
//! A push's effect runs at most once to completion; a failed handler releases its claim so a retry can succeed.
use serde_json::json;
use sha1::{Digest, Sha1};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::forwarding::PushFacts;
use crate::error::{AppError, AppResult};
use crate::services::{access, events, forwarding, tokens};
use crate::store::authorizers::Recalled;
use crate::store::{authorizers, components, punishments, pushes};
use crate::wechat::crypto::{CryptoError, MsgCrypt, UrlCheck};
use crate::wechat::errcode;
use crate::wechat::push::{
    redact_credentials, AuthEvent, Envelope, MessageEvent, NicknameAudit, Punishment, PushError,
};

/// Query parameters WeChat sends with every push.
pub struct SignedQuery {
    pub timestamp: String,
    pub nonce: String,
    pub msg_signature: String,
}

/// Which of the two configured URLs received the push.
#[derive(Clone, Copy)]
pub enum UrlKind<'a> {
    AuthEvent,
    Message { authorizer_appid: &'a str },
}

/// How long a delivery may hold a push before another delivery may take it over: longer than a callback
/// function's 10 s timeout (so a live holder is never overtaken) and shorter than WeChat's retry window of about
/// 15 s (so the retry of a delivery whose handler died still applies it).
pub const PUSH_LEASE_SECS: i64 = 12;

fn crypto_to_app(err: CryptoError) -> AppError {
    match err {
        CryptoError::BadSignature => {
            AppError::Unauthenticated("push signature does not match".into())
        }
        CryptoError::WrongReceiver => {
            AppError::Unauthenticated("push is addressed to another app id".into())
        }
        CryptoError::InvalidKey => AppError::Conflict("component EncodingAESKey is invalid".into()),
        other => AppError::BadRequest(format!("push ciphertext rejected: {other}")),
    }
}

fn push_to_app(err: PushError) -> AppError {
    AppError::BadRequest(format!("push body rejected: {err}"))
}

/// The component must be registered: unknown appids are 404 before any secret is read.
async fn crypt_for(deps: &Deps, component: &str) -> AppResult<MsgCrypt> {
    components::get(&deps.table, component)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("component {component}")))?;
    let secret = deps.secrets.component(component).await?;
    MsgCrypt::new(&secret.token, &secret.encoding_aes_key, component).map_err(crypto_to_app)
}

/// Runs `check` with the component's cached keys; a bad signature makes this instance re-read the secret once (it
/// may have been rotated since it was cached) and check again with the new keys.
async fn with_crypt<T>(
    deps: &Deps,
    component: &str,
    check: impl Fn(&MsgCrypt) -> Result<T, CryptoError>,
) -> AppResult<T> {
    let crypt = crypt_for(deps, component).await?;
    match check(&crypt) {
        Err(CryptoError::BadSignature) => {
            let Some(fresh) = deps.secrets.reload_component(component).await? else {
                return Err(crypto_to_app(CryptoError::BadSignature));
            };
            tracing::info!(
                component,
                "component secret was rotated: re-read after a bad signature"
            );
            let crypt = MsgCrypt::new(&fresh.token, &fresh.encoding_aes_key, component)
                .map_err(crypto_to_app)?;
            check(&crypt).map_err(crypto_to_app)
        }
        other => other.map_err(crypto_to_app),
    }
}

/// WeChat's GET check of a callback URL.
pub async fn verify_url(deps: &Deps, component: &str, check: &UrlCheck<'_>) -> AppResult<String> {
    with_crypt(deps, component, |crypt| crypt.verify_url(check)).await
}

fn hash(key: &str) -> String {
    crate::domain::ids::hex_lower(&Sha1::digest(key.as_bytes())[..10])
}

/// How far a push's signed timestamp may be from now. WeChat's retries (about 15 s) resend the same timestamp, so
/// they pass; a captured push replayed later does not.
pub const PUSH_FRESHNESS_SECS: i64 = 300;

/// Verifies and decrypts a push without side effects. Also returns whether its timestamp is fresh.
async fn open(
    deps: &Deps,
    component: &str,
    query: &SignedQuery,
    body: &[u8],
) -> AppResult<(String, bool)> {
    let xml = std::str::from_utf8(body)
        .map_err(|_| AppError::BadRequest("push body is not UTF-8".into()))?;
    let (_, encrypted) = Envelope::parse(xml).map_err(push_to_app)?;
    let plaintext = with_crypt(deps, component, |crypt| {
        crypt.verify_and_decrypt(
            &query.msg_signature,
            &query.timestamp,
            &query.nonce,
            &encrypted,
        )
    })
    .await?;
    let fresh = query
        .timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now_secs() - t).abs() <= PUSH_FRESHNESS_SECS);
    Ok((plaintext, fresh))
}

/// Parsed push, ready for deduplication.
struct Opened<'a> {
    push_type: String,
    dedup_key: String,
    create_time: i64,
    authorizer_appid: Option<String>,
    url_kind: UrlKind<'a>,
    plaintext: String,
    /// Its signed timestamp is within `PUSH_FRESHNESS_SECS` of now.
    fresh: bool,
}

pub async fn handle_auth_event(
    deps: &Deps,
    component: &str,
    query: &SignedQuery,
    body: &[u8],
) -> AppResult<()> {
    let (plaintext, fresh) = open(deps, component, query, body).await?;
    let event = AuthEvent::parse(&plaintext).map_err(push_to_app)?;
    if event.component_appid() != component {
        return Err(AppError::Unauthenticated(
            "push names another component".into(),
        ));
    }
    let opened = Opened {
        push_type: event.type_name().to_owned(),
        dedup_key: event.dedup_key(),
        create_time: event.create_time(),
        authorizer_appid: event.authorizer_appid().map(str::to_owned),
        url_kind: UrlKind::AuthEvent,
        plaintext,
        fresh,
    };
    once(deps, component, &opened, || async {
        apply_auth_event(deps, component, &event).await?;
        let facts = PushFacts {
            info_type: Some(event.type_name()),
            appid: event.authorizer_appid(),
            ..Default::default()
        };
        forward(deps, component, &opened, &facts).await
    })
    .await
}

/// Queues the applied push for the component's forwarding rules that match it.
async fn forward(
    deps: &Deps,
    component: &str,
    push: &Opened<'_>,
    facts: &PushFacts<'_>,
) -> AppResult<()> {
    let queued = forwarding::forward_push(
        deps,
        component,
        &push.push_type,
        &push.dedup_key,
        facts,
        &push.plaintext,
    )
    .await?;
    if queued > 0 {
        tracing::info!(component, push_type = %push.push_type, queued, "push queued for forwarding");
    }
    Ok(())
}

pub async fn handle_message(
    deps: &Deps,
    component: &str,
    authorizer_appid: &str,
    query: &SignedQuery,
    body: &[u8],
) -> AppResult<()> {
    let (plaintext, fresh) = open(deps, component, query, body).await?;
    let event = MessageEvent::parse(&plaintext).map_err(push_to_app)?;
    let punishment = Punishment::parse(&plaintext).map_err(push_to_app)?;
    let name_decided = NicknameAudit::parse(&plaintext).map_err(push_to_app)?;
    // The URL names the mini-program; the signed content must be addressed to that same one.
    let addressed = authorizers::get(&deps.table, component, authorizer_appid)
        .await?
        .is_some_and(|a| !a.user_name.is_empty() && a.user_name == event.to_user());
    if !addressed {
        return Err(AppError::Forbidden(format!(
            "push is not addressed to mini-program {authorizer_appid}"
        )));
    }
    let opened = Opened {
        push_type: event.type_name(),
        dedup_key: format!("{authorizer_appid}|{}", event.dedup_key()),
        create_time: event.create_time(),
        authorizer_appid: Some(authorizer_appid.to_owned()),
        url_kind: UrlKind::Message { authorizer_appid },
        plaintext,
        fresh,
    };
    once(deps, component, &opened, || async {
        if let Some(p) = &punishment {
            let recorded =
                punishments::record(&deps.table, component, authorizer_appid, p, now_secs())
                    .await?;
            tracing::warn!(component, appid = authorizer_appid, punish_id = %p.punish_id,
                           event_type = p.event_type, recorded, "WeChat punished the mini-program");
        }
        if let Some(audit) = &name_decided {
            crate::services::basic_info::nickname_decided(deps, component, authorizer_appid, audit)
                .await?;
        }
        apply_message(deps, component, authorizer_appid, &event).await?;
        let type_name = event.type_name();
        let (msg_type, event_name) = match &event {
            MessageEvent::Other {
                msg_type, event, ..
            } => (msg_type.as_str(), event.as_deref()),
            _ => ("event", Some(type_name.as_str())),
        };
        let facts = PushFacts {
            msg_type: Some(msg_type),
            event: event_name,
            appid: Some(authorizer_appid),
            ..Default::default()
        };
        forward(deps, component, &opened, &facts).await
    })
    .await
}

/// Runs `apply` at most once to completion per push identity, and records every delivery.
async fn once<F, Fut>(deps: &Deps, component: &str, push: &Opened<'_>, apply: F) -> AppResult<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    let now = now_secs();
    let ttl = deps.push_ttl(now);
    let key_hash = hash(&push.dedup_key);
    let url_kind = match push.url_kind {
        UrlKind::AuthEvent => "auth_event",
        UrlKind::Message { .. } => "message",
    };
    let body = redact_credentials(&push.plaintext);
    let record = |outcome: &'static str| pushes::NewRecord {
        hash: &key_hash,
        push_type: &push.push_type,
        url_kind,
        authorizer_appid: push.authorizer_appid.as_deref(),
        create_time: push.create_time,
        outcome,
        body: &body,
    };
    if !push.fresh {
        tracing::warn!(component, push_type = %push.push_type, "stale push refused");
        pushed(&push.push_type, "refused_stale");
        pushes::record(&deps.table, component, &record("refused_stale"), now, ttl).await?;
        return Err(AppError::Forbidden(format!(
            "push timestamp is more than {PUSH_FRESHNESS_SECS} s from now; refused"
        )));
    }
    let owner = crate::random::hex(8);
    match pushes::begin(
        &deps.table,
        component,
        &key_hash,
        &owner,
        now,
        PUSH_LEASE_SECS,
        ttl,
    )
    .await?
    {
        pushes::Begin::AlreadyDone => {
            tracing::info!(component, push_type = %push.push_type, "duplicate delivery ignored");
            pushed(&push.push_type, "duplicate");
            pushes::record(&deps.table, component, &record("processed"), now, ttl).await?;
            return Ok(());
        }
        pushes::Begin::InProgress => return Err(AppError::PushInProgress),
        pushes::Begin::Started => {}
    }
    match apply().await {
        Ok(()) => {
            pushes::record(&deps.table, component, &record("processed"), now, ttl).await?;
            pushes::complete(&deps.table, component, &key_hash).await?;
            tracing::info!(component, push_type = %push.push_type, "push processed");
            pushed(&push.push_type, "processed");
            Ok(())
        }
        Err(e) => {
            pushed(&push.push_type, "failed");
            pushes::abandon(&deps.table, component, &key_hash, &owner).await?;
            pushes::record(&deps.table, component, &record("failed"), now, ttl).await?;
            Err(e)
        }
    }
}

/// Audit results settle the mini-program's open audit; every other message is only recorded.
async fn apply_message(
    deps: &Deps,
    component: &str,
    appid: &str,
    event: &MessageEvent,
) -> AppResult<()> {
    use crate::pipeline::audit::{settle, AuditOutcome};
    let (outcome, reason, create_time) = match event {
        MessageEvent::AuditSuccess { create_time, .. } => (AuditOutcome::Passed, None, create_time),
        MessageEvent::AuditFail {
            reason,
            create_time,
            ..
        } => (AuditOutcome::Rejected, Some(reason.as_str()), create_time),
        MessageEvent::AuditDelay {
            reason,
            create_time,
            ..
        } => (AuditOutcome::Delayed, Some(reason.as_str()), create_time),
        MessageEvent::Other { .. } => return Ok(()),
    };
    let applied = settle(deps, component, appid, outcome, reason, create_time * 1000).await?;
    if !applied {
        tracing::info!(
            component,
            appid,
            "audit event without an open audit: recorded only"
        );
    }
    Ok(())
}

async fn apply_auth_event(deps: &Deps, component: &str, event: &AuthEvent) -> AppResult<()> {
    match event {
        AuthEvent::VerifyTicket {
            ticket,
            create_time,
            ..
        } => {
            components::put_ticket(&deps.table, component, ticket, *create_time).await?;
            // A ticket is what makes a component token obtainable: get one now if none is good.
            if let Err(e) = tokens::component_token(deps, component).await {
                tracing::warn!(component, error = %e, "component token not obtained after ticket; the schedule retries");
            }
            Ok(())
        }
        AuthEvent::Authorized {
            authorization_code,
            create_time,
            ..
        } => authorize_with_code(deps, component, authorization_code, *create_time, None)
            .await
            .map(|_| ()),
        AuthEvent::Unauthorized {
            authorizer_appid,
            create_time,
            ..
        } => unauthorize(deps, component, authorizer_appid, *create_time).await,
        AuthEvent::FastRegister {
            status,
            auth_code,
            msg,
            info,
            create_time,
            ..
        } => {
            crate::services::registration::on_push(
                deps,
                component,
                *status,
                auth_code.as_deref(),
                msg.as_deref(),
                info,
                *create_time,
            )
            .await
        }
        AuthEvent::Other { .. } => Ok(()),
    }
}

/// The mini-program's admin revoked the authorization: status, refresh token and owner go in one transaction
/// with the `MiniProgramUnauthorized` event; a retried push finds the event recorded and changes nothing.
async fn unauthorize(deps: &Deps, component: &str, appid: &str, create_time: i64) -> AppResult<()> {
    for _ in 0..3 {
        let owner = authorizers::get(&deps.table, component, appid)
            .await?
            .and_then(|a| a.merchant);
        let event = Event::new(
            EventKind::MiniProgramUnauthorized,
            component,
            appid,
            create_time * 1000,
            json!({"previousMerchant": owner}),
        );
        let now = now_secs();
        if authorizers::mark_unauthorized(
            &deps.table,
            component,
            appid,
            owner.as_deref(),
            &event,
            now,
        )
        .await?
        {
            events::publish(deps, &[event]).await;
            crate::store::tokens::delete(
                &deps.table,
                component,
                crate::store::tokens::Subject::Authorizer(appid),
            )
            .await?;
            return Ok(());
        }
        let current = authorizers::get(&deps.table, component, appid).await?;
        if current.is_none_or(|a| a.merchant == owner) {
            return Ok(()); // an older event, or this one already recorded
        }
        // The owner changed between our read and write: read it again.
    }
    Err(AppError::Conflict(format!(
        "mini-program {appid} kept changing while being unauthorized; WeChat retries"
    )))
}

/// What an authorization (push or redirect) ended with.
pub struct Authorized {
    pub appid: String,
    /// For a redirect through a merchant's link: whether that merchant owns the mini-program now.
    pub claim: Option<access::Claim>,
}

/// Exchanges an authorization code, stores the authorizer with its refresh token and its first access token.
/// Shared by the `authorized` push and the redirect after the merchant's consent (`claimant`: the merchant whose
/// link it was); whichever comes second finds the code used (or the same result) and changes nothing older.
/// Ownership is decided from the stored record before anything is written, and written in the same transaction
/// as the authorization: a link refused because another merchant owns the mini-program changes no owner.
pub async fn authorize_with_code(
    deps: &Deps,
    component: &str,
    code: &str,
    event_time: i64,
    claimant: Option<&str>,
) -> AppResult<Authorized> {
    let recalled = |appid: String| async move {
        // The other path of the same authorization recorded it: only the claim is left to decide.
        let claim = match claimant {
            Some(m) => Some(access::claim(deps, component, &appid, m).await?),
            None => None,
        };
        Ok(Authorized { appid, claim })
    };
    let (info, refresh_token_at) =
        match authorizers::recall_code(&deps.table, component, code).await? {
            Some(Recalled::Recorded(appid)) => return recalled(appid).await,
            // A delivery exchanged the code and died before storing the authorizer: finish its work.
            Some(Recalled::Exchanged { info, at_ms }) => (info, at_ms),
            None => match exchange(deps, component, code).await? {
                Recalled::Recorded(appid) => return recalled(appid).await,
                Recalled::Exchanged { info, at_ms } => (info, at_ms),
            },
        };
    let appid = info.authorizer_appid.clone();
    let details = tokens::with_component_token(deps, component, |cat| {
        let appid = appid.clone();
        async move { deps.wechat.authorizer_info(&cat, component, &appid).await }
    })
    .await?;
    let func_ids: Vec<i64> = info
        .func_info
        .iter()
        .map(|f| f.funcscope_category.id)
        .collect();
    let auth = authorizers::Authorization {
        authorizer_appid: &info.authorizer_appid,
        refresh_token: &info.authorizer_refresh_token,
        refresh_token_at,
        func_ids: &func_ids,
        nick_name: &details.nick_name,
        user_name: &details.user_name,
        principal_name: &details.principal_name,
        head_img: &details.head_img,
        is_mini_program: details.mini_program_info.is_some(),
        event_time,
    };
    // WeChat's time has second resolution: the code tells two authorizations of one second apart, and keeps
    // a retried push the same event.
    let code_ms = i64::from(Sha1::digest(code.as_bytes())[0]) * 1000 / 256;
    let authorized_event = Event::new(
        EventKind::MiniProgramAuthorized,
        component,
        &appid,
        event_time * 1000 + code_ms,
        json!({"nickName": details.nick_name, "principalName": details.principal_name,
               "userName": details.user_name, "funcIds": func_ids}),
    );
    let now = now_secs();
    let existing = authorizers::get(&deps.table, component, &appid).await?;
    let claim = claimant.map(|m| (m, access::may_claim(existing.as_ref(), m)));
    let owner_event = match claim {
        Some((m, access::Claim::Take)) => Some(access::owner_changed(
            component,
            &appid,
            Some(m),
            existing.as_ref().and_then(|e| e.last_merchant.as_deref()),
            "authorized through the merchant's link",
            authorized_event.at_ms + 1,
        )),
        _ => None,
    };
    let store_claim = match (&claim, &owner_event) {
        (Some((m, _)), Some(event)) => Some(authorizers::Claim { merchant: m, event }),
        _ => None,
    };
    let saved = authorizers::save_authorization(
        &deps.table,
        component,
        &auth,
        &authorized_event,
        store_claim,
        now,
    )
    .await?;
    let mut claim_outcome = claim.map(|(_, c)| c);
    if saved {
        let mut published = vec![authorized_event];
        published.extend(owner_event);
        events::publish(deps, &published).await;
        let subject = crate::store::tokens::Subject::Authorizer(&info.authorizer_appid);
        let owner = format!("authorize-{refresh_token_at}");
        if crate::store::tokens::try_lease(&deps.table, component, subject, &owner, now, 15).await?
        {
            crate::store::tokens::store_refreshed(
                &deps.table,
                component,
                subject,
                &owner,
                &info.authorizer_access_token,
                now + info.expires_in,
                now,
            )
            .await?;
        }
    } else if let Some(m) = claimant {
        // A newer authorization was recorded meanwhile, or the owner changed: decide the claim on what is stored.
        claim_outcome = Some(access::claim(deps, component, &appid, m).await?);
    }
    authorizers::remember_code(
        &deps.table,
        component,
        code,
        &info.authorizer_appid,
        deps.push_ttl(now),
    )
    .await?;
    Ok(Authorized {
        appid: info.authorizer_appid,
        claim: claim_outcome,
    })
}

/// Exchanges the code at WeChat and keeps the result at once. A code already used (61010) by a concurrent
/// exchange of the same authorization: wait briefly for that one's result.
async fn exchange(deps: &Deps, component: &str, code: &str) -> AppResult<Recalled> {
    let exchanged = tokens::with_component_token(deps, component, |cat| async move {
        deps.wechat.query_auth(&cat, component, code).await
    })
    .await;
    match exchanged {
        Ok(info) => {
            let at_ms = now_millis();
            let ttl = deps.push_ttl(at_ms / 1000);
            authorizers::remember_exchange(&deps.table, component, code, &info, at_ms, ttl).await?;
            Ok(Recalled::Exchanged { info, at_ms })
        }
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::AUTH_CODE_INVALID) => {
            for _ in 0..20 {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                if let Some(found) = authorizers::recall_code(&deps.table, component, code).await? {
                    return Ok(found);
                }
            }
            Err(AppError::Upstream(e))
        }
        Err(e) => Err(e),
    }
}

/// Counts one authenticated push by its type and what became of it (the `PushesHandled` metric).
fn pushed(push_type: &str, outcome: &str) {
    crate::metrics::count(
        "PushesHandled",
        &[("Type", push_type), ("Outcome", outcome)],
    );
}
