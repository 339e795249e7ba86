//! POST /tenant/signup — a new tenant and its first admin (public, braked per source).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::onboarding::signup).await
}
