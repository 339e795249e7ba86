//! DynamoDB repositories over the single table (key schema: docs/data-model.md), one module per aggregate.
pub mod alipay;
pub mod audit_quota;
pub mod authorizers;
pub mod batches;
pub mod catalogue;
pub mod chat;
pub mod components;
pub mod filings;
pub mod fleet;
pub mod forwarding;
pub mod history;
pub mod item;
pub mod listing;
pub mod login_attempts;
pub mod nicknames;
pub mod orders;
pub mod privacy;
pub mod punishments;
pub mod pushes;
pub mod quotas;
pub mod registrations;
pub mod runtime;
pub mod shops;
pub mod templates;
pub mod tenants;
pub mod testers;
pub mod tokens;
pub mod user_templates;
pub mod users;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use crate::aws::LazyClient;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo {
        operation: &'static str,
        message: String,
        /// The SDK's error, kept for the logs' cause chain.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("stored item {0} is malformed")]
    Malformed(String),
    /// DynamoDB kept refusing for conflicts or throttling after the retries: try again later (503).
    #[error("DynamoDB {0} stayed busy after retries")]
    Busy(&'static str),
}

impl StoreError {
    pub fn dynamo<E: std::fmt::Debug, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let message = match &err {
            SdkError::ServiceError(service) => format!("{}", service.err()),
            other => format!("{other}"),
        };
        StoreError::Dynamo {
            operation,
            message,
            source: Some(Box::new(err)),
        }
    }
}

/// The table and its client; cheap to clone.
#[derive(Clone)]
pub struct Table {
    pub client: LazyClient<Client>,
    pub name: String,
}

impl Table {
    pub fn client(&self) -> &Client {
        self.client.get()
    }

    /// UpdateItem on one record of this table.
    pub fn update(
        &self,
        pk: String,
        sk: String,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(&self.name)
            .set_key(Some(item::key(pk, sk)))
    }

    /// One page of the records of a partition whose sort key starts with `prefix` (oldest key first, or newest
    /// with `newest_first`), each read by `from`, with the cursor of the next page.
    #[allow(clippy::too_many_arguments)]
    pub async fn page_prefix<T>(
        &self,
        pk: String,
        prefix: String,
        newest_first: bool,
        limit: i32,
        cursor: Option<&str>,
        operation: &'static str,
        from: impl Fn(&item::Item) -> Result<T, StoreError>,
    ) -> Result<authorizers::Page<T>, StoreError> {
        let start = cursor.and_then(|c| item::decode_cursor(&pk, c, &prefix));
        let out = self
            .query_prefix(pk, prefix)
            .scan_index_forward(!newest_first)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::dynamo(operation, e))?;
        Ok(authorizers::Page {
            items: out.items().iter().map(from).collect::<Result<_, _>>()?,
            next_cursor: item::encode_cursor(out.last_evaluated_key()),
        })
    }

    /// Consistent Query of the records of one partition whose sort key starts with `prefix`.
    pub fn query_prefix(
        &self,
        pk: String,
        prefix: String,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client()
            .query()
            .table_name(&self.name)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", item::s(pk))
            .expression_attribute_values(":prefix", item::s(prefix))
            .consistent_read(true)
    }

    /// Every record of one GSI1 partition, following DynamoDB's pages.
    pub async fn query_gsi1_all(
        &self,
        gsi1pk: String,
        operation: &'static str,
    ) -> Result<Vec<item::Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client()
                .query()
                .table_name(&self.name)
                .index_name("GSI1")
                .key_condition_expression("GSI1PK = :g")
                .expression_attribute_values(":g", item::s(gsi1pk.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::dynamo(operation, e))?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// One page of a GSI1 partition in sort-key order (or newest first), each read by `from`; its cursor is the
    /// last item's GSI1SK, from which `table_key` rebuilds that item's table key (a cursor then only moves within
    /// this partition).
    #[allow(clippy::too_many_arguments)]
    pub async fn page_gsi1<T>(
        &self,
        gsi1pk: &str,
        newest_first: bool,
        limit: i32,
        cursor: Option<&str>,
        table_key: impl Fn(&str) -> item::Item,
        operation: &'static str,
        from: impl Fn(&item::Item) -> Result<T, StoreError>,
    ) -> Result<authorizers::Page<T>, StoreError> {
        let start = cursor.and_then(|c| {
            item::decode_cursor_with(c, |last| {
                let mut k = table_key(last);
                k.insert("GSI1PK".into(), item::s(gsi1pk));
                k.insert("GSI1SK".into(), item::s(last));
                k
            })
        });
        let out = self
            .client()
            .query()
            .table_name(&self.name)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :g")
            .expression_attribute_values(":g", item::s(gsi1pk))
            .scan_index_forward(!newest_first)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::dynamo(operation, e))?;
        Ok(authorizers::Page {
            items: out.items().iter().map(from).collect::<Result<_, _>>()?,
            next_cursor: item::encode_cursor_with(out.last_evaluated_key(), |k| {
                k.get("GSI1SK").and_then(|v| v.as_s().ok()).cloned()
            }),
        })
    }

    /// One page of a GSI1 partition whose sort keys start with a due time: the records due before `before` (a sort
    /// key prefix), earliest first, and where the next page starts.
    pub async fn query_due(
        &self,
        gsi1pk: &str,
        before: &str,
        limit: i32,
        start: Option<item::Item>,
        operation: &'static str,
    ) -> Result<(Vec<item::Item>, Option<item::Item>), StoreError> {
        let page = self
            .client()
            .query()
            .table_name(&self.name)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :g AND GSI1SK < :before")
            .expression_attribute_values(":g", item::s(gsi1pk))
            .expression_attribute_values(":before", item::s(before))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StoreError::dynamo(operation, e))?;
        Ok((page.items.unwrap_or_default(), page.last_evaluated_key))
    }

    /// Runs a transaction. `Ok(true)` committed; `Ok(false)` one of its conditions failed and nothing was written.
    /// Cancellations for conflicts or throttling are retried with back-off (DynamoDB's own retries do not cover
    /// them), then reported as `Busy`: never mistaken for a failed condition.
    pub async fn transact(
        &self,
        tx: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
        const ATTEMPTS: u32 = 4;
        for attempt in 1..=ATTEMPTS {
            let err = match tx.clone().send().await {
                Ok(_) => return Ok(true),
                Err(err) => err,
            };
            let cancelled = match err.as_service_error() {
                Some(E::TransactionCanceledException(c)) => {
                    item::classify_cancellation(c.cancellation_reasons().iter().map(|r| r.code()))
                }
                Some(E::TransactionInProgressException(_)) => item::Cancelled::Transient,
                _ => return Err(StoreError::dynamo(operation, err)),
            };
            match cancelled {
                item::Cancelled::ConditionFailed => return Ok(false),
                item::Cancelled::Other => return Err(StoreError::dynamo(operation, err)),
                item::Cancelled::Transient if attempt == ATTEMPTS => break,
                item::Cancelled::Transient => {
                    let jitter = crate::random::jitter_ms(50);
                    let backoff = 50u64 << attempt;
                    tokio::time::sleep(std::time::Duration::from_millis(backoff + jitter)).await;
                }
            }
        }
        tracing::warn!(
            operation,
            "transaction conflicts or throttling outlasted the retries"
        );
        Err(StoreError::Busy(operation))
    }

    /// One conditional update committed together with the history records of the events that describe it.
    /// `Ok(false)`: a condition failed (the update's, or an event already recorded) and nothing was written.
    pub async fn update_with_events(
        &self,
        update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
        events: &[&crate::domain::events::Event],
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.client().transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(item::built(update.table_name(&self.name).build()))
                .build(),
        );
        for event in events {
            tx = history::add_to(tx, self, event);
        }
        self.transact(tx, operation).await
    }

    /// Consistent GetItem of one record.
    pub async fn get(
        &self,
        pk: String,
        sk: String,
        operation: &'static str,
    ) -> Result<Option<item::Item>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(&self.name)
            .set_key(Some(item::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo(operation, e))?;
        Ok(out.item)
    }

    /// Consistent BatchGetItem of the records of `pk` with these sort keys (those that exist), 100 keys a request,
    /// with only the `projection`'s attributes.
    pub async fn batch_get(
        &self,
        pk: &str,
        sks: &[String],
        projection: &str,
        operation: &'static str,
    ) -> Result<Vec<item::Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::with_capacity(sks.len());
        for chunk in sks.chunks(100) {
            let keys = chunk
                .iter()
                .map(|sk| item::key(pk.to_owned(), sk.clone()))
                .collect::<Vec<_>>();
            let mut wanted = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .projection_expression(projection)
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Malformed(format!("{operation}: {e}")))?,
            );
            // DynamoDB may leave keys unprocessed under load: ask again for those, a bounded number of times.
            for _ in 0..5 {
                let Some(request) = wanted.take() else { break };
                let out = self
                    .client()
                    .batch_get_item()
                    .request_items(&self.name, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::dynamo(operation, e))?;
                if let Some(items) = out.responses().and_then(|r| r.get(&self.name)) {
                    found.extend(items.iter().cloned());
                }
                wanted = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.name))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
            if wanted.is_some() {
                return Err(StoreError::Busy(operation));
            }
        }
        Ok(found)
    }

    /// Unconditional PutItem of one whole record (it replaces what was there).
    pub async fn put(&self, item: item::Item, operation: &'static str) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::dynamo(operation, e))
    }

    /// PutItem of a new record: false (nothing written) when a record with its key exists.
    pub async fn create(
        &self,
        item: item::Item,
        operation: &'static str,
    ) -> Result<bool, StoreError> {
        let res = self
            .client()
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        item::applied(operation, res)
    }

    /// The same creation as one item of a transaction: it fails the transaction when the record exists.
    pub fn create_in_transaction(&self, item: item::Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)");
        TransactWriteItem::builder()
            .put(item::built(put.build()))
            .build()
    }
}

/// A stable shard in `0..shards` for a key: spreads a single-value index partition over `shards` partitions.
pub fn shard_of(key: &str, shards: u32) -> u32 {
    key.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % shards
}

pub fn component_pk(component_appid: &str) -> String {
    format!("COMP#{component_appid}")
}
