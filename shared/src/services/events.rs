//! Publishing recorded events. An event is written to the history (the outbox) together with its state change;
//! it is then put on the bus at once, and whatever the bus did not accept is retried by the scheduled sweep.
//! Delivery is at least once: consumers deduplicate on `detail.eventId`.
use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::events::Event;
use crate::error::AppResult;
use crate::store::history;
use futures::stream::{self, StreamExt};

/// Outbox records younger than this are left to the request that wrote them.
const SWEEP_GRACE_MS: i64 = 30_000;
const SWEEP_BATCH: i32 = 100;
/// The flush stops when less than this is left of its invocation.
const FLUSH_RESERVE_MS: i64 = 5_000;

/// Records an event that has no state change of its own to share a transaction with, then publishes it.
/// A second record of the same event (a retried push) is neither recorded nor published again.
pub async fn record(deps: &Deps, event: Event) -> AppResult<()> {
    if history::record(&deps.table, &event).await? {
        publish(deps, &[event]).await;
    }
    Ok(())
}

/// Puts recorded events on the bus; never fails the caller, whose state change is already committed.
pub async fn publish(deps: &Deps, events: &[Event]) {
    // Every release step and batch milestone is an event: counted here once, as `ReleaseSteps` by type.
    for event in events {
        crate::metrics::count("ReleaseSteps", &[("Step", event.kind.detail_type())]);
    }
    if let Err(e) = try_publish(deps, events).await {
        tracing::warn!(error = %e, count = events.len(), "events stay in the outbox for the sweep");
    }
}

async fn try_publish(deps: &Deps, events: &[Event]) -> AppResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let accepted = deps.bus.put(events).await?;
    let mut published = 0;
    for (event, ok) in events.iter().zip(accepted) {
        if ok {
            history::mark_published(&deps.table, event).await?;
            published += 1;
        } else {
            tracing::warn!(event_id = %event.id(), "the bus refused an event; it stays in the outbox");
        }
    }
    Ok(published)
}

/// Republishes what earlier requests could not, every outbox shard at once: returns how many events were published.
/// Stops near the invocation's deadline; what is left waits for the next run.
pub async fn flush_outbox(deps: &Deps) -> AppResult<usize> {
    let before = now_millis() - SWEEP_GRACE_MS;
    let flushed: Vec<AppResult<usize>> = stream::iter(history::outbox_partitions())
        .map(|partition| async move { flush_partition(deps, &partition, before).await })
        .buffer_unordered(history::OUTBOX_SHARDS as usize)
        .collect()
        .await;
    let mut total = 0;
    for result in flushed {
        total += result?;
    }
    Ok(total)
}

async fn flush_partition(deps: &Deps, partition: &str, before: i64) -> AppResult<usize> {
    let mut total = 0;
    loop {
        if crate::clock::time_left_ms().is_some_and(|left| left < FLUSH_RESERVE_MS) {
            return Ok(total);
        }
        let pending = history::unpublished(&deps.table, partition, before, SWEEP_BATCH).await?;
        if pending.is_empty() {
            return Ok(total);
        }
        let published = try_publish(deps, &pending).await?;
        total += published;
        if published < pending.len() {
            return Ok(total); // the bus refuses: try again next time
        }
    }
}
