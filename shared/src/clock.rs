//! Wall-clock helpers; one place so every module agrees on units.
pub fn now_secs() -> i64 {
    now_millis() / 1000
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

tokio::task_local! {
    /// When the current invocation must have answered (ms since the epoch), from Lambda's context.
    static DEADLINE_MS: i64;
}

/// Runs `fut` with the invocation's deadline in scope, so retries deep below can respect it.
pub async fn with_deadline<F: std::future::Future>(deadline_ms: i64, fut: F) -> F::Output {
    DEADLINE_MS.scope(deadline_ms, fut).await
}

/// Milliseconds left before the invocation's deadline; `None` outside an invocation (tests, tools).
pub fn time_left_ms() -> Option<i64> {
    DEADLINE_MS.try_with(|d| *d - now_millis()).ok()
}
