//! POST /qrcodejump/publish — publish an ordinary-QR jump rule (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::jump_rules::publish).await
}
