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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AvatarUploadRequest {
    pub ma_app_id: String,
    pub content_type: String,
    pub size: i64,
}

fn avatar_prefix(component: &str, appid: &str) -> String {
    format!("avatars/{component}/{appid}/")
}

/// `POST /basicinfo/avatar/upload-url`: a presigned PUT for the new head image (PNG or JPEG, at most 2 MB).
pub async fn avatar_upload(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: AvatarUploadRequest,
) -> AppResult<Value> {
    crate::blobs::image_extension(&req.content_type)
        .ok_or_else(|| bad("contentType must be image/png or image/jpeg"))?;
    if req.size < 1 || req.size > crate::blobs::MAX_IMAGE_BYTES {
        return Err(bad(format!(
            "size must be 1 to {} bytes",
            crate::blobs::MAX_IMAGE_BYTES
        )));
    }
    decorator_of(deps, caller, component, &req.ma_app_id).await?;
    let prefix = avatar_prefix(component, &req.ma_app_id);
    deps.blobs
        .image_upload(&prefix, &req.content_type, req.size)
        .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AvatarRequest {
    pub ma_app_id: String,
    /// The key `/basicinfo/avatar/upload-url` answered, once the image is PUT there.
    pub key: String,
    /// The square to keep, as fractions of the image (default: all of it).
    pub crop: Option<[f64; 4]>,
}

/// `POST /basicinfo/avatar`: the uploaded image becomes WeChat temporary media, then the head image.
pub async fn avatar(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: AvatarRequest,
) -> AppResult<Value> {
    let prefix = avatar_prefix(component, &req.ma_app_id);
    if !req.key.starts_with(&prefix) || req.key.contains("..") || req.key.len() > 200 {
        return Err(bad(
            "key must be the one /basicinfo/avatar/upload-url answered for this mini-program",
        ));
    }
    let crop = req.crop.unwrap_or([0.0, 0.0, 1.0, 1.0]);
    let [x1, y1, x2, y2] = crop;
    if !(0.0..=1.0).contains(&x1)
        || !(0.0..=1.0).contains(&y1)
        || !(0.0..=1.0).contains(&x2)
        || !(0.0..=1.0).contains(&y2)
        || x1 >= x2
        || y1 >= y2
    {
        return Err(bad(
            "crop must be [x1, y1, x2, y2] within 0..1 with x1 < x2 and y1 < y2",
        ));
    }
    decorator_of(deps, caller, component, &req.ma_app_id).await?;
    if deps.blobs.head(&req.key).await?.is_none() {
        return Err(bad(
            "nothing was uploaded under key: PUT the image to the upload URL first",
        ));
    }
    let bytes = deps
        .blobs
        .get(&req.key, crate::blobs::MAX_IMAGE_BYTES)
        .await?;
    // What was uploaded decides, not what the uploader said it was.
    let content_type = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else {
        return Err(bad("the uploaded object is not a PNG or JPEG image"));
    };
    let appid = req.ma_app_id.as_str();
    let media_id = with_authorizer_token(deps, component, appid, |aat| {
        let bytes = bytes.clone();
        async move { deps.wechat.upload_image(&aat, bytes, content_type).await }
    })
    .await?;
    with_authorizer_token(deps, component, appid, |aat| {
        let media_id = &media_id;
        async move { deps.wechat.modify_head_image(&aat, media_id, crop).await }
    })
    .await?;
    tracing::info!(component, appid, "head image changed");
    Ok(json!({"maAppId": appid, "changed": true}))
}

/// `GET /category/all`: every category WeChat offers, as a tree of first-level categories and their seconds, each
/// saying whether it needs a qualification (and so a review).
pub async fn all_categories(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Value> {
    decorator_of(deps, caller, component, appid).await?;
    let got = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.all_categories(&aat).await
    })
    .await?;
    let nodes = got["categories_list"]["categories"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tree: Vec<Value> = nodes
        .iter()
        .filter(|n| n["level"] == 1)
        .map(|first| {
            let seconds: Vec<Value> = nodes
                .iter()
                .filter(|n| n["level"] == 2 && n["father"] == first["id"])
                .map(|n| json!({"id": n["id"], "name": n["name"],
                                "needsQualification": n["sensitive_type"].as_i64().unwrap_or(0) != 0}))
                .collect();
            json!({"id": first["id"], "name": first["name"], "children": seconds})
        })
        .collect();
    Ok(json!({"maAppId": appid, "categories": tree}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModifyCategory {
    pub ma_app_id: String,
    pub first: i64,
    pub second: i64,
    pub certificates: Vec<Certificate>,
}

/// `POST /category/modify`: new qualifications for a category whose review failed; it goes to review again.
pub async fn modify_category(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: ModifyCategory,
) -> AppResult<Value> {
    if req.certificates.is_empty() || req.certificates.len() > 10 {
        return Err(bad("certificates must hold 1 to 10 qualifications"));
    }
    decorator_of(deps, caller, component, &req.ma_app_id).await?;
    let body = json!({"first": req.first, "second": req.second, "certicates":
        req.certificates.iter().map(|k| json!({"key": k.key, "value": k.value})).collect::<Vec<_>>()});
    with_authorizer_token(deps, component, &req.ma_app_id, |aat| {
        let body = &body;
        async move { deps.wechat.modify_category(&aat, body).await }
    })
    .await?;
    categories(deps, caller, component, &req.ma_app_id).await
}

/// `GET /basicinfo/nickname`: the latest name change; one still under review is asked of WeChat and settled here
/// when WeChat decided (a lost `wxa_nickname_audit` push changes nothing then).
pub async fn name_change(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<NameChange> {
    decorator_of(deps, caller, component, appid).await?;
    let change = nicknames::latest(&deps.table, component, appid)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("name change of mini-program {appid}")))?;
    if change.state != "auditing" || change.audit_id == 0 {
        return Ok(change);
    }
    let got = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.query_nickname(&aat, change.audit_id).await
    })
    .await?;
    let decided = match got["audit_stat"].as_i64() {
        Some(3) => Some(true),
        Some(2) => Some(false),
        _ => None,
    };
    if let Some(approved) = decided {
        let audit = NicknameAudit {
            approved,
            nickname: change.nickname.clone(),
            reason: got["fail_reason"].as_str().unwrap_or_default().to_owned(),
        };
        nickname_decided(deps, component, appid, &audit).await?;
    }
    Ok(nicknames::latest(&deps.table, component, appid)
        .await?
        .unwrap_or(change))
}
