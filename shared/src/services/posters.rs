//! `POST /app/card/poster` (seed create_poster / save_poster): a staff card's poster, a PNG of the card above the
//! mini-program code (`getwxacodeunlimit`, scene `uid=<staffId>`) that opens it. Kept in S3 under a hash of what
//! it shows, so every customer of the shop gets the same object until the card changes; the answer is a presigned
//! URL (the client downloads it and saves it to the album, seed save_poster).
use std::sync::Arc;

use ab_glyph::FontVec;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::blobs::READ_URL_TTL;
use crate::deps::Deps;
use crate::domain::ids::hex_lower;
use crate::domain::poster::{self, PosterError, LAYOUT};
use crate::domain::runtime::{valid_id, STAFF_PREFIX};
use crate::domain::wxacode::{CodeKind, CodeRequest};
use crate::error::{AppError, AppResult};
use crate::services::customers::Session;
use crate::services::wxacode;
use crate::store::runtime as store;

/// Where the deployment keeps the font posters are written in (any TrueType/OpenType font or collection with
/// Chinese glyphs; README, Deploying).
pub const FONT_KEY: &str = "assets/poster-font";
const FONT_MAX: i64 = 32 * 1024 * 1024;

static FONT: OnceCell<Arc<FontVec>> = OnceCell::const_new();

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PosterRequest {
    pub staff_id: String,
    /// The page the code opens (the card page of the template); absent, the mini-program's home page.
    #[serde(default)]
    pub page: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PosterView {
    pub staff_id: String,
    /// A presigned GET of the PNG, good for `expires_in` seconds.
    pub url: String,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    /// True when this card's poster had been made before and was served as it was.
    pub reused: bool,
    pub expires_in: u64,
}

/// The font, read from the bucket by the first poster a process makes; a failed read is tried again next time.
async fn font(deps: &Deps) -> AppResult<Arc<FontVec>> {
    FONT.get_or_try_init(|| async {
        if deps.blobs.head(FONT_KEY).await?.is_none() {
            return Err(PosterError::FontMissing(FONT_KEY.into()).into());
        }
        let bytes = deps.blobs.get(FONT_KEY, FONT_MAX).await?;
        Ok(Arc::new(poster::font_from_bytes(bytes)?))
    })
    .await
    .cloned()
}

/// The code of a card: the WeChat body, checked by WeChat's rules. `check_path` is off so a page of a version not
/// yet released still gets a code; transparency makes WeChat answer a PNG.
fn code_body(
    session: &Session,
    staff_id: &str,
    page: Option<String>,
) -> AppResult<serde_json::Value> {
    let (_, body) = CodeRequest {
        ma_app_id: session.app.clone(),
        kind: Some("unlimited".into()),
        page,
        scene: Some(format!("uid={staff_id}")),
        path: None,
        width: Some(430),
        env_version: None,
        check_path: Some(false),
        auto_color: None,
        line_color: None,
        is_hyaline: Some(true),
    }
    .wechat_body()?;
    Ok(body)
}

pub async fn create(deps: &Deps, session: &Session, req: PosterRequest) -> AppResult<PosterView> {
    if !valid_id(STAFF_PREFIX, &req.staff_id) {
        return Err(AppError::InvalidId(
            "staffId must be a staff id (s_…)".into(),
        ));
    }
    let body = code_body(session, &req.staff_id, req.page)?;
    let card = store::staff(&deps.table, &session.pk(), &req.staff_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("staff card {}", req.staff_id)))?
        .card;
    let shown = json!([LAYOUT, card, body]);
    let key = format!(
        "posters/{}/{}/{}.png",
        session.cmp,
        session.app,
        hex_lower(&Sha256::digest(shown.to_string().as_bytes()))
    );
    let view = |url, reused| PosterView {
        staff_id: req.staff_id.clone(),
        url,
        content_type: "image/png",
        width: poster::WIDTH,
        height: poster::HEIGHT,
        reused,
        expires_in: READ_URL_TTL.as_secs(),
    };
    if deps
        .blobs
        .head(&key)
        .await?
        .is_some_and(|(_, size)| size > 0)
    {
        return Ok(view(deps.blobs.read_url(&key).await?, true));
    }
    let font = font(deps).await?;
    let code =
        wxacode::code_image(deps, &session.cmp, &session.app, CodeKind::Unlimited, &body).await?;
    // Tens of milliseconds of CPU, inline: a Lambda instance serves one request at a time.
    let png = poster::compose(font.as_ref(), &card, &code)?;
    deps.blobs.put(&key, png, "image/png").await?;
    tracing::info!(cmp = %session.cmp, app = %session.app, staff = %req.staff_id, "poster stored");
    Ok(view(deps.blobs.read_url(&key).await?, false))
}
