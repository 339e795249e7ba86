//! Images an Alipay mini-program sends with its upload-style calls: the logo (`baseinfo.modify`'s `app_logo`) and
//! the audit's screenshots (`audit.apply`'s `first_screen_shot` ... `fifth_screen_shot`). The client PUTs each to S3
//! through a presigned URL (`POST /alipay/image/upload-url`) and names its key; the bytes go to Alipay from there,
//! checked for what they are, not for what the uploader said.
use serde::Deserialize;
use serde_json::Value;

use crate::alipay::client::FilePart;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::access::owned_alipay_mini_program;

/// Alipay takes screenshots up to 4 MB; logos are kept to the same bound.
pub const MAX_ALIPAY_IMAGE_BYTES: i64 = 4 * 1024 * 1024;
use crate::domain::platform::MAX_SCREENSHOTS;

const SCREENSHOT_PARTS: [&str; MAX_SCREENSHOTS] = [
    "first_screen_shot",
    "second_screen_shot",
    "third_screen_shot",
    "fourth_screen_shot",
    "fifth_screen_shot",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Logo,
    Screenshot,
}

impl Purpose {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "logo" => Some(Purpose::Logo),
            "screenshot" => Some(Purpose::Screenshot),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Purpose::Logo => "logo",
            Purpose::Screenshot => "screenshot",
        }
    }
}

fn prefix(component: &str, mini_app_id: &str, purpose: Purpose) -> String {
    format!(
        "alipay-images/{component}/{mini_app_id}/{}/",
        purpose.as_str()
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    pub mini_app_id: String,
    /// `logo` or `screenshot`.
    pub purpose: String,
    pub content_type: String,
    pub size: i64,
}

/// `POST /alipay/image/upload-url`: a presigned PUT (5 minutes) for one PNG or JPEG image and the key to name.
pub async fn upload_url(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: UploadRequest,
) -> AppResult<Value> {
    let purpose = Purpose::parse(&req.purpose)
        .ok_or_else(|| AppError::BadRequest("purpose must be logo or screenshot".into()))?;
    crate::blobs::image_extension(&req.content_type).ok_or_else(|| {
        AppError::BadRequest("contentType must be image/png or image/jpeg".into())
    })?;
    if !(1..=MAX_ALIPAY_IMAGE_BYTES).contains(&req.size) {
        return Err(AppError::BadRequest(format!(
            "size must be 1 to {MAX_ALIPAY_IMAGE_BYTES} bytes"
        )));
    }
    owned_alipay_mini_program(deps, caller, component, &req.mini_app_id).await?;
    let prefix = prefix(component, &req.mini_app_id, purpose);
    deps.blobs
        .image_upload(&prefix, &req.content_type, req.size)
        .await
}

/// A key this mini-program was given for `purpose` (checked before anything is read or sent).
pub fn check_key(component: &str, mini_app_id: &str, purpose: Purpose, key: &str) -> AppResult<()> {
    let ok = key.starts_with(&prefix(component, mini_app_id, purpose))
        && key.len() <= 200
        && !key.contains("..");
    ok.then_some(()).ok_or_else(|| {
        AppError::BadRequest(format!(
            "{} keys must be ones /alipay/image/upload-url answered for this mini-program",
            purpose.as_str()
        ))
    })
}

/// The uploaded image under `key` as the file part `name`: PNG or JPEG by its first bytes.
async fn part(deps: &Deps, key: &str, name: &'static str) -> AppResult<FilePart> {
    if deps.blobs.head(key).await?.is_none() {
        return Err(AppError::BadRequest(format!(
            "nothing was uploaded under {key}: PUT the image to its upload URL first"
        )));
    }
    let bytes = deps.blobs.get(key, MAX_ALIPAY_IMAGE_BYTES).await?;
    let content_type = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else {
        return Err(AppError::BadRequest(format!(
            "{key} is not a PNG or JPEG image"
        )));
    };
    Ok(FilePart {
        name,
        bytes,
        content_type,
    })
}

/// The logo to send with `baseinfo.modify`.
pub async fn logo(
    deps: &Deps,
    component: &str,
    mini_app_id: &str,
    key: &str,
) -> AppResult<FilePart> {
    check_key(component, mini_app_id, Purpose::Logo, key)?;
    part(deps, key, "app_logo").await
}

/// The screenshots to send with `audit.apply`, in order.
pub async fn screenshots(deps: &Deps, keys: &[String]) -> AppResult<Vec<FilePart>> {
    let mut parts = Vec::with_capacity(keys.len());
    for (key, name) in keys.iter().zip(SCREENSHOT_PARTS) {
        parts.push(part(deps, key, name).await?);
    }
    Ok(parts)
}

/// Screenshot keys as a release names them: each this mini-program's and uploaded already (checked before anything
/// is uploaded to Alipay, whose audit may be applied much later by the sweep).
pub async fn check_screenshots(
    deps: &Deps,
    component: &str,
    mini_app_id: &str,
    keys: &[String],
) -> AppResult<()> {
    for key in keys {
        check_key(component, mini_app_id, Purpose::Screenshot, key)?;
        if deps.blobs.head(key).await?.is_none() {
            return Err(AppError::BadRequest(format!(
                "nothing was uploaded under {key}: PUT the image to its upload URL first"
            )));
        }
    }
    Ok(())
}
