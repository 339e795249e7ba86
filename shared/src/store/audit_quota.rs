//! WeChat's monthly audit quota as a component's batches see it (`SK=AUDITQUOTA`): what `queryquota` said was left
//! less the submissions made since, and the watch that looks for the quota to return. Batch targets that found it
//! used up are parked with a ticket each (`SK=QUOTAWAIT#{parkedMs:013}#{batchId}#{maAppId}`, oldest first) instead
//! of polling one by one: while the quota is out, a component's waiting fleet costs one watch message a poll.
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};

use super::item::{applied, get_n, get_s, is_conditional_failure, key, n, s, Item};
use super::{component_pk, StoreError, Table};

const ACCOUNT: &str = "AUDITQUOTA";
const TICKET: &str = "QUOTAWAIT#";

pub struct AuditQuota {
    pub rest: i64,
    pub read_ms: i64,
}

pub async fn get(table: &Table, component: &str) -> Result<Option<AuditQuota>, StoreError> {
    Ok(table
        .get(
            component_pk(component),
            ACCOUNT.into(),
            "GetItem audit quota",
        )
        .await?
        .map(|item| AuditQuota {
            rest: get_n(&item, "rest").unwrap_or(0),
            read_ms: get_n(&item, "read_ms").unwrap_or(0),
        }))
}

/// Replaces the account with what WeChat just reported.
pub async fn set(table: &Table, component: &str, rest: i64, now_ms: i64) -> Result<(), StoreError> {
    table
        .update(component_pk(component), ACCOUNT.into())
        .update_expression("SET rest = :rest, read_ms = :now")
        .expression_attribute_values(":rest", n(rest))
        .expression_attribute_values(":now", n(now_ms))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("UpdateItem audit quota", e))?;
    Ok(())
}

/// Marks the account old, so the next submission asks WeChat what is left.
pub async fn forget(table: &Table, component: &str) -> Result<(), StoreError> {
    table
        .update(component_pk(component), ACCOUNT.into())
        .update_expression("SET read_ms = :zero")
        .expression_attribute_values(":zero", n(0))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("UpdateItem forget audit quota", e))?;
    Ok(())
}

/// Takes one submission from the account with a conditional decrement, so concurrent workers never overshoot it;
/// false when nothing is left.
pub async fn take(table: &Table, component: &str) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), ACCOUNT.into())
        .update_expression("ADD rest :minus")
        .condition_expression("rest > :zero")
        .expression_attribute_values(":minus", n(-1))
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
    applied("UpdateItem take audit quota", res)
}

/// A target waiting for the quota, woken at `turn` (its turn when it parked).
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub sk: String,
    pub batch_id: String,
    pub ma_app_id: String,
    pub turn: i64,
}

/// The ticket of a target that parks, written in the transaction that records it as waiting.
pub fn park_in_transaction(
    table: &Table,
    component: &str,
    batch_id: &str,
    appid: &str,
    turn: i64,
    now_ms: i64,
) -> TransactWriteItem {
    let sk = format!("{TICKET}{:013}#{batch_id}#{appid}", now_ms.max(0));
    let mut item = key(component_pk(component), sk);
    item.insert("batch_id".into(), s(batch_id));
    item.insert("ma_app_id".into(), s(appid));
    item.insert("turn".into(), n(turn));
    table.create_in_transaction(item)
}

fn ticket_from(item: &Item) -> Option<Ticket> {
    Some(Ticket {
        sk: get_s(item, "SK")?,
        batch_id: get_s(item, "batch_id")?,
        ma_app_id: get_s(item, "ma_app_id")?,
        turn: get_n(item, "turn").unwrap_or(0),
    })
}

/// The `limit` oldest tickets of the component (`query_prefix` reads consistently: a ticket written before is
/// always seen).
pub async fn tickets(
    table: &Table,
    component: &str,
    limit: i32,
) -> Result<Vec<Ticket>, StoreError> {
    let out = table
        .query_prefix(component_pk(component), TICKET.into())
        .limit(limit)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query audit quota tickets", e))?;
    Ok(out.items().iter().filter_map(ticket_from).collect())
}

pub async fn remove_ticket(
    table: &Table,
    component: &str,
    ticket: &Ticket,
) -> Result<(), StoreError> {
    table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), ticket.sk.clone())))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("DeleteItem audit quota ticket", e))?;
    Ok(())
}

/// Starts the watch when none is alive (never started, ended, or not renewed in time): the new watch's turn, for
/// its first message (older messages are then stale); None when a watch is alive.
pub async fn start_watch(
    table: &Table,
    component: &str,
    now_ms: i64,
    alive_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let res = table
        .update(component_pk(component), ACCOUNT.into())
        .update_expression("SET watch_until_ms = :until ADD watch_turn :one")
        .condition_expression("attribute_not_exists(watch_until_ms) OR watch_until_ms < :now")
        .expression_attribute_values(":until", n(now_ms + alive_ms))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    match res {
        Ok(out) => Ok(Some(
            out.attributes()
                .and_then(|a| get_n(a, "watch_turn"))
                .unwrap_or(1),
        )),
        Err(e) if is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(StoreError::dynamo("UpdateItem start audit quota watch", e)),
    }
}

/// Takes back a watch just started whose first message could not be sent, so the next caller starts it again.
pub async fn unstart_watch(table: &Table, component: &str, turn: i64) -> Result<(), StoreError> {
    let res = table
        .update(component_pk(component), ACCOUNT.into())
        .update_expression("REMOVE watch_until_ms")
        .condition_expression("watch_turn = :turn")
        .expression_attribute_values(":turn", n(turn))
        .send()
        .await;
    applied("UpdateItem unstart audit quota watch", res).map(|_| ())
}

/// What a watch message finds when it claims its turn.
#[derive(Debug, PartialEq)]
pub enum WatchClaim {
    Held,
    /// Another delivery of the same turn is at work: this one comes back later.
    Busy,
    /// A newer turn or another watch took over: this message is done.
    Stale,
}

/// Takes the watch's lease for the message of `turn`, as a batch target's is taken.
pub async fn claim_watch(
    table: &Table,
    component: &str,
    turn: i64,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<WatchClaim, StoreError> {
    let res = table
        .update(component_pk(component), ACCOUNT.into())
        .update_expression("SET watch_owner = :owner, watch_lease_ms = :lease, watch_turn = :turn")
        .condition_expression(
            "attribute_exists(watch_until_ms) AND watch_turn <= :turn AND \
             (attribute_not_exists(watch_lease_ms) OR watch_lease_ms < :now)",
        )
        .expression_attribute_values(":owner", s(owner))
        .expression_attribute_values(":lease", n(now_ms + lease_ms))
        .expression_attribute_values(":turn", n(turn))
        .expression_attribute_values(":now", n(now_ms))
        .send()
        .await;
    if applied("UpdateItem claim audit quota watch", res)? {
        return Ok(WatchClaim::Held);
    }
    let now = table
        .get(
            component_pk(component),
            ACCOUNT.into(),
            "GetItem audit quota",
        )
        .await?;
    // Stale only when the watch moved past this turn or ended. At this turn or before it, the lease was held,
    // even if it is free by now: this message may have overtaken its predecessor's hand-over, so it comes back.
    let busy = now.as_ref().is_some_and(|item| {
        item.contains_key("watch_until_ms") && get_n(item, "watch_turn").unwrap_or(0) <= turn
    });
    Ok(if busy {
        WatchClaim::Busy
    } else {
        WatchClaim::Stale
    })
}

/// How a watch's turn hands over when it gives its lease up.
#[derive(Debug, PartialEq)]
pub enum WatchNext {
    /// The next message (of `turn`) is sent; the watch counts as dead if it has not run by `until_ms`.
    Again { turn: i64, until_ms: i64 },
    /// Nothing is parked: the watch ends.
    End,
    /// This turn failed: its message comes back and claims the lease again.
    Retry,
}

/// Gives the watch's lease up as `next` says; false when the lease was lost meanwhile.
pub async fn release_watch(
    table: &Table,
    component: &str,
    owner: &str,
    next: WatchNext,
) -> Result<bool, StoreError> {
    let update = table
        .update(component_pk(component), ACCOUNT.into())
        .condition_expression("watch_owner = :owner")
        .expression_attribute_values(":owner", s(owner));
    let update = match next {
        WatchNext::Again { turn, until_ms } => update
            .update_expression(
                "SET watch_turn = :turn, watch_until_ms = :until REMOVE watch_owner, watch_lease_ms",
            )
            .expression_attribute_values(":turn", n(turn))
            .expression_attribute_values(":until", n(until_ms)),
        WatchNext::End => {
            update.update_expression("REMOVE watch_until_ms, watch_owner, watch_lease_ms")
        }
        WatchNext::Retry => update.update_expression("REMOVE watch_owner, watch_lease_ms"),
    };
    applied("UpdateItem release audit quota watch", update.send().await)
}
