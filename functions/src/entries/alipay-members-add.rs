//! POST /alipay/members/add — invite a developer or experiencer by Alipay login (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::members_add).await
}
