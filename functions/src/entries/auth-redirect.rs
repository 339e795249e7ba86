//! GET /auth/redirect — WeChat's redirect after consent; links the mini-program to the merchant.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::merchants::redirect).await
}
