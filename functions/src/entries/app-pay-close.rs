//! POST /app/pay/close — the customer's unpaid order closed at WeChat Pay and here.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::pay_close).await
}
