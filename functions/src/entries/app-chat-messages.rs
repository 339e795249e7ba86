//! GET /app/chat/messages — new messages since a cursor, or history 20 a page (either side).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::chat_messages).await
}
