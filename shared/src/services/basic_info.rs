//! Basic information of a mini-program (`/basicinfo/*`, `/category/*`): its name (changed through WeChat's review,
//! settled by the `wxa_nickname_audit` push), its signature and its categories. WeChat keeps them and its yearly
//! and monthly limits; we check its input rules first and keep only the name change under review. The merchant
//! edits its own; the component's operators only while the merchant hosts it with the provider.
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::hosting::decorator_of;
use crate::services::tokens::with_authorizer_token;
use crate::store::nicknames::{self, NameChange};
use crate::wechat::push::NicknameAudit;

fn bad(msg: impl Into<String>) -> AppError {
    AppError::BadRequest(msg.into())
}

fn chars_within(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    let v = value.trim();
    let count = v.chars().count();
    if count < min || count > max || v.chars().any(char::is_control) {
        return Err(bad(format!("{field} must be {min} to {max} characters")));
    }
    Ok(v.to_owned())
}

/// `GET /basicinfo`: WeChat's basic information with its quotas, and the name change under review (if any).
pub async fn info(deps: &Deps, caller: &Claims, component: &str, appid: &str) -> AppResult<Value> {
    decorator_of(deps, caller, component, appid).await?;
    let got = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.account_basic_info(&aat).await
    })
    .await?;
    let quota = |v: &Value| json!({"used": v["modify_used_count"], "quota": v["modify_quota"]});
    Ok(json!({
        "maAppId": appid,
        "nickname": got["nickname"],
        "nicknameChanges": quota(&got["nickname_info"]),
        "signature": got["signature_info"]["signature"],
        "signatureChanges": quota(&got["signature_info"]),
        "headImageUrl": got["head_image_info"]["head_image_url"],
        "principalName": got["principal_name"],
        "nameChange": nicknames::latest(&deps.table, component, appid).await?,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureRequest {
    pub ma_app_id: String,
    pub signature: String,
}

pub async fn signature(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: SignatureRequest,
) -> AppResult<Value> {
    let signature = chars_within("signature", &req.signature, 4, 120)?;
    decorator_of(deps, caller, component, &req.ma_app_id).await?;
    with_authorizer_token(deps, component, &req.ma_app_id, |aat| {
        let signature = &signature;
        async move { deps.wechat.modify_signature(&aat, signature).await }
    })
    .await?;
    Ok(json!({"maAppId": req.ma_app_id, "signature": signature}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NicknameRequest {
    pub ma_app_id: String,
    pub nickname: String,
}

/// `POST /basicinfo/nickname`: checked against verified names first, then sent to WeChat's review.
pub async fn nickname(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: NicknameRequest,
) -> AppResult<NameChange> {
    let name = chars_within("nickname", &req.nickname, 2, 30)?;
    decorator_of(deps, caller, component, &req.ma_app_id).await?;
    let appid = req.ma_app_id.as_str();
    let check = with_authorizer_token(deps, component, appid, |aat| {
        let name = &name;
        async move { deps.wechat.check_nickname(&aat, name).await }
    })
    .await?;
    if check["hit_condition"].as_bool() == Some(true) {
        return Err(AppError::Conflict(format!(
            "the name {name} is another account's verified name: {}",
            check["wording"].as_str().unwrap_or_default()
        )));
    }
    let set = with_authorizer_token(deps, component, appid, |aat| {
        let name = &name;
        async move { deps.wechat.set_nickname(&aat, name).await }
    })
    .await?;
    let change = NameChange {
        nickname: name,
        audit_id: set["audit_id"].as_i64().unwrap_or(0),
        state: if set["audit_id"].as_i64().is_some() {
            "auditing"
        } else {
            "approved"
        }
        .into(),
        reason: String::new(),
        requested_by: caller.sub.clone(),
        requested_at: now_secs(),
    };
    nicknames::requested(&deps.table, component, appid, &change).await?;
    tracing::info!(
        component,
        appid,
        audit_id = change.audit_id,
        "name change asked"
    );
    Ok(change)
}

/// The `wxa_nickname_audit` push settles the name under review.
pub async fn nickname_decided(
    deps: &Deps,
    component: &str,
    appid: &str,
    audit: &NicknameAudit,
) -> AppResult<()> {
    let settled = nicknames::decided(
        &deps.table,
        component,
        appid,
        &audit.nickname,
        audit.approved,
        &audit.reason,
    )
    .await?;
    tracing::info!(
        component,
        appid,
        approved = audit.approved,
        settled,
        "name change decided"
    );
    Ok(())
}

fn category_view(c: &Value) -> Value {
    let state = match c["audit_status"].as_i64() {
        Some(1) => "auditing",
        Some(2) => "rejected",
        _ => "approved",
    };
    json!({"first": c["first"], "firstName": c["first_name"], "second": c["second"],
           "secondName": c["second_name"], "state": state, "reason": c["audit_reason"]})
}

/// `GET /category/list`: the categories with their review state, and the changes left this month.
pub async fn categories(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Value> {
    decorator_of(deps, caller, component, appid).await?;
    let got = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.account_categories(&aat).await
    })
    .await?;
    let list: Vec<Value> = got["categories"]
        .as_array()
        .map(|c| c.iter().map(category_view).collect())
        .unwrap_or_default();
    Ok(
        json!({"maAppId": appid, "categories": list, "changesLeftThisMonth": got["quota"],
              "maxCategories": got["category_limit"]}),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Certificate {
    pub key: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CategorySpec {
    pub first: i64,
    pub second: i64,
    /// The qualification a category asks for (its name and the media id of its image), if it asks.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddCategories {
    pub ma_app_id: String,
    pub categories: Vec<CategorySpec>,
}

pub async fn add_categories(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: AddCategories,
) -> AppResult<Value> {
    if req.categories.is_empty() || req.categories.len() > 5 {
        return Err(bad("categories must hold 1 to 5 categories"));
    }
    if req
        .categories
        .iter()
        .any(|c| c.first <= 0 || c.second <= 0 || c.certificates.len() > 10)
    {
        return Err(bad(
            "each category needs WeChat's first and second ids (and at most 10 certificates)",
        ));
    }
    decorator_of(deps, caller, component, &req.ma_app_id).await?;
    let body: Vec<Value> = req
        .categories
        .iter()
        .map(|c| {
            json!({"first": c.first, "second": c.second, "certicates":
                c.certificates.iter().map(|k| json!({"key": k.key, "value": k.value})).collect::<Vec<_>>()})
        })
        .collect();
    let body = json!(body);
    with_authorizer_token(deps, component, &req.ma_app_id, |aat| {
        let body = &body;
        async move { deps.wechat.add_categories(&aat, body).await }
    })
    .await?;
    categories(deps, caller, component, &req.ma_app_id).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteCategory {
    pub ma_app_id: String,
    pub first: i64,
    pub second: i64,
}

pub async fn delete_category(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: DeleteCategory,
) -> AppResult<Value> {
    decorator_of(deps, caller, component, &req.ma_app_id).await?;
    with_authorizer_token(deps, component, &req.ma_app_id, |aat| async move {
        deps.wechat
            .delete_category(&aat, req.first, req.second)
            .await
    })
    .await?;
    categories(deps, caller, component, &req.ma_app_id).await
}
