//! POST /batch/pause — stop a running batch's targets at their next step (operator)
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::batches::pause).await
}
