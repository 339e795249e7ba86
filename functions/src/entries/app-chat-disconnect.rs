//! WebSocket $disconnect — the chat connection is forgotten.
#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_socket(wxtpl::services::chat_sockets::disconnect).await
}
