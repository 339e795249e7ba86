//! POST /app/chat/send — a chat message, numbered after the last; a retried clientMsgId is one message.
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::chat_send).await
}
