//! GET /forward/rule/list — the component's forwarding rules (admin, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::forwarding::list).await
}
