//! GET|POST /wechat/{componentAppid}/auth-event — WeChat's authorization event URL.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Backend, wxtpl::api::callbacks::auth_event).await
}
