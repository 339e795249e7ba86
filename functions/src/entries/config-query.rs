//! GET /config/query — the merchant's saved config, or a published template's defaults.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::decoration::config_query).await
}
