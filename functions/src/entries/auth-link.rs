//! GET /auth/link — the WeChat authorization link for a merchant (pc or h5).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::merchants::link).await
}
