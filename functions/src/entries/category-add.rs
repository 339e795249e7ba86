//! POST /category/add — add categories (merchant; operator while hosted).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::basic_info::add_categories).await
}
