//! GET /alipay/qrcode/rules — ordinary QR codes bound to pages (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::qrcode_rules).await
}
