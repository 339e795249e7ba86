//! GET /qrcodejump/list — the mini-program's ordinary-QR jump rules (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::jump_rules::list).await
}
