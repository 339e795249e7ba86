//! POST /batch/release — release one template to many mini-programs of the component (operator), 202 with the batch id
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::batches::release).await
}
