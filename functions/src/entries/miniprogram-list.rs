//! GET /miniprogram/list — a merchant's own mini-programs (admins: all).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::merchants::list).await
}
