//! POST /basicinfo/avatar — the uploaded image becomes the head image (merchant; operator while hosted).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::basic_info::avatar).await
}
