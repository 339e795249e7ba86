//! The EventBridge bus: puts the platform's events (`domain::events`) and reports which of them were accepted.
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::aws::LazyClient;
use crate::domain::events::{Event, SOURCE};

/// PutEvents takes at most 10 entries per call.
const BATCH: usize = 10;

#[derive(Clone)]
pub struct EventBus {
    client: LazyClient<aws_sdk_eventbridge::Client>,
    name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("EventBridge PutEvents failed: {0}")]
pub struct BusError(String);

impl EventBus {
    pub fn new(client: LazyClient<aws_sdk_eventbridge::Client>, name: &str) -> Self {
        Self {
            client,
            name: name.to_owned(),
        }
    }

    fn client(&self) -> &aws_sdk_eventbridge::Client {
        self.client.get()
    }

    /// Puts `events`; returns, in order, whether each one was accepted. A whole-call failure is an error.
    pub async fn put(&self, events: &[Event]) -> Result<Vec<bool>, BusError> {
        let mut accepted = Vec::with_capacity(events.len());
        for chunk in events.chunks(BATCH) {
            let entries = chunk
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.name)
                        .source(SOURCE)
                        .detail_type(e.kind.detail_type())
                        .detail(e.detail().to_string())
                        .build()
                })
                .collect();
            let out = self
                .client()
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    BusError(format!(
                        "{}",
                        aws_sdk_eventbridge::error::DisplayErrorContext(e)
                    ))
                })?;
            let results = out.entries();
            for i in 0..chunk.len() {
                // An entry is accepted when it got an event id and no error code.
                let ok = results
                    .get(i)
                    .is_some_and(|r| r.error_code().is_none() && r.event_id().is_some());
                accepted.push(ok);
            }
        }
        Ok(accepted)
    }
}
