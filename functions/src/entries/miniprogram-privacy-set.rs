//! POST /miniprogram/privacy — sets the privacy guide's owner contact (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::privacy::set).await
}
