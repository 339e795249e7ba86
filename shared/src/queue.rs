//! The work queue (SQS): work that fans out (a batch's targets, its expansion pages) travels as one message each.
//! Delivery is at least once: every consumer is idempotent.
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::aws::LazyClient;

/// SendMessageBatch takes at most 10 entries per call.
const BATCH: usize = 10;
/// SQS delays a message by at most 15 minutes.
pub const MAX_DELAY_SECS: i32 = 900;

#[derive(Clone)]
pub struct WorkQueue {
    client: LazyClient<aws_sdk_sqs::Client>,
    /// None for functions that send nothing.
    url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("SQS {operation} failed: {message}")]
pub struct QueueError {
    pub operation: &'static str,
    pub message: String,
}

/// One message to send: its JSON body and how many seconds SQS holds it back.
pub struct Outgoing {
    pub body: String,
    pub delay_secs: i32,
}

impl WorkQueue {
    pub fn new(client: LazyClient<aws_sdk_sqs::Client>, url: Option<String>) -> Self {
        Self { client, url }
    }

    fn client(&self) -> &aws_sdk_sqs::Client {
        self.client.get()
    }

    /// Sends every message or fails: a partial failure is an error, so the caller retries all of them (consumers
    /// drop what they already saw).
    pub async fn send(&self, messages: Vec<Outgoing>) -> Result<(), QueueError> {
        let url = self.url.as_deref().ok_or_else(|| QueueError {
            operation: "SendMessageBatch",
            message:
                "this function has no URL for the queue (BATCH_QUEUE_URL, FORWARD_QUEUE_URL, ...)"
                    .into(),
        })?;
        for chunk in messages.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&m.body)
                        .delay_seconds(m.delay_secs.clamp(0, MAX_DELAY_SECS))
                        .build()
                        .map_err(|e| QueueError {
                            operation: "SendMessageBatch",
                            message: e.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client()
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError {
                    operation: "SendMessageBatch",
                    message: format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)),
                })?;
            if let Some(failed) = out.failed().first() {
                return Err(QueueError {
                    operation: "SendMessageBatch",
                    message: format!(
                        "{} of {} entries refused, first: {}",
                        out.failed().len(),
                        chunk.len(),
                        failed.code()
                    ),
                });
            }
        }
        Ok(())
    }
}
