//! Hosting (托管): a merchant lets the provider's operators decorate its mini-program on its behalf (by default they
//! only release what the merchant saved). Only the owning merchant starts or ends it; it lapses by itself when the
//! mini-program changes owner. Both are recorded in the history and published.
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::{Claims, Role};
use crate::domain::platform::Platform;
use crate::error::{AppError, AppResult};
use crate::services::{access, events};
use crate::store::authorizers::{self, Authorizer};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostingRequest {
    pub ma_app_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostingView {
    pub ma_app_id: String,
    pub hosted: bool,
    /// False when it already was as asked (nothing written, no event).
    pub changed: bool,
    pub since: Option<i64>,
}

/// `POST /hosting/start` and `POST /hosting/end` (the owning merchant).
pub async fn set(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: HostingRequest,
    hosted: bool,
) -> AppResult<HostingView> {
    let record = access::owned_mini_program(deps, merchant, component, &req.ma_app_id).await?;
    let appid = record.appid.clone();
    if record.is_hosted() == hosted {
        return Ok(HostingView {
            hosted,
            changed: false,
            since: record.hosted_since.filter(|_| hosted),
            ma_app_id: appid,
        });
    }
    let now = now_secs();
    let (kind, data) = if hosted {
        (EventKind::HostingStarted, json!({"merchant": merchant.sub}))
    } else {
        (
            EventKind::HostingEnded,
            json!({"merchant": merchant.sub, "since": record.hosted_since}),
        )
    };
    let event = Event::new(kind, component, &appid, now_millis(), data);
    let written = authorizers::set_hosting(
        &deps.table,
        component,
        &appid,
        &merchant.sub,
        hosted,
        &event,
        now,
    )
    .await?;
    if written {
        events::publish(deps, &[event]).await;
        tracing::info!(component, appid, hosted, "hosting changed");
    }
    // Not written: a request just like this one won the race (or the owner changed meanwhile, which the read
    // below shows).
    let now_record = access::owned_mini_program(deps, merchant, component, &appid).await?;
    Ok(HostingView {
        hosted: now_record.is_hosted(),
        changed: written,
        since: now_record.hosted_since.filter(|_| now_record.is_hosted()),
        ma_app_id: appid,
    })
}

/// Who may decorate (`/config/*`, `/page/query`) and edit basic information (`/basicinfo/*`, `/category/*`): the
/// owning merchant, and the component's operators while the
/// merchant hosts it with the provider. Answers the record; another merchant's is 404, as everywhere.
pub async fn decorator_of(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Authorizer> {
    let record = access::visible_mini_program(deps, caller, component, appid).await?;
    // Checked before the authorization's state: an operator learns nothing more of a mini-program it may not
    // decorate.
    if caller.role == Role::Operator && !record.is_hosted() {
        return Err(AppError::Forbidden(format!(
            "mini-program {appid} is decorated by its merchant: operators may decorate it and edit its basic \
             information only while the merchant hosts it with the provider (POST /hosting/start)"
        )));
    }
    access::in_force(record)
}

/// `decorator_of` for a mini-program of either platform: whose config it is (its merchant). Alipay mini-programs
/// are decorated by their merchant alone: hosting is WeChat's (托管) and has no Alipay counterpart here yet.
pub async fn decorating_merchant(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Option<String>> {
    match Platform::of(appid) {
        Platform::Wechat => Ok(decorator_of(deps, caller, component, appid).await?.merchant),
        Platform::Alipay => {
            if caller.role == Role::Operator {
                return Err(AppError::Forbidden(format!(
                    "Alipay mini-program {appid} is decorated by its merchant"
                )));
            }
            Ok(
                access::owned_alipay_mini_program(deps, caller, component, appid)
                    .await?
                    .merchant,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosting_holds_only_while_the_merchant_who_started_it_owns_the_mini_program() {
        let record = |merchant: Option<&str>, hosted_by: Option<&str>| Authorizer {
            merchant: merchant.map(str::to_owned),
            hosted_by: hosted_by.map(str::to_owned),
            ..Authorizer::default()
        };
        assert!(record(Some("m1"), Some("m1")).is_hosted());
        assert!(!record(Some("m1"), None).is_hosted());
        // Another merchant owns it now, or nobody does: the old hosting lapsed.
        assert!(!record(Some("m2"), Some("m1")).is_hosted());
        assert!(!record(None, Some("m1")).is_hosted());
    }
}
