//! GET /app/pay/order — the customer's order, looked up at WeChat Pay while unpaid.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::pay_order).await
}
