//! A mini-program's history (`SK=HIST#{maAppId}#{millis}#{kind}`): every commit, audit, release, rollback and visit
//! change, written in the same transaction as the state change it describes. It doubles as the outbox of the event
//! bus: a record carries `GSI1PK=OUTBOX#{n}` (one of `OUTBOX_SHARDS`, by mini-program) until EventBridge has accepted
//! it. Records written before sharding carry `OUTBOX`.
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::item::{get_n, get_s, key, n, require_s, s, Item};
use super::{component_pk, StoreError, Table};
use crate::domain::events::{Event, EventKind};

const OUTBOX: &str = "OUTBOX";
pub const OUTBOX_SHARDS: u32 = 4;

/// The outbox partitions to flush: the shards, then the one from before sharding.
pub fn outbox_partitions() -> Vec<String> {
    let mut out: Vec<String> = (0..OUTBOX_SHARDS)
        .map(|n| format!("{OUTBOX}#{n}"))
        .collect();
    out.push(OUTBOX.to_owned());
    out
}

fn sk(event: &Event) -> String {
    format!(
        "HIST#{}#{:013}#{}",
        event.ma_app_id,
        event.at_ms,
        event.kind.detail_type()
    )
}

fn to_item(event: &Event) -> Item {
    let mut item = key(component_pk(&event.component), sk(event));
    item.insert("kind".into(), s(event.kind.detail_type()));
    item.insert("ma_app_id".into(), s(&event.ma_app_id));
    item.insert("at".into(), n(event.at_ms));
    item.insert("data".into(), s(event.data.to_string()));
    let shard = super::shard_of(
        &format!("{}#{}", event.component, event.ma_app_id),
        OUTBOX_SHARDS,
    );
    item.insert("GSI1PK".into(), s(format!("{OUTBOX}#{shard}")));
    item.insert(
        "GSI1SK".into(),
        s(format!("{:013}#{}", event.at_ms, event.component)),
    );
    item
}

fn from_item(item: &Item) -> Result<Event, StoreError> {
    let pk = require_s(item, "PK")?;
    let kind = require_s(item, "kind")?;
    Ok(Event {
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Malformed(format!("kind {kind}")))?,
        component: pk.trim_start_matches("COMP#").to_owned(),
        ma_app_id: require_s(item, "ma_app_id")?,
        at_ms: get_n(item, "at").unwrap_or(0),
        data: get_s(item, "data")
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or_default(),
    })
}

/// The history record as one item of a transaction; it fails the transaction if the same event was recorded.
pub fn put_item(table: &Table, event: &Event) -> TransactWriteItem {
    table.create_in_transaction(to_item(event))
}

/// Records an event on its own. False when it was already recorded (a retried push).
pub async fn record(table: &Table, event: &Event) -> Result<bool, StoreError> {
    table.create(to_item(event), "PutItem history").await
}

/// The newest `limit` events of one mini-program, newest first.
pub async fn list(
    table: &Table,
    component: &str,
    appid: &str,
    limit: i32,
) -> Result<Vec<Event>, StoreError> {
    let out = table
        .query_prefix(component_pk(component), format!("HIST#{appid}#"))
        .scan_index_forward(false)
        .limit(limit)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query history", e))?;
    out.items().iter().map(from_item).collect()
}

/// Events of one outbox partition not yet accepted by the bus and older than `before_ms`, oldest first.
pub async fn unpublished(
    table: &Table,
    partition: &str,
    before_ms: i64,
    limit: i32,
) -> Result<Vec<Event>, StoreError> {
    let (items, _) = table
        .query_due(
            partition,
            &format!("{before_ms:013}"),
            limit,
            None,
            "Query outbox",
        )
        .await?;
    items.iter().map(from_item).collect()
}

/// Takes a published event out of the outbox; its history record stays.
pub async fn mark_published(table: &Table, event: &Event) -> Result<(), StoreError> {
    let res = table
        .update(component_pk(&event.component), sk(event))
        .update_expression("REMOVE GSI1PK, GSI1SK")
        .condition_expression("attribute_exists(PK)")
        .send()
        .await;
    // A record that is gone has nothing left to publish.
    super::item::applied("UpdateItem outbox", res).map(|_| ())
}
