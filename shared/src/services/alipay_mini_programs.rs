//! `GET /alipay/miniprogram/list`: the workspace's Alipay mini-programs (a merchant its own), a page at a time in id
//! order. A merchant's are picked out of pages of the workspace's within a budget of records per request, like the
//! WeChat listing's filters: a page may be short while `nextCursor` is set, never a full load.
use serde::Serialize;

use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::error::{AppError, AppResult};
use crate::store::alipay::{self as store, Summary};
use crate::store::listing;

/// At most this many records are examined for one merchant's request.
const SCAN_BUDGET: usize = 2_000;
const FILTER_PAGE: i32 = 200;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub items: Vec<Listed>,
    pub next_cursor: Option<String>,
}

/// An Alipay mini-program as listed: its authorization, and where its release stands (`none` before any saved
/// decoration), read for the whole page in one batch.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    #[serde(flatten)]
    pub authorization: Summary,
    pub release_state: String,
    pub template_id: Option<String>,
    pub audit_reason: Option<String>,
    pub trial_version: Option<String>,
    pub online_version: Option<String>,
}

/// The page's release facts, one BatchGetItem.
async fn with_release(deps: &Deps, component: &str, found: Page) -> AppResult<Found> {
    let ids: Vec<&str> = found.0.iter().map(|s| s.mini_app_id.as_str()).collect();
    let mut facts = listing::read(&deps.table, component, &ids).await?;
    let items = found
        .0
        .into_iter()
        .map(|authorization| {
            let release = facts
                .remove(&authorization.mini_app_id)
                .and_then(|f| f.release);
            Listed {
                release_state: release
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |r| r.state.clone()),
                template_id: release.as_ref().and_then(|r| r.template_id.clone()),
                audit_reason: release.as_ref().and_then(|r| r.audit_reason.clone()),
                trial_version: release.as_ref().and_then(|r| r.trial_version.clone()),
                online_version: release.and_then(|r| r.online_version),
                authorization,
            }
        })
        .collect();
    Ok(Found {
        items,
        next_cursor: found.1,
    })
}

/// A page of authorizations and where to go on.
type Page = (Vec<Summary>, Option<String>);

pub async fn find(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    limit: usize,
    cursor: Option<&str>,
) -> AppResult<Found> {
    match caller.role {
        Role::Operator | Role::Admin => {
            let page = store::list(&deps.table, component, limit as i32, cursor).await?;
            with_release(deps, component, (page.items, page.next_cursor)).await
        }
        Role::Merchant => {
            let mut items = Vec::new();
            let mut cursor = cursor.map(str::to_owned);
            let mut examined = 0;
            loop {
                let page =
                    store::list(&deps.table, component, FILTER_PAGE, cursor.as_deref()).await?;
                examined += FILTER_PAGE as usize;
                let more = page.next_cursor.is_some();
                for s in page.items {
                    if s.merchant.as_deref() != Some(caller.sub.as_str()) {
                        continue;
                    }
                    items.push(s);
                    if items.len() == limit {
                        // Full: go on after the last one listed.
                        let last = cursor_after(&items[items.len() - 1].mini_app_id);
                        return with_release(deps, component, (items, Some(last))).await;
                    }
                }
                cursor = page.next_cursor;
                if !more || examined >= SCAN_BUDGET {
                    return with_release(deps, component, (items, cursor)).await;
                }
            }
        }
        Role::Developer => Err(AppError::Forbidden(
            "role developer may not call this route".into(),
        )),
    }
}

/// The cursor of a listing that stopped after `mini_app_id` (the form the store's pages use).
fn cursor_after(mini_app_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("ALIPAYAUTH#{mini_app_id}"))
}
