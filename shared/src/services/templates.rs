//! The template lifecycle: WeChat draft → code template → industry template → page configs → market.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::platform::AlipayTemplate;
use crate::domain::readiness::{self, PrivacySpec, ServerDomains};
use crate::domain::templates::{self as rules, Changes, PageSpec, Refusal, Status, Transition};
use crate::error::{AppError, AppResult};
use crate::services::tokens::with_component_token;
use crate::store::templates::{self as store, ContentUpdate, IndustryTemplate, PageConfig};
use crate::wechat::{
    client::{CodeTemplate, Draft},
    errcode, WechatError,
};

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(m) => AppError::BadRequest(m),
            Refusal::Role(m) => AppError::Forbidden(m),
            Refusal::State(m) => AppError::Conflict(m),
        }
    }
}

fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", crate::random::hex(8))
}

pub async fn list_drafts(deps: &Deps, component: &str) -> AppResult<Vec<Draft>> {
    let mut drafts = with_component_token(deps, component, |cat| async move {
        deps.wechat.template_draft_list(&cat).await
    })
    .await?;
    drafts.sort_by(|a, b| {
        b.create_time
            .cmp(&a.create_time)
            .then(b.draft_id.cmp(&a.draft_id))
    });
    Ok(drafts)
}

/// WeChat keeps at most this many code templates per component (85065 past it).
pub const LIBRARY_LIMIT: usize = 200;

/// WeChat's code template library of the component, newest first, with how much room is left.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Library {
    pub items: Vec<CodeTemplate>,
    pub count: usize,
    pub limit: usize,
}

/// `GET /template/library`.
pub async fn library(deps: &Deps, component: &str) -> AppResult<Library> {
    let mut items = with_component_token(deps, component, |cat| async move {
        deps.wechat.template_list(&cat).await
    })
    .await?;
    items.sort_by(|a, b| {
        b.create_time
            .cmp(&a.create_time)
            .then(b.template_id.cmp(&a.template_id))
    });
    Ok(Library {
        count: items.len(),
        items,
        limit: LIBRARY_LIMIT,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseDraftRequest {
    /// The WeChat draft; omitted by a provider building for Alipay only, which names `alipay` instead.
    #[serde(default)]
    pub draft_id: Option<i64>,
    pub industry_id: String,
    pub industry_name: String,
    pub config: Value,
    pub pages: Vec<PageSpec>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default)]
    pub privacy: PrivacySpec,
    #[serde(default)]
    pub domains: ServerDomains,
    /// The Alipay template its Alipay mini-programs are built from (can also be set later with `/template/update`).
    #[serde(default)]
    pub alipay: Option<AlipayTemplate>,
}

fn validate_release(req: &ReleaseDraftRequest) -> AppResult<()> {
    let id_ok = (1..=32).contains(&req.industry_id.len())
        && req
            .industry_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
    if !id_ok {
        return Err(AppError::BadRequest(
            "industryId must be 1 to 32 letters, digits, _ or -".into(),
        ));
    }
    if req.industry_name.trim().is_empty() || req.industry_name.chars().count() > 64 {
        return Err(AppError::BadRequest(
            "industryName must be 1 to 64 characters".into(),
        ));
    }
    if req
        .desc
        .as_ref()
        .is_some_and(|d| d.chars().count() > rules::MAX_DESC_CHARS)
    {
        return Err(AppError::BadRequest(format!(
            "desc is limited to {} characters",
            rules::MAX_DESC_CHARS
        )));
    }
    match (req.draft_id, &req.alipay) {
        (None, None) => {
            return Err(AppError::BadRequest(
                "draftId (a WeChat draft) or alipay (an Alipay template) is required".into(),
            ))
        }
        (Some(d), _) if d < 0 => {
            return Err(AppError::BadRequest("draftId must not be negative".into()))
        }
        _ => {}
    }
    if let Some(a) = &req.alipay {
        a.validate().map_err(AppError::BadRequest)?;
    }
    rules::validate_config(&req.config)?;
    rules::validate_pages(&req.pages)?;
    readiness::validate_privacy(&req.privacy)?;
    readiness::validate_domains(&req.domains)?;
    Ok(())
}

fn draft_error(e: AppError, draft_id: i64) -> AppError {
    match &e {
        AppError::Upstream(w) if w.errcode() == Some(errcode::TEMPLATE_NOT_FOUND) => {
            AppError::NotFound(format!("draft {draft_id} in the WeChat draft box"))
        }
        AppError::Upstream(w) if w.errcode() == Some(errcode::TEMPLATE_LIBRARY_FULL) => {
            AppError::Conflict(format!(
                "the WeChat template library is full ({LIBRARY_LIMIT} templates): delete one first"
            ))
        }
        _ => e,
    }
}

/// Makes an industry template from a WeChat draft (added to WeChat's template library) and/or an Alipay template.
/// The same draft (or, without one, the same Alipay template) twice returns the existing template (`false`).
pub async fn release_draft(
    deps: &Deps,
    component: &str,
    req: ReleaseDraftRequest,
) -> AppResult<(IndustryTemplate, bool)> {
    validate_release(&req)?;
    let now = now_secs();
    let mut template = IndustryTemplate {
        id: random_id("it_"),
        component_appid: component.to_owned(),
        industry_id: req.industry_id,
        industry_name: req.industry_name,
        product_app_id: String::new(),
        draft_id: None,
        template_id: None,
        user_version: String::new(),
        config: req.config,
        pages: req.pages,
        status: Status::DevConfig,
        desc: req.desc.unwrap_or_default(),
        img: None,
        ext: Value::Object(Default::default()),
        privacy: req.privacy,
        domains: req.domains,
        alipay: req.alipay,
        claim: String::new(),
        version: 1,
        create_time: now,
        update_time: now,
    };
    template.draft_id = req.draft_id;
    template.claim = store::claim_sk(&template);
    if let Some(existing) = store::get_by_claim(&deps.table, component, &template.claim).await? {
        return Ok((existing, false));
    }
    if let Some(draft_id) = req.draft_id {
        let code = wechat_code_template(deps, component, draft_id).await?;
        template.product_app_id = code.source_miniprogram_appid;
        template.template_id = Some(code.template_id);
        template.user_version = code.user_version;
    }
    if store::create(&deps.table, &template).await? {
        tracing::info!(component, id = %template.id, template_id = ?template.template_id, "industry template created");
        return Ok((template, true));
    }
    // A concurrent release of the same draft won: return its template.
    let existing = store::get_by_claim(&deps.table, component, &template.claim).await?;
    existing
        .map(|t| (t, false))
        .ok_or_else(|| AppError::Conflict("the draft is being released; try again".into()))
}

/// WeChat's code template made from the draft, adding the draft to the template library unless an earlier attempt
/// did (a retry after a failure further down must not add a second WeChat template for the same draft).
async fn wechat_code_template(
    deps: &Deps,
    component: &str,
    draft_id: i64,
) -> AppResult<CodeTemplate> {
    let list = || {
        with_component_token(deps, component, |cat| async move {
            deps.wechat.template_list(&cat).await
        })
    };
    let made = |all: Vec<CodeTemplate>| {
        all.into_iter()
            .filter(|t| t.draft_id == draft_id)
            .max_by_key(|t| t.create_time)
    };
    if let Some(code) = made(list().await?) {
        return Ok(code);
    }
    with_component_token(deps, component, |cat| async move {
        deps.wechat.add_to_template(&cat, draft_id).await
    })
    .await
    .map_err(|e| draft_error(e, draft_id))?;
    made(list().await?).ok_or_else(|| {
        AppError::Upstream(WechatError::Decode(format!(
            "template for draft {draft_id} missing after addtotemplate"
        )))
    })
}

pub async fn get(deps: &Deps, component: &str, id: &str) -> AppResult<IndustryTemplate> {
    crate::domain::ids::check("id", id)?;
    store::get(&deps.table, component, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("template {id}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRequest {
    pub id: String,
    pub version: i64,
    pub config: Option<Value>,
    pub pages: Option<Vec<PageSpec>>,
    pub desc: Option<String>,
    pub img: Option<String>,
    pub privacy: Option<PrivacySpec>,
    pub domains: Option<ServerDomains>,
    /// Seed 000's `ext` of the industry template (a JSON object), edited with the config.
    pub ext: Option<Value>,
    /// The Alipay template its Alipay mini-programs are built from.
    pub alipay: Option<AlipayTemplate>,
}

pub async fn update(
    deps: &Deps,
    claims: &Claims,
    component: &str,
    req: UpdateRequest,
) -> AppResult<IndustryTemplate> {
    let current = get(deps, component, &req.id).await?;
    let changes = Changes {
        config_or_pages: req.config.is_some()
            || req.pages.is_some()
            || req.privacy.is_some()
            || req.domains.is_some()
            || req.ext.is_some()
            || req.alipay.is_some(),
        desc_or_img: req.desc.is_some() || req.img.is_some(),
    };
    rules::check_edit(claims.role, current.status, &changes)?;
    if let Some(c) = &req.config {
        rules::validate_config(c)?;
    }
    if let Some(p) = &req.pages {
        rules::validate_pages(p)?;
    }
    if let Some(ext) = &req.ext {
        rules::validate_ext("ext", ext)?;
    }
    if let Some(p) = &req.privacy {
        readiness::validate_privacy(p)?;
    }
    if let Some(d) = &req.domains {
        readiness::validate_domains(d)?;
    }
    if let Some(a) = &req.alipay {
        a.validate().map_err(AppError::BadRequest)?;
    }
    if req
        .desc
        .as_ref()
        .is_some_and(|d| d.chars().count() > rules::MAX_DESC_CHARS)
    {
        return Err(AppError::BadRequest(format!(
            "desc is limited to {} characters",
            rules::MAX_DESC_CHARS
        )));
    }
    if req
        .img
        .as_ref()
        .is_some_and(|k| !k.starts_with(&format!("covers/{component}/{}/", req.id)))
    {
        return Err(AppError::BadRequest(
            "img must be a key returned by /template/cover/upload-url".into(),
        ));
    }
    if let Some(key) = &req.img {
        check_uploaded_image(deps, key).await?;
    }
    stale_check(current.version, req.version)?;
    let change = ContentUpdate {
        config: req.config.as_ref(),
        pages: req.pages.as_deref(),
        desc: req.desc.as_deref(),
        img: req.img.as_deref(),
        ext: req.ext.as_ref(),
        privacy: req.privacy.as_ref(),
        domains: req.domains.as_ref(),
        alipay: req.alipay.as_ref(),
    };
    if !store::update_content(
        &deps.table,
        component,
        &req.id,
        req.version,
        current.status,
        &change,
        now_secs(),
    )
    .await?
    {
        return Err(stale(req.version));
    }
    get(deps, component, &req.id).await
}

fn stale(version: i64) -> AppError {
    AppError::Conflict(format!(
        "version {version} is stale: the template changed meanwhile; reload it and retry"
    ))
}

fn stale_check(current: i64, given: i64) -> AppResult<()> {
    (current == given).then_some(()).ok_or_else(|| stale(given))
}

/// Handover, release (generating the page configs atomically) or withdrawal.
pub async fn transition(
    deps: &Deps,
    claims: &Claims,
    component: &str,
    id: &str,
    version: i64,
    t: Transition,
) -> AppResult<IndustryTemplate> {
    let current = get(deps, component, id).await?;
    let to = rules::transition(claims.role, current.status, t)?;
    stale_check(current.version, version)?;
    let pages: Vec<PageConfig> = if t == Transition::Release {
        let existing = store::pages(&deps.table, component, id).await?;
        current
            .pages
            .iter()
            .map(|p| PageConfig {
                // A re-release keeps the ids and values merchants' configs already point at.
                id: existing
                    .iter()
                    .find(|e| e.page_key == p.page_key)
                    .map(|e| e.id.clone())
                    .unwrap_or_else(|| random_id("pg_")),
                page_value: existing
                    .iter()
                    .find(|e| e.page_key == p.page_key)
                    .map(|e| e.page_value.clone())
                    .unwrap_or_else(|| random_id("pv_")),
                page_key: p.page_key.clone(),
                name: p.name.clone(),
                config: p.config.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    if !store::change_status(&deps.table, &current, to, &pages, now_secs()).await? {
        return Err(stale(version));
    }
    tracing::info!(component, id, ?t, "template status changed");
    get(deps, component, id).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoverUploadRequest {
    pub id: String,
    pub content_type: String,
    pub size: i64,
}

#[derive(serde::Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CoverUpload {
    pub upload_url: String,
    pub key: String,
    pub method: &'static str,
    pub headers: serde_json::Map<String, Value>,
    pub expires_in: u64,
}

/// A presigned PUT for the operator's cover image; the key then goes into `img` with `/template/update`.
pub async fn cover_upload(
    deps: &Deps,
    claims: &Claims,
    component: &str,
    req: CoverUploadRequest,
) -> AppResult<CoverUpload> {
    let ext = crate::blobs::image_extension(&req.content_type).ok_or_else(|| {
        AppError::BadRequest("contentType must be image/png or image/jpeg".into())
    })?;
    if req.size < 1 || req.size > crate::blobs::MAX_IMAGE_BYTES {
        return Err(AppError::BadRequest(format!(
            "size must be 1 to {} bytes",
            crate::blobs::MAX_IMAGE_BYTES
        )));
    }
    let current = get(deps, component, &req.id).await?;
    rules::check_edit(
        claims.role,
        current.status,
        &Changes {
            config_or_pages: false,
            desc_or_img: true,
        },
    )?;
    let key = format!("covers/{component}/{}/{}.{ext}", req.id, random_id(""));
    let upload_url = deps
        .blobs
        .upload_url(&key, &req.content_type, req.size)
        .await?;
    let mut headers = serde_json::Map::new();
    headers.insert("Content-Type".into(), Value::String(req.content_type));
    Ok(CoverUpload {
        upload_url,
        key,
        method: "PUT",
        headers,
        expires_in: crate::blobs::UPLOAD_URL_TTL.as_secs(),
    })
}

/// Checks that an `img` key names an image that was really uploaded within the limits.
pub async fn check_uploaded_image(deps: &Deps, key: &str) -> AppResult<()> {
    match deps.blobs.head(key).await? {
        Some((ct, size))
            if crate::blobs::image_extension(&ct).is_some()
                && size <= crate::blobs::MAX_IMAGE_BYTES =>
        {
            Ok(())
        }
        Some(_) => Err(AppError::BadRequest(
            "the uploaded object is not a PNG or JPEG within the size limit".into(),
        )),
        None => Err(AppError::BadRequest(
            "nothing was uploaded under img: PUT the image to the upload URL first".into(),
        )),
    }
}

/// Deletes the code template at WeChat, then marks ours deleted. Refused while mini-programs use it.
pub async fn delete(
    deps: &Deps,
    claims: &Claims,
    component: &str,
    id: &str,
    version: i64,
) -> AppResult<()> {
    claims.require_role(&[crate::domain::identity::Role::Developer])?;
    let current = get(deps, component, id).await?;
    stale_check(current.version, version)?;
    let in_use = store::mini_programs(&deps.table, component, id).await?;
    if in_use > 0 {
        return Err(AppError::Conflict(format!(
            "{in_use} mini-program(s) use this template; it cannot be deleted"
        )));
    }
    // A template made for Alipay only has nothing at WeChat; Alipay's template is the provider's own to keep.
    if let Some(template_id) = current.template_id {
        let deleted = with_component_token(deps, component, |cat| async move {
            deps.wechat.delete_template(&cat, template_id).await
        })
        .await;
        match deleted {
            Ok(()) => {}
            // Already gone at WeChat (an earlier attempt got that far): finish our side.
            Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::TEMPLATE_NOT_FOUND) => {}
            Err(e) => return Err(e),
        }
    }
    if !store::mark_deleted(&deps.table, &current, now_secs()).await? {
        return Err(AppError::Conflict(
            "the template changed meanwhile or is now in use; reload it".into(),
        ));
    }
    tracing::info!(component, id, template_id = ?current.template_id, "industry template deleted");
    Ok(())
}
