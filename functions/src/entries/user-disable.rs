//! POST /user/disable — an admin disables a user of the tenant; their sessions end (admin).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::users::disable).await
}
