//! POST /code/audit/undo — withdraw the open audit (merchant; WeChat allows 5 a day, 10 a month).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::code::audit_undo).await
}
