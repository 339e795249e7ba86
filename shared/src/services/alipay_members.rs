//! An Alipay mini-program's members (seed 004 §5): developers and experiencers added by their Alipay login, removed
//! by their user id, listed by role — within Alipay's limits of 30 developers and 50 experiencers, which Alipay
//! enforces (`ROLE_OVER_LIMIT`). The merchant acts on its own mini-program, the workspace's operators on any.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::alipay::client::MembersAction;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::access::owned_alipay_mini_program;
use crate::services::alipay_auth::app_of;

const ROLES: [&str; 2] = ["DEVELOPER", "EXPERIENCER"];

fn role(value: &str) -> AppResult<&'static str> {
    ROLES
        .into_iter()
        .find(|r| r.eq_ignore_ascii_case(value))
        .ok_or_else(|| AppError::BadRequest("role must be DEVELOPER or EXPERIENCER".into()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddRequest {
    pub mini_app_id: String,
    /// The member's Alipay login (a phone number or an e-mail address).
    pub logon_id: String,
    pub role: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveRequest {
    pub mini_app_id: String,
    /// Alipay's user id of the member (2088…), as the list gives it.
    pub user_id: String,
    pub role: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Members {
    pub mini_app_id: String,
    pub role: &'static str,
    /// As Alipay lists them (`user_id`, `logon_id`, `nick_name`, `status`, ...).
    pub members: Vec<Value>,
}

async fn act(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    mini_app_id: &str,
    action: MembersAction,
    biz: Value,
) -> AppResult<Value> {
    let authorization = owned_alipay_mini_program(deps, caller, component, mini_app_id).await?;
    let app = app_of(deps, component).await?;
    Ok(deps
        .alipay
        .members(&app, &authorization.app_auth_token, action, &biz)
        .await?)
}

/// `GET /alipay/members?miniAppId=&role=`.
pub async fn list(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    mini_app_id: &str,
    role_name: &str,
) -> AppResult<Members> {
    let role = role(role_name)?;
    let out = act(
        deps,
        caller,
        component,
        mini_app_id,
        MembersAction::Query,
        json!({"role": role}),
    )
    .await?;
    Ok(Members {
        mini_app_id: mini_app_id.to_owned(),
        role,
        members: out["app_member_info_list"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    })
}

/// `POST /alipay/members/add`: Alipay invites the login; the list shows the member once they accept.
pub async fn add(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: AddRequest,
) -> AppResult<Members> {
    let role = role(&req.role)?;
    let logon = req.logon_id.trim();
    if logon.is_empty() || logon.chars().count() > 100 || logon.chars().any(char::is_whitespace) {
        return Err(AppError::BadRequest(
            "logonId must be an Alipay login (a phone number or an e-mail address)".into(),
        ));
    }
    act(
        deps,
        caller,
        component,
        &req.mini_app_id,
        MembersAction::Create,
        json!({"logon_id": logon, "role": role}),
    )
    .await?;
    tracing::info!(component, mini_app_id = %req.mini_app_id, role, "Alipay member invited");
    list(deps, caller, component, &req.mini_app_id, role).await
}

/// `POST /alipay/members/remove`.
pub async fn remove(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: RemoveRequest,
) -> AppResult<Members> {
    let role = role(&req.role)?;
    let user_ok = req.user_id.len() == 16
        && req.user_id.starts_with("2088")
        && req.user_id.bytes().all(|b| b.is_ascii_digit());
    if !user_ok {
        return Err(AppError::InvalidId(
            "userId must be Alipay's 16-digit user id (2088…)".into(),
        ));
    }
    act(
        deps,
        caller,
        component,
        &req.mini_app_id,
        MembersAction::Delete,
        json!({"user_id": req.user_id, "role": role}),
    )
    .await?;
    tracing::info!(component, mini_app_id = %req.mini_app_id, role, "Alipay member removed");
    list(deps, caller, component, &req.mini_app_id, role).await
}
