//! POST /pay/merchant — an admin registers the provider's WeChat Pay merchant for a component.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::pay::register_merchant).await
}
