//! GET /basicinfo — a mini-program's name, signature and head image with their change quotas (merchant; operator while hosted).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::basic_info::info).await
}
