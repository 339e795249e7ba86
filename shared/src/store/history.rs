//! A mini-program's history (`SK=HIST#{maAppId}#{millis}#{kind}`): every commit, audit, release, rollback and visit
//! change, written in the same transaction as the state change it describes. It doubles as the outbox of the event
//! bus: a record carries `GSI1PK=OUTBOX#{n}` (one of `OUTBOX_SHARDS`, by mini-program) until EventBridge has accepted
//! it. Records written before sharding carry `OUTBOX`. Beside each record, in the same write, the component's feed
//! keeps a copy in time order (`SK=FEED#{millis}#{maAppId}#{kind}`) for `FEED_DAYS`.
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::item::{get_n, get_s, key, n, require_s, s, Item};
use super::{component_pk, StoreError, Table};
use crate::domain::events::{Event, EventKind};

const OUTBOX: &str = "OUTBOX";
const FEED: &str = "FEED#";
/// How long the component's feed keeps an event (the mini-program's own history keeps it for good).
pub const FEED_DAYS: i64 = 90;
pub const OUTBOX_SHARDS: u32 = 4;

/// The outbox partitions to flush: the shards, then the one from before sharding.
pub fn outbox_partitions() -> Vec<String> {
    let mut out: Vec<String> = (0..OUTBOX_SHARDS)
        .map(|n| format!("{OUTBOX}#{n}"))
        .collect();
    out.push(OUTBOX.to_owned());
    out
}

/// The sort keys of one mini-program's history.
fn history_prefix(appid: &str) -> String {
    format!("HIST#{appid}#")
}

/// The event's own attributes, under `sk` in its component's partition.
fn event_item(event: &Event, sk: String) -> Item {
    let mut item = key(component_pk(&event.component), sk);
    item.insert("kind".into(), s(event.kind.detail_type()));
    item.insert("ma_app_id".into(), s(&event.ma_app_id));
    item.insert("at".into(), n(event.at_ms));
    item.insert("data".into(), s(event.data.to_string()));
    item
}

fn sk(event: &Event) -> String {
    format!(
        "{}{:013}#{}",
        history_prefix(&event.ma_app_id),
        event.at_ms,
        event.kind.detail_type()
    )
}

fn to_item(event: &Event) -> Item {
    let mut item = event_item(event, sk(event));
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

fn feed_item(event: &Event) -> Item {
    let sk = format!(
        "{FEED}{:013}#{}#{}",
        event.at_ms,
        event.ma_app_id,
        event.kind.detail_type()
    );
    let mut item = event_item(event, sk);
    item.insert("ttl".into(), n(event.at_ms / 1000 + FEED_DAYS * 86_400));
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

/// The history record and its feed copy as items of a transaction; the record fails the transaction if the same
/// event was recorded.
pub fn put_items(table: &Table, event: &Event) -> [TransactWriteItem; 2] {
    let feed = TransactWriteItem::builder()
        .put(super::item::built(
            aws_sdk_dynamodb::types::Put::builder()
                .table_name(&table.name)
                .set_item(Some(feed_item(event)))
                .build(),
        ))
        .build();
    [table.create_in_transaction(to_item(event)), feed]
}

/// `tx` with the event's history record and feed copy added.
pub fn add_to(
    tx: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
    table: &Table,
    event: &Event,
) -> aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder {
    let [record, feed] = put_items(table, event);
    tx.transact_items(record).transact_items(feed)
}

/// Records an event on its own, with its feed copy. False when it was already recorded (a retried push).
pub async fn record(table: &Table, event: &Event) -> Result<bool, StoreError> {
    let tx = table
        .client()
        .transact_write_items()
        .set_transact_items(Some(put_items(table, event).into()));
    table.transact(tx, "TransactWriteItems history").await
}

/// One page of the component's events, newest first; with `appid`, of that mini-program's whole history.
pub async fn feed(
    table: &Table,
    component: &str,
    appid: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<super::authorizers::Page<Event>, StoreError> {
    let prefix = appid.map_or_else(|| FEED.to_owned(), history_prefix);
    table
        .page_prefix(
            component_pk(component),
            prefix,
            true,
            limit,
            cursor,
            "Query event feed",
            from_item,
        )
        .await
}

/// The newest `limit` events of one mini-program, newest first.
pub async fn list(
    table: &Table,
    component: &str,
    appid: &str,
    limit: i32,
) -> Result<Vec<Event>, StoreError> {
    Ok(feed(table, component, Some(appid), limit, None)
        .await?
        .items)
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
