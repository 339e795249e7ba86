//! POST /auth/login — account and password to a bearer JWT, with a brute-force brake.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::users::login).await
}
