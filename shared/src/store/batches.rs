//! Batch releases (`SK=BATCH#{batchId}`), their targets (`SK=BATCHTGT#{batchId}#{maAppId}`), the targets' counts per
//! state in sharded counters (`SK=BATCHCNT#{batchId}#{shard}`, so concurrent workers rarely meet on one item). A
//! target moves only under its lease and only with its counter, in one transaction (with its parking ticket when it
//! parks to wait for WeChat's audit quota: `store::audit_quota`).
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use std::collections::BTreeMap;

use super::authorizers::Page;
use super::item::{applied, built, get_n, get_s, key, n, require_s, s, Item};
use super::{component_pk, history, StoreError, Table};
use crate::domain::batch::{BatchSpec, BatchState, TargetState};
use crate::domain::events::Event;

/// Counter shards per batch.
const SHARDS: u32 = 8;

fn batch_sk(id: &str) -> String {
    format!("BATCH#{id}")
}

fn target_sk(id: &str, appid: &str) -> String {
    format!("BATCHTGT#{id}#{appid}")
}

fn shard_sk(id: &str, appid: &str) -> String {
    format!("BATCHCNT#{id}#{}", super::shard_of(appid, SHARDS))
}

#[derive(Debug, Clone)]
pub struct Batch {
    pub component: String,
    pub id: String,
    pub spec: BatchSpec,
    pub state: BatchState,
    pub created_by: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Targets created so far.
    pub total: i64,
    /// Every target is created.
    pub expanded: bool,
    /// The expansion page to create next, and the one created last (a redelivered page message finds it there).
    pub expand_at: String,
    pub expand_prev: Option<String>,
}

fn batch_from(item: &Item) -> Result<Batch, StoreError> {
    let spec = require_s(item, "spec")?;
    let state = require_s(item, "state")?;
    Ok(Batch {
        component: require_s(item, "PK")?
            .trim_start_matches("COMP#")
            .to_owned(),
        id: require_s(item, "batch_id")?,
        spec: serde_json::from_str(&spec)
            .map_err(|e| StoreError::Malformed(format!("batch spec: {e}")))?,
        state: BatchState::parse(&state)
            .ok_or_else(|| StoreError::Malformed(format!("batch state {state}")))?,
        created_by: get_s(item, "created_by").unwrap_or_default(),
        created_ms: get_n(item, "created_ms").unwrap_or(0),
        updated_ms: get_n(item, "updated_ms").unwrap_or(0),
        total: get_n(item, "total").unwrap_or(0),
        expanded: item
            .get("expanded")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        expand_at: get_s(item, "expand_at").unwrap_or_default(),
        expand_prev: get_s(item, "expand_prev"),
    })
}

fn lock_sk(template_id: &str) -> String {
    format!("BATCHLOCK#{template_id}")
}

/// The batch holding a template's lock: one running or paused batch per template at a time.
pub async fn lock_holder(
    table: &Table,
    component: &str,
    template_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(table
        .get(
            component_pk(component),
            lock_sk(template_id),
            "GetItem batch lock",
        )
        .await?
        .and_then(|item| get_s(&item, "batch_id")))
}

/// Creates the batch together with its template's lock and the history record of its `BatchStarted` event.
/// `stale_lock`: the finished batch whose lock is taken over. False when another batch holds the lock.
pub async fn create(
    table: &Table,
    b: &Batch,
    started: &Event,
    stale_lock: Option<&str>,
) -> Result<bool, StoreError> {
    let mut lock = key(component_pk(&b.component), lock_sk(&b.spec.template_id));
    lock.insert("batch_id".into(), s(&b.id));
    let mut lock_put = Put::builder().table_name(&table.name).set_item(Some(lock));
    lock_put = match stale_lock {
        Some(stale) => lock_put
            .condition_expression("batch_id = :stale")
            .expression_attribute_values(":stale", s(stale)),
        None => lock_put.condition_expression("attribute_not_exists(PK)"),
    };
    let mut item = key(component_pk(&b.component), batch_sk(&b.id));
    item.insert("batch_id".into(), s(&b.id));
    item.insert(
        "spec".into(),
        s(serde_json::to_string(&b.spec).unwrap_or_default()),
    );
    item.insert("state".into(), s(b.state.as_str()));
    item.insert("created_by".into(), s(&b.created_by));
    item.insert("created_ms".into(), n(b.created_ms));
    item.insert("updated_ms".into(), n(b.created_ms));
    item.insert("total".into(), n(0));
    item.insert(
        "expanded".into(),
        aws_sdk_dynamodb::types::AttributeValue::Bool(false),
    );
    item.insert("expand_at".into(), s(""));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(item))
        .transact_items(
            TransactWriteItem::builder()
                .put(built(lock_put.build()))
                .build(),
        );
    let tx = history::add_to(tx, table, started);
    table.transact(tx, "TransactWriteItems create batch").await
}

/// Frees the template's lock held by a batch that ended (cancelled); a lock another batch took is left alone.
pub async fn unlock(
    table: &Table,
    component: &str,
    template_id: &str,
    id: &str,
) -> Result<(), StoreError> {
    let res = table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), lock_sk(template_id))))
        .condition_expression("batch_id = :id")
        .expression_attribute_values(":id", s(id))
        .send()
        .await;
    applied("DeleteItem batch lock", res).map(|_| ())
}

pub async fn get(table: &Table, component: &str, id: &str) -> Result<Option<Batch>, StoreError> {
    table
        .get(component_pk(component), batch_sk(id), "GetItem batch")
        .await?
        .map(|item| batch_from(&item))
        .transpose()
}

/// A component's batches, newest first.
pub async fn list(
    table: &Table,
    component: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Batch>, StoreError> {
    let (pk, prefix) = (component_pk(component), "BATCH#".to_owned());
    table
        .page_prefix(pk, prefix, true, limit, cursor, "Query batches", batch_from)
        .await
}

/// Moves the batch from one of `from` to `to`; false when it was in none of them.
pub async fn set_state(
    table: &Table,
    component: &str,
    id: &str,
    from: &[BatchState],
    to: BatchState,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut update = table
        .update(component_pk(component), batch_sk(id))
        .update_expression("SET #state = :to, updated_ms = :now")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":to", s(to.as_str()))
        .expression_attribute_values(":now", n(now_ms));
    let mut names = Vec::new();
    for (i, f) in from.iter().enumerate() {
        names.push(format!(":f{i}"));
        update = update.expression_attribute_values(format!(":f{i}"), s(f.as_str()));
    }
    let res = update
        .condition_expression(format!(
            "attribute_exists(PK) AND #state IN ({})",
            names.join(", ")
        ))
        .send()
        .await;
    applied("UpdateItem batch state", res)
}

/// A running batch whose targets are all finished becomes `completed`, with its `BatchCompleted` event, and frees
/// its template's lock; false when it is not running (completed already, paused or cancelled).
pub async fn complete(
    table: &Table,
    b: &Batch,
    completed: &Event,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(&b.component), batch_sk(&b.id))))
        .update_expression("SET #state = :done, updated_ms = :now")
        .condition_expression("#state = :running")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":done", s(BatchState::Completed.as_str()))
        .expression_attribute_values(":running", s(BatchState::Running.as_str()))
        .expression_attribute_values(":now", n(now_ms));
    let tx = table.client().transact_write_items().transact_items(
        TransactWriteItem::builder()
            .update(built(update.build()))
            .build(),
    );
    let tx = history::add_to(tx, table, completed);
    let done = table
        .transact(tx, "TransactWriteItems complete batch")
        .await?;
    if done {
        unlock_quietly(table, &b.component, &b.spec.template_id, &b.id).await;
    }
    Ok(done)
}

/// `unlock`, logging instead of failing: the batch's own state change is already committed.
pub async fn unlock_quietly(table: &Table, component: &str, template_id: &str, id: &str) {
    if let Err(e) = unlock(table, component, template_id, id).await {
        // A lock left behind is taken over by the next batch once it sees this one finished.
        tracing::warn!(component, batch_id = id, error = %e, "batch lock left for the next batch to take over");
    }
}

/// Records that the expansion page `at` is done and `next` comes next (None: every target exists). False when
/// another delivery of the same page recorded it first.
pub async fn expansion_done(
    table: &Table,
    component: &str,
    id: &str,
    at: &str,
    next: Option<&str>,
) -> Result<bool, StoreError> {
    let update = table
        .update(component_pk(component), batch_sk(id))
        .condition_expression("expand_at = :at")
        .expression_attribute_values(":at", s(at));
    let update = match next {
        Some(next) => update
            .update_expression("SET expand_prev = :at, expand_at = :next")
            .expression_attribute_values(":next", s(next)),
        None => update
            .update_expression("SET expand_prev = :at, expand_at = :end, expanded = :yes")
            .expression_attribute_values(":end", s("#end"))
            .expression_attribute_values(
                ":yes",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            ),
    };
    applied("UpdateItem batch expansion", update.send().await)
}

#[derive(Debug, Clone)]
pub struct Target {
    pub ma_app_id: String,
    pub state: TargetState,
    pub turn: i64,
    pub attempts: i64,
    pub errcode: Option<i64>,
    pub reason: Option<String>,
    pub audit_id: Option<i64>,
    pub updated_ms: i64,
    pub lease_until_ms: i64,
}

fn target_from(item: &Item) -> Result<Target, StoreError> {
    let state = require_s(item, "state")?;
    Ok(Target {
        ma_app_id: require_s(item, "ma_app_id")?,
        state: TargetState::parse(&state)
            .ok_or_else(|| StoreError::Malformed(format!("target state {state}")))?,
        turn: get_n(item, "turn").unwrap_or(0),
        attempts: get_n(item, "attempts").unwrap_or(0),
        errcode: get_n(item, "errcode"),
        reason: get_s(item, "reason").filter(|r| !r.is_empty()),
        audit_id: get_n(item, "audit_id"),
        updated_ms: get_n(item, "updated_ms").unwrap_or(0),
        lease_until_ms: get_n(item, "lease_until_ms").unwrap_or(0),
    })
}

fn counter_update(
    table: &Table,
    component: &str,
    id: &str,
    appid: &str,
    from: Option<TargetState>,
    to: TargetState,
    finished: bool,
) -> TransactWriteItem {
    let mut expr = String::from("ADD #to :one");
    let mut update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), shard_sk(id, appid))))
        .expression_attribute_names("#to", format!("c_{}", to.as_str()))
        .expression_attribute_values(":one", n(1));
    if let Some(from) = from {
        expr.push_str(", #from :minus");
        update = update
            .expression_attribute_names("#from", format!("c_{}", from.as_str()))
            .expression_attribute_values(":minus", n(-1));
    }
    if finished {
        expr.push_str(", finished :one");
    }
    TransactWriteItem::builder()
        .update(built(update.update_expression(expr).build()))
        .build()
}

/// Creates a target in `state` (pending, or skipped with its reason) with its count and the batch's total;
/// false when it exists already (a redelivered expansion page).
pub async fn add_target(
    table: &Table,
    component: &str,
    id: &str,
    appid: &str,
    state: TargetState,
    finished: bool,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut item = key(component_pk(component), target_sk(id, appid));
    item.insert("ma_app_id".into(), s(appid));
    item.insert("state".into(), s(state.as_str()));
    item.insert("turn".into(), n(0));
    item.insert("attempts".into(), n(0));
    item.insert("updated_ms".into(), n(now_ms));
    if let Some(r) = reason {
        item.insert("reason".into(), s(r));
    }
    let total = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), batch_sk(id))))
        .update_expression("ADD #total :one")
        .expression_attribute_names("#total", "total")
        .expression_attribute_values(":one", n(1));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(item))
        .transact_items(counter_update(
            table, component, id, appid, None, state, finished,
        ))
        .transact_items(
            TransactWriteItem::builder()
                .update(built(total.build()))
                .build(),
        );
    table
        .transact(tx, "TransactWriteItems add batch target")
        .await
}

pub async fn get_target(
    table: &Table,
    component: &str,
    id: &str,
    appid: &str,
) -> Result<Option<Target>, StoreError> {
    table
        .get(
            component_pk(component),
            target_sk(id, appid),
            "GetItem batch target",
        )
        .await?
        .map(|item| target_from(&item))
        .transpose()
}

/// One page of a batch's targets, in appid order.
pub async fn targets(
    table: &Table,
    component: &str,
    id: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Target>, StoreError> {
    let (pk, prefix) = (component_pk(component), format!("BATCHTGT#{id}#"));
    table
        .page_prefix(
            pk,
            prefix,
            false,
            limit,
            cursor,
            "Query batch targets",
            target_from,
        )
        .await
}

/// Takes the target's lease for the delivery of `turn`: held by nobody (or expired), and `turn` not older than
/// the target's. False: a duplicate or stale delivery, or another holder at work.
pub async fn claim_target(
    table: &Table,
    component: &str,
    id: &str,
    appid: &str,
    turn: i64,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), target_sk(id, appid))
        .update_expression("SET lease_owner = :owner, lease_until_ms = :until, turn = :turn")
        .condition_expression(
            "attribute_exists(PK) AND turn <= :turn AND \
             (attribute_not_exists(lease_until_ms) OR lease_until_ms < :now)",
        )
        .expression_attribute_values(":owner", s(owner))
        .expression_attribute_values(":until", n(now_ms + lease_ms))
        .expression_attribute_values(":turn", n(turn))
        .expression_attribute_values(":now", n(now_ms))
        .send()
        .await;
    applied("UpdateItem claim batch target", res)
}

/// What a holder records on its target.
#[derive(Debug, Clone, Default)]
pub struct TargetChange {
    pub to: Option<TargetState>,
    pub finished: bool,
    /// The next turn when another delivery follows.
    pub turn: Option<i64>,
    pub attempts: Option<i64>,
    pub errcode: Option<i64>,
    pub reason: Option<String>,
    pub audit_id: Option<i64>,
    /// Parks the target at its next turn until WeChat's audit quota returns: its ticket is written with it, and no
    /// message follows (the quota watch wakes it).
    pub parked_ms: Option<i64>,
}

/// Records `change` on the target held by `owner` (it was in `from`) and gives the lease up, moving its count in
/// the same transaction. False when the lease was lost meanwhile: nothing written.
pub async fn release_target(
    table: &Table,
    component: &str,
    id: &str,
    appid: &str,
    owner: &str,
    from: TargetState,
    change: TargetChange,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut sets = vec!["updated_ms = :now".to_owned()];
    let mut values: BTreeMap<String, aws_sdk_dynamodb::types::AttributeValue> = BTreeMap::new();
    values.insert(":now".into(), n(now_ms));
    values.insert(":owner".into(), s(owner));
    values.insert(":from".into(), s(from.as_str()));
    let to = change.to.unwrap_or(from);
    if to != from {
        sets.push("#state = :to".into());
        values.insert(":to".into(), s(to.as_str()));
    }
    for (name, value) in [
        ("turn", change.turn),
        ("attempts", change.attempts),
        ("errcode", change.errcode),
        ("audit_id", change.audit_id),
    ] {
        if let Some(v) = value {
            sets.push(format!("{name} = :{name}"));
            values.insert(format!(":{name}"), n(v));
        }
    }
    if let Some(r) = &change.reason {
        sets.push("reason = :reason".into());
        values.insert(":reason".into(), s(r));
    }
    let update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), target_sk(id, appid))))
        .update_expression(format!(
            "SET {} REMOVE lease_owner, lease_until_ms",
            sets.join(", ")
        ))
        .condition_expression("lease_owner = :owner AND #state = :from")
        .expression_attribute_names("#state", "state")
        .set_expression_attribute_values(Some(values.into_iter().collect()));
    let mut tx = table.client().transact_write_items().transact_items(
        TransactWriteItem::builder()
            .update(built(update.build()))
            .build(),
    );
    if let (Some(at), Some(turn)) = (change.parked_ms, change.turn) {
        tx = tx.transact_items(super::audit_quota::park_in_transaction(
            table, component, id, appid, turn, at,
        ));
    }
    if to != from || change.finished {
        tx = tx.transact_items(counter_update(
            table,
            component,
            id,
            appid,
            Some(from),
            to,
            change.finished,
        ));
    }
    table.transact(tx, "TransactWriteItems batch target").await
}

/// The batch's targets counted by state, and how many are finished.
pub async fn counts(
    table: &Table,
    component: &str,
    id: &str,
) -> Result<(BTreeMap<String, i64>, i64), StoreError> {
    let out = table
        .query_prefix(component_pk(component), format!("BATCHCNT#{id}#"))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query batch counters", e))?;
    let mut counts = BTreeMap::new();
    let mut finished = 0;
    for item in out.items() {
        for (name, value) in item {
            let Ok(v) = value.as_n().map(|v| v.parse::<i64>().unwrap_or(0)) else {
                continue;
            };
            if let Some(state) = name.strip_prefix("c_") {
                *counts.entry(state.to_owned()).or_insert(0) += v;
            } else if name == "finished" {
                finished += v;
            }
        }
    }
    counts.retain(|_, v| *v != 0);
    Ok((counts, finished))
}
