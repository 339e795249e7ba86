//! Pacing batch submissions by WeChat's monthly audit quota (shared by all of a component's mini-programs).
//!
//! A target takes one submission from the component's account (`reserve`) before it submits. When nothing is left
//! it parks: recorded as `waiting_quota` with a ticket, and no message of its own. One watch per component (a chain
//! of delayed messages, `WorkMessage::QuotaWatch`) asks WeChat every poll how much is left and wakes that many of
//! the oldest tickets; with nothing parked it ends, and the next target to park starts it again. So a fleet that
//! waits days for next month's quota costs one `queryquota` and one message a poll, not one per target.
//!
//! The watch's messages are claimed and handed over like a target's (turn and lease in `store::audit_quota`): a
//! redelivered or duplicated message never runs a second watch. A watch that dies (its message lost) is started
//! again by the next target that parks, or by a redelivery of a parked target's last message.
use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::batch::{BatchState, WorkMessage};
use crate::error::{AppError, AppResult};
use crate::pipeline::{self, host::CodeHost};
use crate::services::batches::message;
use crate::store::audit_quota::{self as store, Ticket, WatchClaim, WatchNext};
use crate::store::batches;

/// The account is read from WeChat again when it is this old.
const REREAD_MS: i64 = 600_000;
/// The watch's lease outlives the worker's 20 s timeout, as a target's does.
const LEASE_MS: i64 = 25_000;
/// A watch whose next message has not run this long after it was due counts as dead (SQS retries included).
const ALIVE_SLACK_MS: i64 = 300_000;
/// Tickets looked at per turn of the watch.
const PAGE: i32 = 50;

/// Takes one audit submission from the component's account, reading it from WeChat when it is old. False: nothing
/// is left, and the target parks (the watch reads WeChat again).
pub async fn reserve(deps: &Deps, component: &str, appid: &str) -> AppResult<bool> {
    let now = now_millis();
    let fresh = store::get(&deps.table, component)
        .await?
        .is_some_and(|a| now - a.read_ms <= REREAD_MS);
    if !fresh {
        let quota = pipeline::host(deps, component, appid).audit_quota().await?;
        store::set(&deps.table, component, quota.rest, now).await?;
    }
    Ok(store::take(&deps.table, component).await?)
}

/// WeChat refused a submission for want of quota: the account is used up until the watch reads it again.
pub async fn used_up(deps: &Deps, component: &str) -> AppResult<()> {
    Ok(store::set(&deps.table, component, 0, now_millis()).await?)
}

/// Starts the component's watch unless one is alive. Called after a target parked (its ticket written), so a
/// watch ending meanwhile either sees the ticket or lets this start a new one.
pub async fn ensure_watch(deps: &Deps, component: &str) -> AppResult<()> {
    let poll = deps.config.batch_poll_secs;
    let alive_ms = poll * 1000 + ALIVE_SLACK_MS;
    let Some(turn) = store::start_watch(&deps.table, component, now_millis(), alive_ms).await?
    else {
        return Ok(());
    };
    if let Err(e) = deps
        .queue
        .send(vec![message(&watch_message(component, turn), poll)])
        .await
    {
        if let Err(undo) = store::unstart_watch(&deps.table, component, turn).await {
            tracing::warn!(component, error = %undo, "a watch without a message stays until it counts as dead");
        }
        return Err(e.into());
    }
    tracing::info!(component, turn, "audit quota watch started");
    Ok(())
}

fn watch_message(component: &str, turn: i64) -> WorkMessage {
    WorkMessage::QuotaWatch {
        component: component.to_owned(),
        turn,
    }
}

/// One turn of the watch: wakes as many parked targets as WeChat has quota for, then hands over to the next turn,
/// or ends when nothing is parked.
pub async fn watch(deps: &Deps, component: &str, turn: i64) -> AppResult<()> {
    let owner = crate::random::hex(8);
    match store::claim_watch(&deps.table, component, turn, &owner, now_millis(), LEASE_MS).await? {
        WatchClaim::Held => {}
        WatchClaim::Stale => return Ok(()),
        WatchClaim::Busy => {
            return Err(AppError::Conflict(format!(
                "the audit quota watch of {component} is held by another delivery; this one comes back later"
            )))
        }
    }
    let delay = match wake(deps, component).await {
        Ok(delay) => delay,
        Err(e) => {
            store::release_watch(&deps.table, component, &owner, WatchNext::Retry).await?;
            return Err(e);
        }
    };
    let Some(delay) = delay else {
        store::release_watch(&deps.table, component, &owner, WatchNext::End).await?;
        tracing::info!(component, "audit quota watch ended: nothing is parked");
        // A target that parked after the look above found the watch alive and started none: look once more.
        if !store::tickets(&deps.table, component, 1).await?.is_empty() {
            ensure_watch(deps, component).await?;
        }
        return Ok(());
    };
    // The next message goes first: if handing over fails after it, the next turn still claims the watch. At
    // least a second later, so it rarely overtakes the hand-over (when it does, it comes back).
    let delay = delay.max(1);
    if let Err(e) = deps
        .queue
        .send(vec![message(&watch_message(component, turn + 1), delay)])
        .await
    {
        store::release_watch(&deps.table, component, &owner, WatchNext::Retry).await?;
        return Err(e.into());
    }
    let until_ms = now_millis() + delay * 1000 + ALIVE_SLACK_MS;
    let next = WatchNext::Again {
        turn: turn + 1,
        until_ms,
    };
    if !store::release_watch(&deps.table, component, &owner, next).await? {
        tracing::warn!(
            component,
            turn,
            "the audit quota watch's lease was lost: its newer holder goes on"
        );
    }
    Ok(())
}

/// Wakes the targets the quota allows. The delay before the watch's next turn, or None when nothing is parked.
async fn wake(deps: &Deps, component: &str) -> AppResult<Option<i64>> {
    let poll = deps.config.batch_poll_secs;
    let tickets = store::tickets(&deps.table, component, PAGE).await?;
    if tickets.is_empty() {
        return Ok(None);
    }
    let page_full = tickets.len() == PAGE as usize;
    // A target of a batch that is no longer running is woken without quota: its message finds the batch
    // cancelled (and the target with it) or paused (left for resume). Cancel's own requeue may have missed it,
    // if it was parking at that moment.
    let mut waiting = Vec::new();
    let mut stopped = Vec::new();
    let mut running: Vec<(String, bool)> = Vec::new();
    for ticket in tickets {
        let is_running = match running.iter().find(|(id, _)| *id == ticket.batch_id) {
            Some((_, r)) => *r,
            None => {
                let r = batches::get(&deps.table, component, &ticket.batch_id)
                    .await?
                    .is_some_and(|b| b.state == BatchState::Running);
                running.push((ticket.batch_id.clone(), r));
                r
            }
        };
        if is_running {
            waiting.push(ticket);
        } else {
            stopped.push(ticket);
        }
    }
    if !stopped.is_empty() {
        send_and_remove(deps, component, &stopped).await?;
    }
    if waiting.is_empty() {
        return Ok(Some(0));
    }
    let asked = &waiting[0].ma_app_id;
    let rest = match pipeline::host(deps, component, asked).audit_quota().await {
        Ok(q) => q.rest,
        Err(e) if super::passing_wechat_failure(&e) => {
            tracing::warn!(component, error = %crate::error::chain(&e), "queryquota failed: asked again next poll");
            return Ok(Some(poll));
        }
        Err(e @ (AppError::Store(_) | AppError::Queue(_) | AppError::Secrets(_))) => return Err(e),
        Err(e) => {
            // Asked with this target's token and refused for it (unauthorized, say): the target goes on alone
            // and meets the refusal on its own path; the next turn asks with another.
            tracing::warn!(component, appid = %asked, error = %crate::error::chain(&e), "queryquota refused");
            send_and_remove(deps, component, &waiting[..1]).await?;
            return Ok(Some(poll));
        }
    };
    store::set(&deps.table, component, rest, now_millis()).await?;
    let (count, delay) = wake_plan(rest, waiting.len(), page_full, poll);
    send_and_remove(deps, component, &waiting[..count]).await?;
    if count > 0 {
        tracing::info!(component, woken = count, rest, "parked batch targets woken");
    }
    Ok(Some(delay))
}

/// The woken targets' messages first, then their tickets: a crash between wakes them twice, and the target's turn
/// drops the second.
async fn send_and_remove(deps: &Deps, component: &str, woken: &[Ticket]) -> AppResult<()> {
    let messages = woken
        .iter()
        .map(|t| {
            let m = WorkMessage::Target {
                component: component.to_owned(),
                batch_id: t.batch_id.clone(),
                ma_app_id: t.ma_app_id.clone(),
                turn: t.turn,
            };
            message(&m, 0)
        })
        .collect();
    deps.queue.send(messages).await?;
    for t in woken {
        store::remove_ticket(&deps.table, component, t).await?;
    }
    Ok(())
}

/// How many of `waiting` parked targets to wake with `rest` submissions left, and the seconds before the watch
/// looks again: at once when the page was full and quota is left over (more tickets follow), else after `poll`.
pub fn wake_plan(rest: i64, waiting: usize, page_full: bool, poll: i64) -> (usize, i64) {
    let count = usize::try_from(rest.max(0)).unwrap_or(0).min(waiting);
    let more_now = page_full && count == waiting && rest > count as i64;
    (count, if more_now { 0 } else { poll })
}

#[cfg(test)]
mod tests {
    use super::wake_plan;

    #[test]
    fn no_more_are_woken_than_wechat_has_quota_for() {
        assert_eq!(wake_plan(0, 10, false, 60), (0, 60));
        assert_eq!(wake_plan(-3, 10, false, 60), (0, 60));
        assert_eq!(wake_plan(4, 10, false, 60), (4, 60));
        assert_eq!(wake_plan(10, 10, false, 60), (10, 60));
        assert_eq!(wake_plan(500, 7, false, 60), (7, 60));
    }

    #[test]
    fn a_full_page_with_quota_left_over_is_followed_at_once() {
        assert_eq!(wake_plan(500, 50, true, 60), (50, 0));
        // Exactly enough for this page: the quota is spent, the next look waits.
        assert_eq!(wake_plan(50, 50, true, 60), (50, 60));
        assert_eq!(wake_plan(20, 50, true, 60), (20, 60));
    }
}
