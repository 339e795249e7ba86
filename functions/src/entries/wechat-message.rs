//! GET|POST /wechat/{componentAppid}/{authorizerAppid}/callback — WeChat's message and event URL.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Backend, wxtpl::api::callbacks::message).await
}
