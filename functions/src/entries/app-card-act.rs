//! POST /app/card/act — a call, a saved WeChat id or a forward, counted on the card (a customer session).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::act).await
}
