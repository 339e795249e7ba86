//! An Alipay mini-program's codes (seed 004 §6): a code for any page (`alipay.open.app.qrcode.create`), its image
//! kept in S3 under a hash of what was asked so asking again costs no Alipay call; and ordinary QR codes bound to
//! pages (`alipay.open.mini.qrcode.bind/unbind/query`, 20 rules a mini-program, Alipay's limit).
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::alipay::client::QrMethod;
use crate::blobs::READ_URL_TTL;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::access::owned_alipay_mini_program;
use crate::services::alipay_auth::app_of;

/// Alipay's code images are small; anything larger is not one.
const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeRequest {
    pub mini_app_id: String,
    /// The page the code opens (`pages/index/index`).
    pub url_param: String,
    /// `k=v&k2=v2`, read by the mini-program in onLaunch.
    #[serde(default)]
    pub query_param: String,
    #[serde(default)]
    pub describe: String,
    /// `s`, `m` or `l`.
    #[serde(default)]
    pub size: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeView {
    pub mini_app_id: String,
    /// A presigned GET of the image, good for `expires_in` seconds.
    pub url: String,
    pub content_type: String,
    /// True when the same code was made before and Alipay was not asked again.
    pub reused: bool,
    pub expires_in: u64,
}

fn check(req: &CodeRequest) -> AppResult<Value> {
    let page_ok = !req.url_param.is_empty()
        && req.url_param.len() <= 256
        && !req.url_param.starts_with('/')
        && req
            .url_param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.".contains(&b));
    if !page_ok {
        return Err(AppError::BadRequest(
            "urlParam must be a page path such as pages/index/index (letters, digits, / _ - .)"
                .into(),
        ));
    }
    if req.query_param.len() > 256 || req.describe.chars().count() > 64 {
        return Err(AppError::BadRequest(
            "queryParam is at most 256 bytes, describe 64 characters".into(),
        ));
    }
    let size = req.size.as_deref().unwrap_or("m");
    if !["s", "m", "l"].contains(&size) {
        return Err(AppError::BadRequest("size must be s, m or l".into()));
    }
    Ok(
        json!({"url_param": req.url_param, "query_param": req.query_param,
              "describe": if req.describe.is_empty() { &req.url_param } else { &req.describe }, "size": size}),
    )
}

/// Where a code is kept: by mini-program and a hash of exactly what Alipay is asked.
pub fn object_key(component: &str, mini_app_id: &str, biz: &Value) -> String {
    let digest = Sha256::digest(biz.to_string().as_bytes());
    format!(
        "alipay-codes/{component}/{mini_app_id}/{}",
        crate::domain::ids::hex_lower(&digest)
    )
}

/// `POST /alipay/qrcode`.
pub async fn create(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: CodeRequest,
) -> AppResult<CodeView> {
    let biz = check(&req)?;
    let authorization =
        owned_alipay_mini_program(deps, caller, component, &req.mini_app_id).await?;
    let key = object_key(component, &req.mini_app_id, &biz);
    let view = |url, content_type: String, reused| CodeView {
        mini_app_id: req.mini_app_id.clone(),
        url,
        content_type,
        reused,
        expires_in: READ_URL_TTL.as_secs(),
    };
    if let Some((content_type, size)) = deps.blobs.head(&key).await? {
        if size > 0 {
            return Ok(view(deps.blobs.read_url(&key).await?, content_type, true));
        }
    }
    let app = app_of(deps, component).await?;
    let made = deps
        .alipay
        .qrcode(&app, &authorization.app_auth_token, QrMethod::Create, &biz)
        .await?;
    let image_url = made["qr_code_url"].as_str().unwrap_or_default();
    let (bytes, content_type) = deps.alipay.image(image_url, MAX_IMAGE_BYTES).await?;
    deps.blobs.put(&key, bytes, content_type).await?;
    tracing::info!(component, mini_app_id = %req.mini_app_id, "Alipay code made");
    Ok(view(
        deps.blobs.read_url(&key).await?,
        content_type.to_owned(),
        false,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindRequest {
    pub mini_app_id: String,
    /// The ordinary QR code's address (its domain must pass Alipay's ICP check).
    pub route_url: String,
    /// `EXACT` or `FUZZY` (prefix).
    pub mode: String,
    /// The page it opens.
    pub page_redirection: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnbindRequest {
    pub mini_app_id: String,
    pub route_group: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    pub mini_app_id: String,
    /// As Alipay lists them (`route_group`, `route_url`, `mode`, `page_redirection`).
    pub rules: Vec<Value>,
    pub total: i64,
    pub page_no: i64,
}

/// `GET /alipay/qrcode/rules?miniAppId=&pageNo=` (10 a page, Alipay's page size).
pub async fn rules(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    mini_app_id: &str,
    page_no: i64,
) -> AppResult<Rules> {
    if !(1..=100).contains(&page_no) {
        return Err(AppError::BadRequest("pageNo is 1 to 100".into()));
    }
    let authorization = owned_alipay_mini_program(deps, caller, component, mini_app_id).await?;
    let app = app_of(deps, component).await?;
    let out = deps
        .alipay
        .qrcode(
            &app,
            &authorization.app_auth_token,
            QrMethod::Query,
            &json!({"page_no": page_no, "page_size": 10}),
        )
        .await?;
    Ok(Rules {
        mini_app_id: mini_app_id.to_owned(),
        rules: out["qr_code_route_groups"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        total: out["total_items"].as_i64().unwrap_or(0),
        page_no,
    })
}

/// `POST /alipay/qrcode/bind`.
pub async fn bind(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: BindRequest,
) -> AppResult<Value> {
    let url_ok = ["http://", "https://", "ftp://"]
        .iter()
        .any(|s| req.route_url.starts_with(s))
        && req.route_url.len() <= 512
        && !req.route_url.chars().any(char::is_whitespace);
    if !url_ok {
        return Err(AppError::BadRequest(
            "routeUrl must be an http, https or ftp address".into(),
        ));
    }
    if req.mode != "EXACT" && req.mode != "FUZZY" {
        return Err(AppError::BadRequest("mode must be EXACT or FUZZY".into()));
    }
    if req.page_redirection.is_empty() || req.page_redirection.len() > 256 {
        return Err(AppError::BadRequest(
            "pageRedirection is the page the code opens".into(),
        ));
    }
    let authorization =
        owned_alipay_mini_program(deps, caller, component, &req.mini_app_id).await?;
    let app = app_of(deps, component).await?;
    let biz = json!({"route_url": req.route_url, "mode": req.mode, "page_redirection": req.page_redirection});
    let out = deps
        .alipay
        .qrcode(&app, &authorization.app_auth_token, QrMethod::Bind, &biz)
        .await?;
    tracing::info!(component, mini_app_id = %req.mini_app_id, "Alipay QR rule bound");
    Ok(json!({"miniAppId": req.mini_app_id, "routeGroup": out["route_group"]}))
}

/// `POST /alipay/qrcode/unbind`.
pub async fn unbind(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: UnbindRequest,
) -> AppResult<Value> {
    if req.route_group.is_empty()
        || req.route_group.len() > 64
        || !req.route_group.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(AppError::InvalidId(
            "routeGroup is the id the rules list gives".into(),
        ));
    }
    let authorization =
        owned_alipay_mini_program(deps, caller, component, &req.mini_app_id).await?;
    let app = app_of(deps, component).await?;
    deps.alipay
        .qrcode(
            &app,
            &authorization.app_auth_token,
            QrMethod::Unbind,
            &json!({"route_group": req.route_group}),
        )
        .await?;
    Ok(json!({"miniAppId": req.mini_app_id, "unbound": true}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_code_is_kept_under_one_key_and_any_difference_gets_its_own() {
        let req = |page: &str, q: &str| CodeRequest {
            mini_app_id: "2021004000000001".into(),
            url_param: page.into(),
            query_param: q.into(),
            describe: String::new(),
            size: None,
        };
        let a = check(&req("pages/index/index", "table=1")).unwrap();
        let b = check(&req("pages/index/index", "table=2")).unwrap();
        assert_eq!(object_key("c", "m", &a), object_key("c", "m", &a));
        assert_ne!(object_key("c", "m", &a), object_key("c", "m", &b));
        assert_ne!(object_key("c", "m", &a), object_key("c", "n", &a));
        assert!(check(&req("/pages/index", "")).is_err());
        assert!(check(&req("pages/<x>", "")).is_err());
        assert!(check(&req("", "")).is_err());
    }
}
