//! POST /batch/cancel — end a batch; unfinished targets are marked cancelled (operator)
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::batches::cancel).await
}
