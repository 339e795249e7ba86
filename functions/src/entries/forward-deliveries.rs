//! GET /forward/deliveries — what became of each forward of a rule (admin, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::forwarding::deliveries).await
}
