//! Alipay's notifications to `POST /alipay/{appId}/notify` (the application's gateway address): checked against
//! Alipay's public key before anything in them is believed, handled once per `notify_id` however often Alipay
//! delivers, and answered `success` once handled (anything else makes Alipay deliver again).
use serde_json::Value;

use crate::alipay::sign::{self, Verifier};
use crate::clock::{now_millis, now_secs, parse_beijing_datetime};
use crate::deps::Deps;
use crate::domain::ids::hex_lower;
use crate::error::{AppError, AppResult};
use crate::pipeline::alipay;
use crate::pipeline::audit::AuditOutcome;
use crate::services::alipay_auth::valid_app_id;
use crate::store::alipay::{self as store, Authorization};
use crate::store::pushes::{self, Begin};

/// A notification is claimed by one delivery for this long; a delivery that died is taken over after it.
const LEASE_SECS: i64 = 60;

/// What the notification was about, for the log and the tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Authorized {
        mini_app_id: String,
    },
    Cancelled {
        mini_app_id: String,
    },
    AuditResult {
        mini_app_id: String,
        passed: bool,
    },
    /// Handled before (a redelivery), or a kind the product does not act on: acknowledged all the same.
    Acknowledged,
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub async fn handle(deps: &Deps, app_id: &str, body: &[u8]) -> AppResult<Handled> {
    if !valid_app_id(app_id) {
        return Err(AppError::InvalidId(
            "appId must be Alipay's 16-digit application id".into(),
        ));
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let (_, component) = store::app_claim(&deps.table, app_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Alipay application {app_id}")))?;
    let keys = deps.secrets.alipay(app_id).await?;
    let alipay = Verifier::from_public_key(&keys.alipay_public_key).map_err(|e| {
        AppError::Conflict(format!("the stored Alipay public key is unusable: {e}"))
    })?;
    sign::verify_notification(&alipay, &params).map_err(|_| {
        AppError::Unauthenticated("the notification's signature does not verify".into())
    })?;
    if param(&params, "app_id") != Some(app_id) {
        return Err(AppError::BadRequest(format!(
            "the notification is not for application {app_id}"
        )));
    }
    let notify_id = param(&params, "notify_id")
        .ok_or_else(|| AppError::BadRequest("notify_id is missing".into()))?;
    let biz: Value = match param(&params, "biz_content") {
        Some(text) => serde_json::from_str(text)
            .map_err(|_| AppError::BadRequest("biz_content is not JSON".into()))?,
        None => Value::Null,
    };
    let dedup = hex_lower(&sha2_of(&format!("alipay\n{app_id}\n{notify_id}")));
    let owner = crate::random::hex(8);
    let now = now_secs();
    match pushes::begin(
        &deps.table,
        &component,
        &dedup,
        &owner,
        now,
        LEASE_SECS,
        deps.push_ttl(now),
    )
    .await?
    {
        Begin::AlreadyDone => return Ok(Handled::Acknowledged),
        Begin::InProgress => return Err(AppError::PushInProgress),
        Begin::Started => {}
    }
    let handled = act(deps, &component, app_id, &params, &biz).await;
    match &handled {
        Ok(_) => pushes::complete(&deps.table, &component, &dedup).await?,
        Err(_) => {
            if let Err(e) = pushes::abandon(&deps.table, &component, &dedup, &owner).await {
                tracing::warn!(error = %e, "an Alipay notification's claim was not released");
            }
        }
    }
    handled
}

fn sha2_of(text: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

/// When Alipay says the tokens were issued: `auth_time` (ms), else the notification's time (Beijing).
fn issued_ms(detail: &Value, params: &[(String, String)]) -> Option<i64> {
    detail["auth_time"]
        .as_i64()
        .or_else(|| detail["auth_time"].as_str().and_then(|t| t.parse().ok()))
        .or_else(|| {
            param(params, "notify_time")
                .and_then(parse_beijing_datetime)
                .map(|s| s * 1000)
        })
}

async fn act(
    deps: &Deps,
    component: &str,
    app_id: &str,
    params: &[(String, String)],
    biz: &Value,
) -> AppResult<Handled> {
    let number = |v: &Value| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0)
    };
    if param(params, "notify_type") == Some("open_app_auth_notify") {
        let detail = &biz["detail"];
        let text = |k: &str| detail[k].as_str().map(str::to_owned);
        let (Some(mini_app_id), Some(token), Some(refresh)) = (
            text("auth_app_id"),
            text("app_auth_token"),
            text("app_refresh_token"),
        ) else {
            return Err(AppError::BadRequest(
                "the authorization notification has no tokens".into(),
            ));
        };
        let issued = issued_ms(detail, params).ok_or_else(|| {
            AppError::BadRequest("the authorization notification has no time".into())
        })?;
        let now = now_secs();
        let authorization = Authorization {
            mini_app_id: mini_app_id.clone(),
            app_id: app_id.to_owned(),
            user_id: text("user_id").unwrap_or_default(),
            // Whose it is comes from the merchant's own redirect (the state we signed), never from here.
            merchant: None,
            app_auth_token: token,
            app_refresh_token: refresh,
            issued_ms: issued,
            expires_at: now + number(&detail["expires_in"]),
            refresh_expires_at: now + number(&detail["re_expires_in"]),
            authorized_at: now,
            status: store::AUTHORIZED.into(),
        };
        let kept = store::save_authorization(&deps.table, component, &authorization).await?;
        tracing::info!(component, mini_app_id = %mini_app_id, newer = kept.is_some(), "Alipay authorization notified");
        return Ok(Handled::Authorized { mini_app_id });
    }
    let mini_app_id = || {
        biz["mini_app_id"]
            .as_str()
            .or_else(|| biz["auth_app_id"].as_str())
            .or_else(|| param(params, "auth_app_id"))
            .map(str::to_owned)
            .ok_or_else(|| AppError::BadRequest("the notification names no mini-program".into()))
    };
    match param(params, "msg_method") {
        Some("alipay.open.auth.appauth.cancelled") => {
            let mini_app_id = mini_app_id()?;
            store::mark_cancelled(&deps.table, component, &mini_app_id, now_millis()).await?;
            tracing::info!(component, mini_app_id = %mini_app_id, "Alipay authorization cancelled");
            Ok(Handled::Cancelled { mini_app_id })
        }
        Some(
            method @ ("alipay.open.mini.version.audit.passed"
            | "alipay.open.mini.version.audit.rejected"),
        ) => {
            let mini_app_id = mini_app_id()?;
            let passed = method.ends_with("passed");
            let version = biz["mini_app_version"].as_str().unwrap_or_default();
            let reason = biz["audit_reason"].as_str().unwrap_or_default();
            store::record_audit(
                &deps.table,
                component,
                &mini_app_id,
                version,
                passed,
                reason,
                now_millis(),
            )
            .await?;
            // The release pipeline's open audit of that version settles too (a result for another version does not).
            let outcome = if passed {
                AuditOutcome::Passed
            } else {
                AuditOutcome::Rejected
            };
            let settled =
                alipay::settle_version(deps, component, &mini_app_id, version, outcome, reason)
                    .await?;
            tracing::info!(component, mini_app_id = %mini_app_id, version, passed, settled, "Alipay audit result");
            Ok(Handled::AuditResult {
                mini_app_id,
                passed,
            })
        }
        other => {
            tracing::info!(component, kind = ?other.or(param(params, "notify_type")), "Alipay notification acknowledged");
            Ok(Handled::Acknowledged)
        }
    }
}
