//! POST /alipay/qrcode/unbind — unbind an ordinary QR code rule (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::alipay::qrcode_unbind).await
}
