//! `GET /alipay/miniprogram/list`: the workspace's Alipay mini-programs (a merchant its own), a page at a time in id
//! order. A merchant's are picked out of pages of the workspace's within a budget of records per request, like the
//! WeChat listing's filters: a page may be short while `nextCursor` is set, never a full load.
use serde::Serialize;

use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::error::{AppError, AppResult};
use crate::store::alipay::{self as store, Summary};

/// At most this many records are examined for one merchant's request.
const SCAN_BUDGET: usize = 2_000;
const FILTER_PAGE: i32 = 200;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub items: Vec<Summary>,
    pub next_cursor: Option<String>,
}

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
            Ok(Found {
                items: page.items,
                next_cursor: page.next_cursor,
            })
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
                        let last = &items[items.len() - 1].mini_app_id;
                        return Ok(Found {
                            next_cursor: Some(cursor_after(last)),
                            items,
                        });
                    }
                }
                cursor = page.next_cursor;
                if !more || examined >= SCAN_BUDGET {
                    return Ok(Found {
                        items,
                        next_cursor: cursor,
                    });
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
