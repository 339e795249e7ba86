//! POST /basicinfo/avatar/upload-url — a presigned PUT for a new head image (merchant; operator while hosted).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::basic_info::avatar_upload).await
}
