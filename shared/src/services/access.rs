//! Who may act on a mini-program, and how ownership moves: it follows WeChat's consent. A merchant owns a
//! mini-program from an authorization through their link until it is unauthorized or an admin unlinks it.
use serde::Serialize;
use serde_json::json;

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::{Claims, Role};
use crate::domain::ids;
use crate::domain::platform::Platform;
use crate::error::{AppError, AppResult};
use crate::services::events;
use crate::store::alipay;
use crate::store::authorizers::{self, Authorizer, STATUS_AUTHORIZED, STATUS_REAUTH_REQUIRED};

/// A mini-program the caller may act on, ready to be acted on: a merchant's own, or any of the component for its
/// operators (the component was already checked against the caller). Another merchant's (or a missing) one is a
/// 404; one whose authorization is not in force is a 409 that says what to do.
pub async fn owned_mini_program(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Authorizer> {
    in_force(visible_mini_program(deps, caller, component, appid).await?)
}

/// The Alipay mini-program if the caller may act on it and its authorization is in force; another merchant's is
/// reported exactly like a missing one.
pub async fn owned_alipay_mini_program(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    mini_app_id: &str,
) -> AppResult<alipay::Authorization> {
    if !crate::services::alipay_auth::valid_app_id(mini_app_id) {
        return Err(AppError::InvalidId(
            "miniAppId must be a 16-digit Alipay mini-program id".into(),
        ));
    }
    let found = alipay::authorization(&deps.table, component, mini_app_id)
        .await?
        .filter(|a| match caller.role {
            Role::Merchant => a.merchant.as_deref() == Some(caller.sub.as_str()),
            Role::Operator => true,
            Role::Developer | Role::Admin => false,
        })
        .ok_or_else(|| AppError::NotFound(format!("Alipay mini-program {mini_app_id}")))?;
    if found.status != alipay::AUTHORIZED {
        return Err(AppError::NotAuthorized(format!(
            "Alipay mini-program {mini_app_id} is {}: its merchant authorizes it again",
            found.status
        )));
    }
    Ok(found)
}

/// A mini-program of either platform the caller may act on, its authorization in force: its platform and its
/// merchant. The release pipeline's routes take both platforms; the platform is told by the id.
pub async fn owned_on_any_platform(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<(Platform, Option<String>)> {
    match Platform::of(appid) {
        Platform::Wechat => owned_mini_program(deps, caller, component, appid)
            .await
            .map(|a| (Platform::Wechat, a.merchant)),
        Platform::Alipay => owned_alipay_mini_program(deps, caller, component, appid)
            .await
            .map(|a| (Platform::Alipay, a.merchant)),
    }
}

/// The mini-program if the caller may act on it (`may_act_on`), whatever its authorization's state; another
/// merchant's is reported exactly like a missing one. An Alipay id is refused without a lookup: the route is
/// WeChat's.
pub async fn visible_mini_program(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Authorizer> {
    ids::check("maAppId", appid)?;
    if Platform::of(appid) == Platform::Alipay {
        return Err(AppError::Conflict(format!(
            "{appid} is an Alipay mini-program: this route is WeChat's (Alipay's are under /alipay/, the release \
             pipeline's /config/*, /page/query and /code/* take both)"
        )));
    }
    authorizers::get(&deps.table, component, appid)
        .await?
        .filter(|a| may_act_on(caller, a))
        .ok_or_else(|| AppError::NotFound(format!("mini-program {appid}")))
}

/// The record if its authorization is in force, else why not (409).
pub fn in_force(record: Authorizer) -> AppResult<Authorizer> {
    let appid = record.appid.clone();
    match record.status.as_str() {
        STATUS_AUTHORIZED => Ok(record),
        STATUS_REAUTH_REQUIRED => Err(AppError::ReauthorizationRequired(appid.to_owned())),
        other => Err(AppError::NotAuthorized(format!(
            "mini-program {appid} is {other}: authorize it again through /auth/link"
        ))),
    }
}

/// The role matrix of mini-program routes: merchants act on their own; operators on every mini-program of the
/// component their token names; nobody else.
pub fn may_act_on(caller: &Claims, record: &Authorizer) -> bool {
    match caller.role {
        Role::Merchant => record.merchant.as_deref() == Some(caller.sub.as_str()),
        Role::Operator => true,
        Role::Developer | Role::Admin => false,
    }
}

/// The event announcing a new owner (`merchant` None: nobody owns it any more), dated after the authorization
/// it follows (WeChat dates those in whole seconds).
pub fn owner_changed(
    component: &str,
    appid: &str,
    merchant: Option<&str>,
    previous: Option<&str>,
    why: &str,
    not_before_ms: i64,
) -> Event {
    Event::new(
        EventKind::MiniProgramOwnerChanged,
        component,
        appid,
        now_millis().max(not_before_ms),
        json!({"merchant": merchant, "previousMerchant": previous, "reason": why}),
    )
}

/// Whether `merchant`, coming back through their link, may own a mini-program in this stored state: only one that
/// nobody owns (never linked, unauthorized or unlinked) changes hands; the owner's own link changes nothing.
pub fn may_claim(record: Option<&Authorizer>, merchant: &str) -> Claim {
    match record.and_then(|r| r.merchant.as_deref()) {
        None => Claim::Take,
        Some(owner) if owner == merchant => Claim::AlreadyOwner,
        Some(_) => Claim::OwnedByOther,
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Claim {
    Take,
    AlreadyOwner,
    OwnedByOther,
}

/// Gives an authorized, unowned mini-program to `merchant` (after the code was exchanged by the other path of
/// the same authorization). `OwnedByOther`, with nothing written, when another merchant owns it.
pub async fn claim(deps: &Deps, component: &str, appid: &str, merchant: &str) -> AppResult<Claim> {
    for _ in 0..3 {
        let record = authorizers::get(&deps.table, component, appid).await?;
        let Some(current) = record.as_ref() else {
            return Err(AppError::NotFound(format!("mini-program {appid}")));
        };
        let decided = may_claim(record.as_ref(), merchant);
        if decided != Claim::Take {
            return Ok(decided);
        }
        let event = owner_changed(
            component,
            appid,
            Some(merchant),
            current.last_merchant.as_deref(),
            "authorized through the merchant's link",
            current.last_event_ms + 1,
        );
        if authorizers::link_merchant(&deps.table, component, appid, merchant, &event, now_secs())
            .await?
        {
            events::publish(deps, &[event]).await;
            return Ok(Claim::Take);
        }
        // Someone linked it, or its authorization changed, between our read and write: decide again.
    }
    Err(AppError::Conflict(format!(
        "mini-program {appid} changed while it was being linked; open the link again"
    )))
}

pub fn owned_by_other(appid: &str) -> AppError {
    AppError::Conflict(format!(
        "mini-program {appid} belongs to another merchant of this platform; its owner must unauthorize it first"
    ))
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Unlinked {
    pub ma_app_id: String,
    pub previous_merchant: String,
}

/// `POST /miniprogram/unlink`: an admin takes a mini-program away from its merchant; its next authorization through
/// a merchant's link decides the new owner.
pub async fn unlink(deps: &Deps, component: &str, appid: &str) -> AppResult<Unlinked> {
    ids::check("maAppId", appid)?;
    let record = authorizers::get(&deps.table, component, appid)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("mini-program {appid}")))?;
    let owner = record.merchant.ok_or_else(|| {
        AppError::Conflict(format!("mini-program {appid} is not linked to a merchant"))
    })?;
    let event = owner_changed(
        component,
        appid,
        None,
        Some(&owner),
        "unlinked by an admin",
        0,
    );
    if !authorizers::unlink_merchant(&deps.table, component, appid, &owner, &event, now_secs())
        .await?
    {
        return Err(AppError::Conflict(format!(
            "mini-program {appid} changed owner meanwhile; reload it"
        )));
    }
    events::publish(deps, &[event]).await;
    Ok(Unlinked {
        ma_app_id: appid.to_owned(),
        previous_merchant: owner,
    })
}

/// How long an instance trusts what it last read of a user's sessions: a password, role or status change ends
/// that user's tokens everywhere within this time.
const SESSION_CACHE_MS: i64 = 10_000;
const SESSION_CACHE_MAX: usize = 10_000;

#[derive(Clone, Copy)]
struct Session {
    disabled: bool,
    valid_after: i64,
}

/// The user's sessions must still be in force: not disabled, issued after the last password, role or status
/// change, and in the user's own tenant. A subject without a user record holds a token minted with the signing
/// key itself (`make token`, service integrations) and is taken as it is.
pub async fn check_session(deps: &Deps, claims: &Claims) -> AppResult<()> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<(String, String), (i64, Option<Session>)>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (claims.sub.clone(), claims.tenant.clone());
    let now = now_millis();
    let cached = {
        let map = cache.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&key)
            .filter(|(at, _)| now - at < SESSION_CACHE_MS)
            .map(|(_, s)| *s)
    };
    let session = match cached {
        Some(s) => s,
        None => {
            let session = crate::store::users::get(&deps.table, &claims.sub)
                .await?
                .map(|u| {
                    let foreign = u.tenant != claims.tenant;
                    Session {
                        disabled: u.disabled || foreign,
                        valid_after: u.sessions_valid_after,
                    }
                });
            let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= SESSION_CACHE_MAX {
                map.clear();
            }
            map.insert(key, (now, session));
            session
        }
    };
    match session {
        Some(s) if s.disabled || claims.iat < s.valid_after => Err(AppError::Unauthenticated(
            "this session has ended; log in again".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned_by(merchant: Option<&str>) -> Authorizer {
        Authorizer {
            merchant: merchant.map(str::to_owned),
            ..Authorizer::default()
        }
    }

    #[test]
    fn merchants_act_on_their_own_and_operators_on_the_component() {
        let caller = |role, sub: &str| Claims {
            sub: sub.into(),
            role,
            tenant: "t".into(),
            component: Some("c".into()),
            iat: 0,
            nbf: None,
            exp: 1,
        };
        let mine = owned_by(Some("m1"));
        assert!(may_act_on(&caller(Role::Merchant, "m1"), &mine));
        assert!(!may_act_on(&caller(Role::Merchant, "m2"), &mine));
        assert!(!may_act_on(&caller(Role::Merchant, "m1"), &owned_by(None)));
        assert!(may_act_on(&caller(Role::Operator, "ops"), &mine));
        assert!(may_act_on(&caller(Role::Operator, "ops"), &owned_by(None)));
        assert!(!may_act_on(&caller(Role::Developer, "dev"), &mine));
        assert!(!may_act_on(&caller(Role::Admin, "admin"), &mine));
    }

    #[test]
    fn only_an_unowned_mini_program_changes_hands() {
        assert_eq!(may_claim(None, "m2"), Claim::Take);
        assert_eq!(may_claim(Some(&owned_by(None)), "m2"), Claim::Take);
        assert_eq!(
            may_claim(Some(&owned_by(Some("m2"))), "m2"),
            Claim::AlreadyOwner
        );
        assert_eq!(
            may_claim(Some(&owned_by(Some("m1"))), "m2"),
            Claim::OwnedByOther
        );
    }
}
