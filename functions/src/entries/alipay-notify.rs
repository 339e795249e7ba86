//! POST /alipay/{appId}/notify — Alipay's notifications: authorization, its cancellation, audit results (Alipay).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::notify).await
}
