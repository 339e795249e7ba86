//! POST /category/modify — new qualifications for a category whose review failed (merchant; operator while hosted).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::basic_info::modify_category).await
}
