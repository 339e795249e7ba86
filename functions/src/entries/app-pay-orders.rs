//! GET /app/pay/orders — a customer's orders, newest first, or every order of a mini-program (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::pay_orders).await
}
