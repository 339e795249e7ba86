//! Runs a handler as a Lambda function: telemetry and `Deps` once per cold start, then the event loop.
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use std::future::Future;

use crate::deps::{Deps, Needs};
use crate::services::tokens::remembering;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn init(needs: Needs) -> Result<&'static Deps, BoxError> {
    crate::telemetry::init();
    let deps = Deps::from_env(needs).await.map_err(|e| {
        tracing::error!(error = %e, "init failed");
        e
    })?;
    // Lives for the whole process, like the Lambda execution environment.
    Ok(Box::leak(Box::new(deps)))
}

/// Serves an API Gateway HTTP API route.
pub async fn serve_http<F, Fut>(needs: Needs, handler: F) -> Result<(), BoxError>
where
    F: Fn(&'static Deps, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    use tracing::Instrument;
    let deps = init(needs).await?;
    lambda_http::run(service_fn(|req: Request| {
        let deadline = req
            .lambda_context_ref()
            .map(|c| c.deadline as i64)
            .unwrap_or_else(|| crate::clock::now_millis() + 10_000);
        // Every line logged while the request runs carries its route; the last one says how it ended.
        let span = tracing::info_span!("request", route = %crate::http::request::route(&req));
        let started = std::time::Instant::now();
        let fut = crate::clock::with_deadline(deadline, remembering(handler(deps, req)));
        async move {
            let response = fut.await;
            tracing::info!(
                status = response.status().as_u16(),
                latency_ms = started.elapsed().as_millis() as u64,
                "request done"
            );
            Ok::<_, std::convert::Infallible>(response)
        }
        .instrument(span)
    }))
    .await
}

/// Serves a scheduled (EventBridge) job; the event payload is ignored.
pub async fn serve_job<F, Fut, T>(job: F) -> Result<(), BoxError>
where
    F: Fn(&'static Deps) -> Fut,
    Fut: Future<Output = crate::error::AppResult<T>> + Send,
    T: serde::Serialize,
{
    let deps = init(Needs::Backend).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            // Boxed: a deep job's future would otherwise exceed the compiler's layout depth in `main`.
            let fut = Box::pin(crate::clock::with_deadline(
                event.context.deadline as i64,
                remembering(job(deps)),
            ));
            async move {
                fut.await.map_err(|e| {
                    tracing::error!(error = %crate::error::chain(&e), "job failed");
                    BoxError::from(e.to_string())
                })
            }
        },
    ))
    .await
}

/// One SQS record as Lambda delivers it (only what the handlers read).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRecord {
    pub message_id: String,
    pub body: String,
}

#[derive(serde::Deserialize)]
struct QueueEvent {
    #[serde(rename = "Records", default)]
    records: Vec<QueueRecord>,
}

/// Serves an SQS event source with partial batch responses: `handler` returns the ids of the messages that
/// failed, which SQS delivers again; the others are deleted.
pub async fn serve_queue<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(&'static Deps, Vec<QueueRecord>) -> Fut,
    Fut: Future<Output = Vec<String>> + Send,
{
    let deps = init(Needs::Backend).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let records = serde_json::from_value::<QueueEvent>(event.payload)
                .map(|e| e.records)
                .unwrap_or_default();
            let fut = crate::clock::with_deadline(
                event.context.deadline as i64,
                remembering(handler(deps, records)),
            );
            async move {
                let failed = fut.await;
                let failures: Vec<_> = failed
                    .into_iter()
                    .map(|id| serde_json::json!({"itemIdentifier": id}))
                    .collect();
                Ok::<_, BoxError>(serde_json::json!({"batchItemFailures": failures}))
            }
        },
    ))
    .await
}

/// What a WebSocket route's event carries that the handlers read (API Gateway WebSocket API, Lambda proxy).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketEvent {
    #[serde(default)]
    pub request_context: SocketContext,
    #[serde(default)]
    pub headers: Option<std::collections::HashMap<String, String>>,
    #[serde(default)]
    pub query_string_parameters: Option<std::collections::HashMap<String, String>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketContext {
    #[serde(default)]
    pub connection_id: String,
    #[serde(default)]
    pub route_key: String,
}

impl SocketEvent {
    /// A header, whatever the case the client wrote its name in.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .as_ref()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_string_parameters
            .as_ref()?
            .get(name)
            .map(String::as_str)
    }
}

/// Serves a WebSocket API route (`$connect`, `$disconnect`): the handler's status is API Gateway's answer
/// (on `$connect`, anything but 2xx refuses the connection).
pub async fn serve_socket<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(&'static Deps, SocketEvent) -> Fut,
    Fut: Future<Output = u16> + Send,
{
    let deps = init(Needs::Api).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let parsed = serde_json::from_value::<SocketEvent>(event.payload).unwrap_or_default();
            let route = parsed.request_context.route_key.clone();
            // Boxed, as for jobs: the future is too deep to lay out inline in `main`.
            let fut = Box::pin(crate::clock::with_deadline(
                event.context.deadline as i64,
                remembering(handler(deps, parsed)),
            ));
            async move {
                let status = fut.await;
                tracing::info!(route, status, "socket route done");
                Ok::<_, BoxError>(serde_json::json!({"statusCode": status}))
            }
        },
    ))
    .await
}
