//! POST /miniprogram/unlink — an admin takes a mini-program away from its merchant.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::merchants::unlink).await
}
