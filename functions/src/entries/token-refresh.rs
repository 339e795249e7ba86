//! Scheduled (EventBridge, every 5 minutes): refresh tokens nearing expiry and reconcile refresh tokens.
#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_job(wxtpl::services::refresh_job::run).await
}
