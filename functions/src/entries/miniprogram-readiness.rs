//! GET /miniprogram/readiness — categories, privacy contact and ICP filing, asked of WeChat now (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::privacy::readiness).await
}
