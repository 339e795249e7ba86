//! GET /alipay/auth/redirect — Alipay sends the merchant back with app_auth_code (no JWT).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::redirect).await
}
