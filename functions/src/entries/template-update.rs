//! POST /template/update — developers edit config/pages in status 0, operators desc/img in status 1.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::templates::update).await
}
