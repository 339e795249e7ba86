//! GET /alipay/auth/link — Alipay's consent link for a merchant (merchant, operator, admin).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::link).await
}
