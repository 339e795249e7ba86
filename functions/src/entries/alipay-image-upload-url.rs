//! POST /alipay/image/upload-url — a presigned PUT for an Alipay logo or audit screenshot (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::image_upload_url).await
}
