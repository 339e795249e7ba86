//! POST /template/delete — delete at WeChat and here, refused while in use (developer).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::templates::delete).await
}
