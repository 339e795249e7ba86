//! POST /alipay/qrcode/bind — bind an ordinary QR code to a page (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::qrcode_bind).await
}
