//! GET /miniprogram/privacy — the privacy guide's owner contact and what WeChat holds (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::privacy::view).await
}
