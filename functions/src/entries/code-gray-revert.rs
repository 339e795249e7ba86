//! POST /code/gray/revert — stop the gray release (merchant, operator).
use wxtpl::deps::Needs;

#[tokio::main]
pub async fn main() -> Result<(), wxtpl::lambda::BoxError> {
    wxtpl::lambda::serve_http(Needs::Api, wxtpl::api::code::gray_revert).await
}
