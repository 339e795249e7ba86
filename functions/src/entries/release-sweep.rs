//! Scheduled (EventBridge, every 5 minutes): submit audits that waited for the privacy scan, poll audits that got
//! no result event, republish events the bus did not take.
#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_job(wxtpl::pipeline::audit::sweep).await
}
