//! Ordinary-QR jump rules of a mini-program (`/qrcodejump/*`): WeChat keeps them, we check its rules first and
//! answer in the API's words. Merchants manage their own mini-programs' rules, the component's operators any.
use serde_json::{json, Value};

use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::jump_rules::{check_prefix, rule_view, PrefixRequest, RuleRequest};
use crate::error::AppResult;
use crate::services::access;
use crate::services::tokens::with_authorizer_token;

async fn ask(
    deps: &Deps,
    component: &str,
    appid: &str,
    action: &'static str,
    body: Value,
) -> AppResult<Value> {
    with_authorizer_token(deps, component, appid, |aat| {
        let body = &body;
        async move { deps.wechat.qrcode_jump(&aat, action, body).await }
    })
    .await
}

/// `GET /qrcodejump/list`: the rules, and how many publishes are left this month.
pub async fn list(deps: &Deps, caller: &Claims, component: &str, appid: &str) -> AppResult<Value> {
    access::owned_mini_program(deps, caller, component, appid).await?;
    let got = ask(deps, component, appid, "get", json!({"get_type": 0})).await?;
    let rules: Vec<Value> = got["rule_list"]
        .as_array()
        .map(|r| r.iter().map(rule_view).collect())
        .unwrap_or_default();
    Ok(json!({
        "maAppId": appid,
        "rules": rules,
        "publishesLeftThisMonth": got["qrcodejump_pub_quota"],
    }))
}

/// `GET /qrcodejump/verify-file`: the file WeChat looks for at the root of a rule's domain before publishing it.
pub async fn verify_file(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Value> {
    access::owned_mini_program(deps, caller, component, appid).await?;
    let got = ask(deps, component, appid, "download", json!({})).await?;
    Ok(json!({
        "maAppId": appid,
        "fileName": got["file_name"],
        "fileContent": got["file_content"],
    }))
}

/// `POST /qrcodejump/add`: adds a rule, or changes one with `edit`.
pub async fn add(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: RuleRequest,
) -> AppResult<Value> {
    let body = req.wechat_body()?;
    access::owned_mini_program(deps, caller, component, &req.ma_app_id).await?;
    ask(deps, component, &req.ma_app_id, "add", body).await?;
    tracing::info!(component, appid = %req.ma_app_id, prefix = %req.prefix, edit = req.edit, "jump rule added");
    Ok(json!({"maAppId": req.ma_app_id, "prefix": req.prefix, "state": "unpublished"}))
}

/// `POST /qrcodejump/publish`: scans of the prefix open the mini-program from now on.
pub async fn publish(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: PrefixRequest,
) -> AppResult<Value> {
    check_prefix(&req.prefix)?;
    access::owned_mini_program(deps, caller, component, &req.ma_app_id).await?;
    ask(
        deps,
        component,
        &req.ma_app_id,
        "publish",
        json!({"prefix": req.prefix}),
    )
    .await?;
    tracing::info!(component, appid = %req.ma_app_id, prefix = %req.prefix, "jump rule published");
    Ok(json!({"maAppId": req.ma_app_id, "prefix": req.prefix, "state": "published"}))
}

/// `POST /qrcodejump/delete`.
pub async fn delete(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: PrefixRequest,
) -> AppResult<Value> {
    check_prefix(&req.prefix)?;
    access::owned_mini_program(deps, caller, component, &req.ma_app_id).await?;
    ask(
        deps,
        component,
        &req.ma_app_id,
        "delete",
        json!({"prefix": req.prefix}),
    )
    .await?;
    Ok(json!({"maAppId": req.ma_app_id, "prefix": req.prefix, "deleted": true}))
}
