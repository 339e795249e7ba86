//! POST /app/pay/prepay — an order at the shop's stored prices, and what wx.requestPayment needs.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::pay_prepay).await
}
