//! GET /authorizer/info — live basic info of one mini-program (authorizer token).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::authorizer::info).await
}
