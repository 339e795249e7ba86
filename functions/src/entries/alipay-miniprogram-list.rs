//! GET /alipay/miniprogram/list — the workspace's Alipay mini-programs, a merchant its own (merchant, operator, admin).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::mini_programs).await
}
