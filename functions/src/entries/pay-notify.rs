//! POST /pay/notify/{componentAppid} — WeChat Pay's payment notification: verified, decrypted, paid once.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Backend, wxtpl::api::pay::notify).await
}
