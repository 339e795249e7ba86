//! GET /app/products — products a page at a time, or a category's shelf (a customer, or staff with maAppId).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::products).await
}
