//! POST /app/chat/upload — a presigned PUT for a chat image or video, type and size signed in.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::chat_upload).await
}
