//! POST /code/audit/speedup — ask WeChat to speed up the open audit (merchant).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::code::audit_speedup).await
}
