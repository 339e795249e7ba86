//! Scheduled: merchants' Alipay tokens refreshed a month before they expire (`alipay.open.auth.token.app` with the
//! refresh token), walking the due index shard by shard, a page at a time, a few at once, within the invocation's
//! time. A refresh token Alipay no longer accepts takes the authorization out of the index until the merchant
//! authorizes again; anything else is tried again next run.
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::alipay::client::{self as alipay, AlipayError, Grant};
use crate::clock::{now_millis, now_secs, time_left_ms};
use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::services::alipay_auth::{app_of, authorization_of};
use crate::store::alipay::{self as store, Due, DUE_SHARDS};

const PAGE: i32 = 25;
const AT_ONCE: usize = 4;
/// Stop starting pages with less than this left of the invocation.
const RESERVE_MS: i64 = 15_000;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlipayRefreshSummary {
    pub refreshed: usize,
    pub reauthorization_required: usize,
    pub failed: usize,
    /// The run stopped for time with pages left: the next run goes on.
    pub budget_spent: bool,
    pub failures: Vec<String>,
}

enum Outcome {
    Refreshed,
    /// Gone, or newer tokens arrived meanwhile.
    Skipped,
    ReauthorizationRequired,
    Failed(String),
}

fn budget_left() -> bool {
    time_left_ms().is_none_or(|left| left >= RESERVE_MS)
}

pub async fn run(deps: &Deps) -> AppResult<AlipayRefreshSummary> {
    let mut summary = AlipayRefreshSummary::default();
    let now = now_secs();
    'shards: for shard in 0..DUE_SHARDS {
        let mut start = None;
        loop {
            if !budget_left() {
                summary.budget_spent = true;
                break 'shards;
            }
            let (due, next) = store::due_page(&deps.table, shard, now, PAGE, start).await?;
            let outcomes: Vec<(Due, Outcome)> = stream::iter(due)
                .map(|d| async move {
                    let outcome = refresh(deps, &d).await;
                    (d, outcome)
                })
                .buffer_unordered(AT_ONCE)
                .collect()
                .await;
            for (d, outcome) in outcomes {
                match outcome {
                    Outcome::Refreshed => summary.refreshed += 1,
                    Outcome::Skipped => {}
                    Outcome::ReauthorizationRequired => summary.reauthorization_required += 1,
                    Outcome::Failed(why) => {
                        summary.failed += 1;
                        summary
                            .failures
                            .push(format!("{} {}: {why}", d.component, d.mini_app_id));
                    }
                }
            }
            start = next;
            if start.is_none() {
                break;
            }
        }
    }
    crate::metrics::count_n("AlipayTokensRefreshed", &[], summary.refreshed as f64);
    crate::metrics::count_n("AlipayTokenRefreshFailures", &[], summary.failed as f64);
    tracing::info!(?summary, "Alipay token refresh finished");
    Ok(summary)
}

async fn refresh(deps: &Deps, due: &Due) -> Outcome {
    match try_refresh(deps, due).await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Failed(crate::http::response::public_message(&e)),
    }
}

async fn try_refresh(deps: &Deps, due: &Due) -> AppResult<Outcome> {
    let Some(current) = store::authorization(&deps.table, &due.component, &due.mini_app_id).await?
    else {
        return Ok(Outcome::Skipped);
    };
    let app = app_of(deps, &due.component).await?;
    let answer = deps
        .alipay
        .token_app(&app, Grant::RefreshToken(&current.app_refresh_token))
        .await;
    let answer = match answer {
        Ok(a) => a,
        // A business refusal of the refresh token itself: only the merchant can mend it.
        Err(AlipayError::Refused { code, .. }) if code == alipay::BUSINESS_FAILED => {
            let marked = store::mark_reauthorization_required(
                &deps.table,
                &due.component,
                &due.mini_app_id,
                &current.app_refresh_token,
            )
            .await?;
            return Ok(if marked {
                Outcome::ReauthorizationRequired
            } else {
                Outcome::Skipped
            });
        }
        Err(e) => return Err(AppError::Alipay(e)),
    };
    let fresh = authorization_of(&answer, &app.app_id, None, now_millis())?;
    Ok(
        match store::save_authorization(&deps.table, &due.component, &fresh).await? {
            Some(_) => Outcome::Refreshed,
            None => Outcome::Skipped,
        },
    )
}
