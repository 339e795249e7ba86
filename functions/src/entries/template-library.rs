//! GET /template/library — WeChat's code template library with its 200 cap (developer, operator, admin).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::templates::library).await
}
