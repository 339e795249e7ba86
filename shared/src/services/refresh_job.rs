//! The scheduled token refresher: component tokens, then every authorized mini-program's token nearing expiry
//! (bounded concurrency), then a reconcile pass that restores refresh tokens missing from our store.
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::clock::now_millis;
use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::services::tokens;
use crate::store::tokens::Subject;
use crate::store::{authorizers, components};

const CONCURRENCY: usize = 8;
const LIST_PAGE: i64 = 500;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RefreshSummary {
    pub components: usize,
    pub component_tokens_refreshed: usize,
    pub authorizer_tokens_refreshed: usize,
    pub reauthorization_required: Vec<String>,
    pub refresh_tokens_restored: usize,
    pub failures: Vec<String>,
}

pub async fn run(deps: &Deps) -> AppResult<RefreshSummary> {
    let mut summary = RefreshSummary::default();
    for component in components::list_all(&deps.table).await? {
        summary.components += 1;
        let appid = component.appid.as_str();
        match tokens::refresh_if_due(deps, appid, Subject::Component).await {
            Ok(true) => summary.component_tokens_refreshed += 1,
            Ok(false) => {}
            Err(e) => {
                summary
                    .failures
                    .push(format!("{appid} component token: {e}"));
                continue; // nothing else works without it
            }
        }
        if let Err(e) = reconcile(deps, appid, &mut summary).await {
            summary.failures.push(format!("{appid} reconcile: {e}"));
        }
        let authorized: Vec<String> = authorizers::list_all(&deps.table, appid)
            .await?
            .into_iter()
            .filter(|a| a.status == authorizers::STATUS_AUTHORIZED)
            .map(|a| a.appid)
            .collect();
        let results: Vec<(String, AppResult<bool>)> = stream::iter(authorized)
            .map(|a| async move {
                let r = tokens::refresh_if_due(deps, appid, Subject::Authorizer(&a)).await;
                (a, r)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (authorizer, result) in results {
            match result {
                Ok(true) => summary.authorizer_tokens_refreshed += 1,
                Ok(false) => {}
                Err(AppError::ReauthorizationRequired(a)) => {
                    summary.reauthorization_required.push(a)
                }
                Err(e) => summary.failures.push(format!("{appid}/{authorizer}: {e}")),
            }
        }
    }
    tracing::info!(?summary, "token refresh finished");
    Ok(summary)
}

/// Pulls WeChat's authorizer list and restores any refresh token we lack (never replaces one we have).
async fn reconcile(deps: &Deps, component: &str, summary: &mut RefreshSummary) -> AppResult<()> {
    let mut offset = 0;
    loop {
        let page = tokens::with_component_token(deps, component, |cat| async move {
            deps.wechat
                .authorizer_list(&cat, component, offset, LIST_PAGE)
                .await
        })
        .await?;
        for item in &page.list {
            let known = authorizers::get(&deps.table, component, &item.authorizer_appid).await?;
            if known.as_ref().is_some_and(|a| a.refresh_token.is_some()) {
                continue;
            }
            if authorizers::restore_refresh_token(
                &deps.table,
                component,
                &item.authorizer_appid,
                &item.refresh_token,
                item.auth_time,
                now_millis(),
            )
            .await?
            {
                tracing::warn!(component, authorizer = %item.authorizer_appid, "refresh token restored from WeChat's list");
                summary.refresh_tokens_restored += 1;
            }
        }
        offset += page.list.len() as i64;
        if page.list.is_empty() || offset >= page.total_count {
            return Ok(());
        }
    }
}
