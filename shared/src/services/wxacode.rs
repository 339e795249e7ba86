//! `POST /wxacode`: a mini-program code for any page, kept in S3 under a hash of what was asked, so asking again
//! costs no WeChat call (the limited kinds count against 100,000 per mini-program, for ever). Merchants ask for
//! their own mini-programs, the component's operators for any of it.
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::blobs::{image_extension, READ_URL_TTL};
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::wxacode::{CodeKind, CodeRequest};
use crate::error::AppResult;
use crate::services::access;
use crate::services::tokens::with_authorizer_token;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeView {
    pub ma_app_id: String,
    pub kind: &'static str,
    /// A presigned GET of the image, good for `expires_in` seconds.
    pub url: String,
    pub content_type: String,
    pub size: i64,
    /// True when the same code was made before and WeChat was not asked again.
    pub reused: bool,
    pub expires_in: u64,
}

/// Where a code is kept: by mini-program and by a hash of the endpoint and the exact body WeChat is sent.
pub fn object_key(component: &str, appid: &str, kind: CodeKind, body: &Value) -> String {
    let digest = Sha256::digest(format!("{}\n{body}", kind.endpoint()).as_bytes());
    format!(
        "wxacodes/{component}/{appid}/{}",
        crate::domain::ids::hex_lower(&digest)
    )
}

pub async fn create(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: CodeRequest,
) -> AppResult<CodeView> {
    let (kind, body) = req.wechat_body()?;
    let appid = access::owned_mini_program(deps, caller, component, &req.ma_app_id)
        .await?
        .appid;
    let key = object_key(component, &appid, kind, &body);
    let view = |url, content_type, size, reused| CodeView {
        ma_app_id: appid.clone(),
        kind: kind.as_str(),
        url,
        content_type,
        size,
        reused,
        expires_in: READ_URL_TTL.as_secs(),
    };
    if let Some((content_type, size)) = deps.blobs.head(&key).await? {
        if image_extension(&content_type).is_some() && size > 0 {
            return Ok(view(
                deps.blobs.read_url(&key).await?,
                content_type,
                size,
                true,
            ));
        }
    }
    let (bytes, content_type) = fetch_and_store(deps, component, &appid, kind, &body, &key).await?;
    Ok(view(
        deps.blobs.read_url(&key).await?,
        content_type.to_owned(),
        bytes.len() as i64,
        false,
    ))
}

/// Asks WeChat for the code and keeps it under `key` (made by `object_key` from the same request).
async fn fetch_and_store(
    deps: &Deps,
    component: &str,
    appid: &str,
    kind: CodeKind,
    body: &Value,
    key: &str,
) -> AppResult<(Vec<u8>, &'static str)> {
    let (bytes, content_type) = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat
            .mini_program_code(&aat, kind.endpoint(), body)
            .await
    })
    .await?;
    deps.blobs.put(key, bytes.clone(), content_type).await?;
    tracing::info!(
        component,
        appid,
        kind = kind.as_str(),
        size = bytes.len(),
        "mini-program code stored"
    );
    Ok((bytes, content_type))
}

/// The bytes of a code the caller has already checked the mini-program for: the stored copy when there is one,
/// else WeChat's, stored on the way.
pub async fn code_image(
    deps: &Deps,
    component: &str,
    appid: &str,
    kind: CodeKind,
    body: &Value,
) -> AppResult<Vec<u8>> {
    let key = object_key(component, appid, kind, body);
    if deps
        .blobs
        .head(&key)
        .await?
        .is_some_and(|(_, size)| size > 0)
    {
        return deps.blobs.get(&key, CODE_IMAGE_MAX).await;
    }
    Ok(fetch_and_store(deps, component, appid, kind, body, &key)
        .await?
        .0)
}

/// WeChat's codes are tens of kilobytes; a stored object beyond this is not one.
const CODE_IMAGE_MAX: i64 = 4 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_request_is_kept_under_the_same_key_and_any_difference_gets_its_own() {
        let body = json!({"scene": "t=1", "width": 430});
        let key = object_key("wxc", "wxa", CodeKind::Unlimited, &body);
        assert_eq!(key, object_key("wxc", "wxa", CodeKind::Unlimited, &body));
        assert!(key.starts_with("wxacodes/wxc/wxa/"));
        assert_ne!(key, object_key("wxc", "wxa", CodeKind::Limited, &body));
        assert_ne!(key, object_key("wxc", "wxb", CodeKind::Unlimited, &body));
        let other = json!({"scene": "t=2", "width": 430});
        assert_ne!(key, object_key("wxc", "wxa", CodeKind::Unlimited, &other));
    }
}
