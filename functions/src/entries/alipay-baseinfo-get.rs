//! GET /alipay/baseinfo — an Alipay mini-program's base info, asked of Alipay (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::base_info).await
}
