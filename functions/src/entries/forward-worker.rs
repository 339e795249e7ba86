//! SQS: the forward worker — posts each forwarded push, signed, and tries again with back-off (partial batch responses).
#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_queue(wxtpl::jobs::forward::handle).await
}
