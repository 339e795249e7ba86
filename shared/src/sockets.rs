//! Pushes to the chat's WebSocket connections through API Gateway's connection management API
//! (`PostToConnection`), the adapter the chat service uses to deliver a message the moment it is committed.
use aws_sdk_apigatewaymanagement::primitives::Blob;

use crate::aws::LazyClient;

#[derive(Clone)]
pub struct Sockets {
    client: LazyClient<aws_sdk_apigatewaymanagement::Client>,
}

/// A push that failed for another reason than the connection being gone; the SDK's error is kept as the cause.
#[derive(Debug, thiserror::Error)]
#[error("PostToConnection failed")]
pub struct SocketError(#[source] Box<dyn std::error::Error + Send + Sync>);

impl Sockets {
    /// The management API at `endpoint` (the WebSocket API's stage URL, `https://…/{stage}`).
    pub fn new(aws: &aws_config::SdkConfig, endpoint: &str) -> Self {
        // Set on the service's own config: an AWS_ENDPOINT_URL in the environment (the local emulator's) would
        // otherwise win over the shared config's endpoint.
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(aws)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: LazyClient::ready(aws_sdk_apigatewaymanagement::Client::from_conf(config)),
        }
    }

    /// Sends `data` to one connection: false when the connection is gone (the client left; forget it).
    pub async fn post(&self, connection: &str, data: Vec<u8>) -> Result<bool, SocketError> {
        match self
            .client
            .get()
            .post_to_connection()
            .connection_id(connection)
            .data(Blob::new(data))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(false),
            Err(e) => Err(SocketError(Box::new(e))),
        }
    }
}
