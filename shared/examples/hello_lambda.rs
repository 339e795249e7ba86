//! Baseline for cold-start measurements: a lambda_http function that builds nothing at init.
use lambda_http::{service_fn, Body, Request, Response};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Ok::<_, lambda_http::Error>(Response::new(Body::from("hello")))
    }))
    .await
}
