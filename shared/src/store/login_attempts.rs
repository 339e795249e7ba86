//! Login attempt slots: a sliding window of at most N password checks per key (an account name, known or not,
//! or a source address). `PK=LOGIN#{key}`, `SK=SLOTS`, attributes `s0..s{N-1}` holding when each slot was last
//! taken (ms), TTL. A slot is taken with a conditional update that holds only if it is free (never taken, or
//! taken before the window began), so no two attempts ever get the same slot and no more than N attempts
//! reach the password hash in any window, however many arrive at once.
use super::item::{applied, get_n, key, n};
use super::{StoreError, Table};

const SK: &str = "SLOTS";

fn pk(scope: &str) -> String {
    format!("LOGIN#{scope}")
}

fn slot(i: usize) -> String {
    format!("s{i}")
}

#[derive(Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Slot `i` was taken at `at_ms`; give it back if the attempt succeeds.
    Granted { slot: usize, at_ms: i64 },
    /// Every slot is within the window: the earliest frees in this many seconds.
    Refused { retry_after_secs: i64 },
}

/// Reserves one attempt for `scope` before the password is checked.
pub async fn reserve(
    table: &Table,
    scope: &str,
    slots: usize,
    window_ms: i64,
    now_ms: i64,
) -> Result<Reservation, StoreError> {
    let floor = now_ms - window_ms;
    for _ in 0..3 {
        let taken: Vec<i64> = match table
            .get(pk(scope), SK.into(), "GetItem login slots")
            .await?
        {
            Some(item) => (0..slots)
                .map(|i| get_n(&item, &slot(i)).unwrap_or(0))
                .collect(),
            None => vec![0; slots],
        };
        let free: Vec<usize> = (0..slots).filter(|i| taken[*i] <= floor).collect();
        if free.is_empty() {
            let earliest = taken.iter().min().copied().unwrap_or(now_ms);
            let retry_after_secs = ((earliest + window_ms - now_ms) / 1000).max(1);
            return Ok(Reservation::Refused { retry_after_secs });
        }
        for i in free {
            let name = slot(i);
            let res = table
                .update(pk(scope), SK.into())
                .update_expression("SET #slot = :now, #ttl = :ttl")
                .condition_expression("attribute_not_exists(#slot) OR #slot <= :floor")
                .expression_attribute_names("#slot", &name)
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":floor", n(floor))
                .expression_attribute_values(":ttl", n((now_ms + window_ms) / 1000 + 60))
                .send()
                .await;
            if applied("UpdateItem login slot", res)? {
                return Ok(Reservation::Granted {
                    slot: i,
                    at_ms: now_ms,
                });
            }
            // Taken by a concurrent attempt: try the next free one.
        }
    }
    // Every free slot we saw was taken meanwhile: this is a burst, refuse like a full window.
    Ok(Reservation::Refused {
        retry_after_secs: 1,
    })
}

/// Gives a slot back after a successful login (only if it still holds this attempt's reservation).
pub async fn release(
    table: &Table,
    scope: &str,
    slot_index: usize,
    at_ms: i64,
) -> Result<(), StoreError> {
    let res = table
        .update(pk(scope), SK.into())
        .update_expression("SET #slot = :zero")
        .condition_expression("#slot = :at")
        .expression_attribute_names("#slot", slot(slot_index))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":at", n(at_ms))
        .send()
        .await;
    applied("UpdateItem release login slot", res).map(|_| ())
}

/// Frees every slot of `scope` (an admin set a new password).
pub async fn clear(table: &Table, scope: &str) -> Result<(), StoreError> {
    table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(pk(scope), SK.into())))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("DeleteItem login slots", e))?;
    Ok(())
}
