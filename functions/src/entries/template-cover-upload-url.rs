//! POST /template/cover/upload-url — presigned PUT for a cover image (operator, status 1).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::templates::cover_upload_url).await
}
