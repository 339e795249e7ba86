//! GET /app/settings — the shop's basic settings (a customer session, or merchant and operator with maAppId).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::settings).await
}
