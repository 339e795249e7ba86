//! Queue-driven work: the batch release worker (with its audit-quota watch) and the forward worker.
use futures::stream::{self, StreamExt};

use crate::error::AppResult;
use crate::lambda::QueueRecord;

pub mod audit_quota;
pub mod batch;
pub mod forward;

/// WeChat failed for a passing reason (busy, unreachable, over its rate) or a token refresh is under way: worth
/// trying again later rather than giving up.
pub fn passing_wechat_failure(err: &crate::error::AppError) -> bool {
    use crate::error::AppError;
    use crate::wechat::errcode;
    match err {
        AppError::Upstream(e) => {
            e.is_transient()
                || matches!(
                    e.errcode(),
                    Some(errcode::DAILY_QUOTA | errcode::TOO_FREQUENT)
                )
        }
        AppError::TokenBusy => true,
        _ => false,
    }
}

/// Runs `one` on the body of each record, `concurrency` at a time, and answers the ids of those that failed: Lambda's
/// partial batch response, so SQS delivers just those again.
pub async fn each_record<F, Fut>(
    records: Vec<QueueRecord>,
    concurrency: usize,
    queue: &'static str,
    one: F,
) -> Vec<String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    stream::iter(records)
        .map(|r| {
            let done = one(r.body);
            let id = r.message_id;
            async move {
                match done.await {
                    Ok(()) => None,
                    Err(e) => {
                        tracing::warn!(message_id = %id, error = %crate::error::chain(&e),
                            "{queue} message failed: SQS delivers it again");
                        Some(id)
                    }
                }
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|failed| async move { failed })
        .collect()
        .await
}
