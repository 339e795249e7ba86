//! WebSocket $connect — a customer or staff login opens the chat's push channel (its session authenticates it).
#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_socket(wxtpl::services::chat_sockets::connect).await
}
