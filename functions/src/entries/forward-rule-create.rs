//! POST /forward/rule/create — a forwarding rule; its signing secret is shown once (admin, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::forwarding::create).await
}
