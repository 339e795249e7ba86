//! GET /qrcodejump/verify-file — the verification file a jump rule's domain must serve (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::jump_rules::verify_file).await
}
