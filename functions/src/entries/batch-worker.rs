//! SQS: the batch release worker — expands batches into targets and moves each target on (partial batch responses).
#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_queue(wxtpl::jobs::batch::handle).await
}
