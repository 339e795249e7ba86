//! GET /app/chat/unread — what the caller has not read, of one conversation or all (seed query_num).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::runtime::chat_unread).await
}
