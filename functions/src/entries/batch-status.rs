//! GET /batch/status — a batch's state, counts by target state and one page of its targets (operator)
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::batches::status).await
}
