//! The scheduled token refresher, built for components with 10,000 mini-programs: component tokens and one page of
//! WeChat's authorizer list (restoring refresh tokens missing from our store) first, then the authorizer tokens the
//! expiry index says are due (every shard, `CONCURRENCY` at a time), then one page of a rolling pass over each
//! component's authorizers (indexing tokens written before the index, catching any token the index missed). It
//! never loads a whole partition and stops starting work near its invocation's deadline; the next run goes on.
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::services::tokens::{self, SCHEDULED_REFRESH_MARGIN_SECS};
use crate::store::tokens::{self as token_store, RefreshPass, Subject};
use crate::store::{authorizers, components};

const CONCURRENCY: usize = 32;
const DUE_PAGE: i32 = 200;
const PASS_PAGE: i32 = 500;
const LIST_PAGE: i64 = 500;
/// No new work starts when less than this is left of the invocation.
const RESERVE_MS: i64 = 10_000;
/// At most this many failures are listed in the summary (all are logged).
const FAILURES_LISTED: usize = 20;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RefreshSummary {
    pub components: usize,
    /// Registered components WeChat has not pushed a ticket to yet (skipped: their set-up is not finished).
    pub awaiting_first_ticket: usize,
    pub component_tokens_refreshed: usize,
    pub authorizer_tokens_due: usize,
    pub authorizer_tokens_refreshed: usize,
    pub tokens_indexed: usize,
    pub reauthorization_required: Vec<String>,
    pub refresh_tokens_restored: usize,
    pub budget_spent: bool,
    pub failures: Vec<String>,
}

impl RefreshSummary {
    fn fail(&mut self, what: String) {
        tracing::warn!(failure = %what, "token refresh");
        if self.failures.len() < FAILURES_LISTED {
            self.failures.push(what);
        }
    }
}

fn budget_left() -> bool {
    crate::clock::time_left_ms().is_none_or(|left| left >= RESERVE_MS)
}

pub async fn run(deps: &Deps) -> AppResult<RefreshSummary> {
    let mut summary = RefreshSummary::default();
    let mut ready = Vec::new();
    for component in components::list_all(&deps.table).await? {
        summary.components += 1;
        let appid = component.appid;
        if !ticket_age(deps, &appid).await {
            // Registered, but WeChat has never pushed it a ticket (its platform settings are not done yet): there
            // is nothing to refresh with, and it is its tenant's set-up step, not a failure to alarm on.
            summary.awaiting_first_ticket += 1;
            continue;
        }
        match tokens::refresh_if_due(deps, &appid, Subject::Component).await {
            Ok(true) => summary.component_tokens_refreshed += 1,
            Ok(false) => {}
            Err(e) => {
                summary.fail(format!("{appid} component token: {e}"));
                continue; // nothing else works without it
            }
        }
        // A refresh token restored now is used by the refresh below.
        let mut pass = token_store::refresh_pass(&deps.table, &appid).await?;
        if let Err(e) = reconcile(deps, &appid, &mut pass, &mut summary).await {
            summary.fail(format!("{appid} reconcile: {e}"));
        }
        ready.push((appid, pass));
    }
    refresh_due(deps, &mut summary).await;
    for (appid, mut pass) in ready {
        if budget_left() {
            if let Err(e) = rolling_pass(deps, &appid, &mut pass, &mut summary).await {
                summary.fail(format!("{appid} rolling pass: {e}"));
            }
        } else {
            summary.budget_spent = true;
        }
        // Saved either way: the reconcile above moved on.
        token_store::save_refresh_pass(&deps.table, &appid, &pass).await?;
    }
    tracing::info!(?summary, "token refresh finished");
    Ok(summary)
}

/// How old the component's verify ticket is (the `VerifyTicketAge` metric, alarmed on past 30 minutes: WeChat
/// pushes one every 10). False for a component that never had one: it is reported as 12 hours old (the ticket's
/// whole lifetime) under its own dimension only, so that a tenant's unfinished set-up does not page the operator.
async fn ticket_age(deps: &Deps, component: &str) -> bool {
    let age = match components::get_ticket(&deps.table, component).await {
        Ok(Some(t)) => now_secs() - t.received_at.max(t.create_time),
        Ok(None) => {
            let age = components::TICKET_LIFETIME_SECS;
            crate::metrics::seconds("VerifyTicketAge", &[("Component", component)], age);
            return false;
        }
        Err(e) => {
            tracing::warn!(component, error = %e, "verify ticket not read");
            return true;
        }
    };
    crate::metrics::seconds("VerifyTicketAge", &[("Component", component)], age);
    // Without a dimension too, so that one alarm covers every component.
    crate::metrics::seconds("VerifyTicketAgeAny", &[], age);
    true
}

/// Refreshes every authorizer token of every component that expires within the margin.
async fn refresh_due(deps: &Deps, summary: &mut RefreshSummary) {
    let before = now_secs() + SCHEDULED_REFRESH_MARGIN_SECS;
    let mut partitions: Vec<(String, Option<crate::store::item::Item>)> =
        token_store::due_partitions()
            .into_iter()
            .map(|p| (p, None))
            .collect();
    let mut seen = std::collections::HashSet::new();
    while !partitions.is_empty() {
        if !budget_left() {
            summary.budget_spent = true;
            return;
        }
        let mut work = Vec::new();
        let mut next_round = Vec::new();
        for (partition, start) in partitions {
            match token_store::due_authorizer_tokens(
                &deps.table,
                &partition,
                before,
                DUE_PAGE,
                start,
            )
            .await
            {
                Ok((due, next)) => {
                    work.extend(due.into_iter().filter(|d| seen.insert(d.clone())));
                    if next.is_some() {
                        next_round.push((partition, next));
                    }
                }
                Err(e) => summary.fail(format!("{partition}: {e}")),
            }
        }
        partitions = next_round;
        summary.authorizer_tokens_due += work.len();
        refresh_all(deps, work, summary).await;
    }
}

/// Refreshes the given (component, authorizer) tokens that are due, `CONCURRENCY` at a time.
async fn refresh_all(deps: &Deps, work: Vec<(String, String)>, summary: &mut RefreshSummary) {
    let results: Vec<((String, String), AppResult<bool>)> = stream::iter(work)
        .map(|(component, authorizer)| async move {
            let r = if budget_left() {
                tokens::refresh_if_due(deps, &component, Subject::Authorizer(&authorizer)).await
            } else {
                Ok(false) // still due: the next run takes it
            };
            ((component, authorizer), r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for ((component, authorizer), result) in results {
        match result {
            Ok(true) => summary.authorizer_tokens_refreshed += 1,
            Ok(false) => {}
            Err(AppError::ReauthorizationRequired(_)) | Err(AppError::NotAuthorized(_)) => {
                // Nothing to refresh until the merchant authorizes again (which indexes the new token).
                if let Err(e) =
                    token_store::unindex_authorizer_token(&deps.table, &component, &authorizer)
                        .await
                {
                    summary.fail(format!("{component}/{authorizer} unindex: {e}"));
                }
                summary.reauthorization_required.push(authorizer);
            }
            Err(e) => summary.fail(format!("{component}/{authorizer}: {e}")),
        }
    }
}

/// One page of the component's authorizer records: tokens not yet in the expiry index are indexed (or refreshed
/// when due), so that nothing the index misses goes stale. Indexed tokens are left to the index.
async fn rolling_pass(
    deps: &Deps,
    component: &str,
    pass: &mut RefreshPass,
    summary: &mut RefreshSummary,
) -> AppResult<()> {
    let page = authorizers::list(&deps.table, component, PASS_PAGE, pass.cursor.as_deref()).await?;
    pass.cursor = page.next_cursor;
    let authorized: Vec<String> = page
        .items
        .into_iter()
        .filter(|a| a.status == authorizers::STATUS_AUTHORIZED)
        .map(|a| a.appid)
        .collect();
    /// What the pass found of one authorized mini-program's token.
    enum Found {
        InIndex,
        JustIndexed,
        Due(String),
    }
    let found: Vec<Found> = stream::iter(authorized)
        .map(|a| async move {
            let stored = token_store::get(&deps.table, component, Subject::Authorizer(&a)).await;
            match stored {
                Ok(Some(t)) if t.indexed => Found::InIndex,
                Ok(Some(t)) if t.expires_at > now_secs() + SCHEDULED_REFRESH_MARGIN_SECS => {
                    let indexed = token_store::index_authorizer_token(
                        &deps.table,
                        component,
                        &a,
                        t.expires_at,
                    )
                    .await;
                    match indexed {
                        Ok(true) => Found::JustIndexed,
                        _ => Found::Due(a), // changed meanwhile: let the refresh decide
                    }
                }
                // Missing, expiring or unreadable: the refresh reads it again and decides.
                _ => Found::Due(a),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut due = Vec::new();
    for f in found {
        match f {
            Found::InIndex => {}
            Found::JustIndexed => summary.tokens_indexed += 1,
            Found::Due(a) => due.push((component.to_owned(), a)),
        }
    }
    summary.authorizer_tokens_due += due.len();
    refresh_all(deps, due, summary).await;
    Ok(())
}

/// One page of WeChat's authorizer list: restores any refresh token we lack (never replaces one we have).
async fn reconcile(
    deps: &Deps,
    component: &str,
    pass: &mut RefreshPass,
    summary: &mut RefreshSummary,
) -> AppResult<()> {
    let offset = pass.offset;
    let page = tokens::with_component_token(deps, component, |cat| async move {
        deps.wechat
            .authorizer_list(&cat, component, offset, LIST_PAGE)
            .await
    })
    .await?;
    pass.offset = if page.list.is_empty() || offset + (page.list.len() as i64) >= page.total_count {
        0
    } else {
        offset + page.list.len() as i64
    };
    let restored: Vec<AppResult<bool>> = stream::iter(page.list)
        .map(|item| async move {
            let known = authorizers::get(&deps.table, component, &item.authorizer_appid).await?;
            if known.as_ref().is_some_and(|a| a.refresh_token.is_some()) {
                return Ok(false);
            }
            let restored = authorizers::restore_refresh_token(
                &deps.table,
                component,
                &item.authorizer_appid,
                &item.refresh_token,
                item.auth_time,
                now_millis(),
            )
            .await?;
            if restored {
                tracing::warn!(component, authorizer = %item.authorizer_appid, "refresh token restored from WeChat's list");
            }
            Ok(restored)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for r in restored {
        if r? {
            summary.refresh_tokens_restored += 1;
        }
    }
    Ok(())
}
