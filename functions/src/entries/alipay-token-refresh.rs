//! Scheduled (EventBridge, hourly): merchants' Alipay tokens refreshed a month before they expire.
#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_job(wxtpl::services::alipay_refresh::run).await
}
