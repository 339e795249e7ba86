//! Merchants decorate their own mini-program: start from a published industry template's defaults, save their
//! config and pages (optimistic on version), read one page back.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::platform::Platform;
use crate::domain::release;
use crate::domain::templates::{self as rules, PageSpec, Status};
use crate::error::{AppError, AppResult};
use crate::services::hosting::decorating_merchant;
use crate::store::templates::{self as industry, IndustryTemplate};
use crate::store::user_templates::{self as store, Save, UserPage, UserTemplate};

async fn published(deps: &Deps, component: &str, id: &str) -> AppResult<IndustryTemplate> {
    crate::domain::ids::check("templateId", id)?;
    match industry::get(&deps.table, component, id).await? {
        Some(t) if t.status == Status::Published => Ok(t),
        _ => Err(AppError::NotFound(format!("published template {id}"))),
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ConfigView {
    pub saved: bool,
    pub ma_app_id: String,
    pub template_id: String,
    pub config: Value,
    pub pages: Vec<UserPage>,
    pub version: Option<i64>,
    pub user_template: Option<UserTemplate>,
    /// Seed 000's names, beside the fields above (docs/decisions.md): the mini-program's appid, WeChat's code and
    /// words for its latest audit, the rejection reason, 1/0 for visitable, and the user template's `ext`.
    pub app_id: String,
    pub audit_status: Option<i64>,
    pub audit_status_desc: Option<&'static str>,
    pub reason: Option<String>,
    pub access_status: i64,
    pub ext: Value,
}

impl ConfigView {
    fn saved(appid: &str, ut: UserTemplate, pages: Vec<UserPage>) -> Self {
        let audit = ut
            .audit_status
            .as_deref()
            .and_then(release::wechat_audit_status);
        ConfigView {
            saved: true,
            ma_app_id: appid.to_owned(),
            template_id: ut.template_id.clone(),
            config: ut.config.clone(),
            pages,
            version: Some(ut.version),
            app_id: appid.to_owned(),
            audit_status: audit.map(|a| a.0),
            audit_status_desc: audit.map(|a| a.1),
            reason: ut.audit_reason.clone().filter(|r| !r.is_empty()),
            access_status: release::access_status_code(&ut.access_status),
            ext: object_or_empty(ut.ext.clone()),
            user_template: Some(ut),
        }
    }
}

fn object_or_empty(v: Value) -> Value {
    if v.is_object() {
        v
    } else {
        Value::Object(Default::default())
    }
}

fn page_url(page_key: &str) -> String {
    format!("pages/{page_key}/index")
}

pub async fn query(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
    template_id: Option<&str>,
) -> AppResult<ConfigView> {
    decorating_merchant(deps, merchant, component, appid).await?;
    let saved = store::get(&deps.table, component, appid).await?;
    match (saved, template_id) {
        (Some(ut), wanted) if wanted.is_none() || wanted == Some(ut.template_id.as_str()) => {
            let pages = store::pages(&deps.table, component, appid).await?;
            Ok(ConfigView::saved(appid, ut, pages))
        }
        (_, Some(id)) => {
            let t = published(deps, component, id).await?;
            let pages = industry::pages(&deps.table, component, id).await?;
            Ok(ConfigView {
                saved: false,
                ma_app_id: appid.to_owned(),
                template_id: t.id,
                config: t.config,
                pages: pages
                    .into_iter()
                    .map(|p| UserPage {
                        url: page_url(&p.page_key),
                        id: p.id,
                        page_key: p.page_key,
                        page_value: p.page_value,
                        name: p.name,
                        config: p.config,
                        status: PAGE_SHOWN,
                        ext: Value::Object(Default::default()),
                    })
                    .collect(),
                version: None,
                user_template: None,
                app_id: appid.to_owned(),
                audit_status: None,
                audit_status_desc: None,
                reason: None,
                access_status: 1,
                ext: Value::Object(Default::default()),
            })
        }
        (None, None) => Err(AppError::BadRequest(
            "templateId is required until the first save".into(),
        )),
        (Some(_), None) => unreachable!("covered by the first arm"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveRequest {
    pub ma_app_id: String,
    pub template_id: String,
    pub config: Value,
    pub pages: Vec<SavedPageSpec>,
    pub version: Option<i64>,
    /// Seed 000's `ext` of the user template; left out, the saved one stays.
    pub ext: Option<Value>,
}

/// A page as the merchant saves it: the template page's fields plus seed 000's `status` and `ext`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedPageSpec {
    pub page_key: String,
    pub name: String,
    #[serde(default)]
    pub config: Value,
    /// 1 shown (the default), 0 hidden.
    pub status: Option<i64>,
    pub ext: Option<Value>,
}

const PAGE_SHOWN: i64 = 1;

fn random_value() -> String {
    format!("up_{}", crate::random::hex(8))
}

fn random_page_id() -> String {
    format!("upc_{}", crate::random::hex(8))
}

pub async fn save(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: SaveRequest,
) -> AppResult<ConfigView> {
    rules::validate_config(&req.config)?;
    let specs: Vec<PageSpec> = req
        .pages
        .iter()
        .map(|p| PageSpec {
            page_key: p.page_key.clone(),
            name: p.name.clone(),
            config: p.config.clone(),
        })
        .collect();
    rules::validate_pages(&specs)?;
    if let Some(ext) = &req.ext {
        rules::validate_ext("ext", ext)?;
    }
    for p in &req.pages {
        if p.status.is_some_and(|s| s != 0 && s != PAGE_SHOWN) {
            return Err(AppError::BadRequest(format!(
                "status of page {} must be 1 (shown) or 0 (hidden)",
                p.page_key
            )));
        }
        if let Some(ext) = &p.ext {
            rules::validate_ext(&format!("ext of page {}", p.page_key), ext)?;
        }
    }
    let owner = decorating_merchant(deps, merchant, component, &req.ma_app_id).await?;
    // The merchant's config, even when an operator saves it on the merchant's behalf (hosting).
    let seller = owner.unwrap_or_else(|| merchant.sub.clone());
    let template = published(deps, component, &req.template_id).await?;
    if Platform::of(&req.ma_app_id) == Platform::Wechat && template.template_id.is_none() {
        return Err(AppError::Conflict(format!(
            "template {} is made for Alipay only: a WeChat mini-program needs one with WeChat code",
            template.id
        )));
    }
    let template_pages = industry::pages(&deps.table, component, &template.id).await?;
    if let Some(unknown) = req
        .pages
        .iter()
        .find(|p| !template_pages.iter().any(|t| t.page_key == p.page_key))
    {
        return Err(AppError::BadRequest(format!(
            "pageKey {} is not a page of template {}",
            unknown.page_key, template.id
        )));
    }
    let current = store::get(&deps.table, component, &req.ma_app_id).await?;
    let previous = match (&current, req.version) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(AppError::Conflict(
                "nothing is saved yet: omit version on the first save".into(),
            ))
        }
        (Some(_), None) => {
            return Err(AppError::Conflict(
                "a config is already saved: send its version".into(),
            ))
        }
        (Some(ut), Some(v)) if ut.version != v => {
            return Err(AppError::Conflict(format!(
                "version {v} is stale: the config changed meanwhile; reload it"
            )))
        }
        (Some(ut), Some(v)) => Some((ut, v)),
    };
    let existing = if current.is_some() {
        store::pages(&deps.table, component, &req.ma_app_id).await?
    } else {
        Vec::new()
    };
    let pages: Vec<UserPage> = req
        .pages
        .iter()
        .map(|p| {
            let before = existing.iter().find(|e| e.page_key == p.page_key);
            let page_value = before
                .map(|e| e.page_value.clone())
                .unwrap_or_else(random_value);
            UserPage {
                id: before.map(|e| e.id.clone()).unwrap_or_else(random_page_id),
                page_value,
                url: page_url(&p.page_key),
                page_key: p.page_key.clone(),
                name: p.name.clone(),
                config: p.config.clone(),
                status: p.status.or(before.map(|e| e.status)).unwrap_or(PAGE_SHOWN),
                ext: p
                    .ext
                    .clone()
                    .or_else(|| before.map(|e| e.ext.clone()))
                    .unwrap_or_else(|| Value::Object(Default::default())),
            }
        })
        .collect();
    let removed: Vec<String> = existing
        .iter()
        .filter(|e| !pages.iter().any(|p| p.page_key == e.page_key))
        .map(|e| e.page_key.clone())
        .collect();
    let plan = Save {
        component,
        seller_id: &seller,
        ma_app_id: &req.ma_app_id,
        template_id: &template.id,
        config: &req.config,
        ext: req.ext.as_ref(),
        pages: &pages,
        removed_pages: &removed,
        previous,
        now: now_secs(),
    };
    if store::transaction_size(&plan) > store::MAX_TRANSACTION_ITEMS {
        return Err(AppError::BadRequest(
            "too many page changes in one save; save fewer pages at once".into(),
        ));
    }
    if !store::save(&deps.table, &plan).await? {
        return Err(AppError::Conflict(
            "the config changed meanwhile or the template was withdrawn; reload it".into(),
        ));
    }
    query(deps, merchant, component, &req.ma_app_id, None).await
}

pub async fn page(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
    page_key: &str,
) -> AppResult<UserPage> {
    decorating_merchant(deps, merchant, component, appid).await?;
    let not_found = || AppError::NotFound(format!("page {page_key} of mini-program {appid}"));
    if store::get(&deps.table, component, appid).await?.is_none() {
        return Err(AppError::NotFound(format!(
            "saved config of mini-program {appid} (save one with /config/save)"
        )));
    }
    store::pages(&deps.table, component, appid)
        .await?
        .into_iter()
        .find(|p| p.page_key == page_key)
        .ok_or_else(not_found)
}

/// A mini-program nobody decorated gets the template's defaults as its saved config (a batch release needs one
/// to commit); false when someone saved a config meanwhile, which is kept.
pub async fn save_defaults(
    deps: &Deps,
    component: &str,
    appid: &str,
    seller_id: &str,
    template: &IndustryTemplate,
) -> AppResult<bool> {
    let pages: Vec<UserPage> = industry::pages(&deps.table, component, &template.id)
        .await?
        .into_iter()
        .map(|p| UserPage {
            id: random_page_id(),
            url: page_url(&p.page_key),
            page_key: p.page_key,
            page_value: random_value(),
            name: p.name,
            config: p.config,
            status: PAGE_SHOWN,
            ext: Value::Object(Default::default()),
        })
        .collect();
    let plan = Save {
        component,
        seller_id,
        ma_app_id: appid,
        template_id: &template.id,
        config: &template.config,
        ext: None,
        pages: &pages,
        removed_pages: &[],
        previous: None,
        now: now_secs(),
    };
    Ok(store::save(&deps.table, &plan).await?)
}
