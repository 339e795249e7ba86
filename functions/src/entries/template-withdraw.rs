//! POST /template/withdraw — operator takes a template off the market (2 → 1).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::templates::withdraw).await
}
