//! POST /alipay/qrcode — a code for any page of an Alipay mini-program, kept in S3 (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::qrcode).await
}
