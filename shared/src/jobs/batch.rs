//! The batch worker (SQS, partial batch responses). Four kinds of message (`domain::batch::WorkMessage`):
//! - `expand`: creates one page of a batch's targets and queues one message per target, then the next page;
//! - `requeue`: queues every unfinished target of one page again (after resume or cancel), then the next page;
//! - `target`: moves one target on, as far as it can go now, under the target's lease;
//! - `quotaWatch`: one turn of the component's audit-quota watch (`jobs::audit_quota`).
//!
//! A target's steps are those of the single release (`pipeline::release`, `pipeline::online`), each guarded by
//! the mini-program's own release record and its intents: a commit is recognised by the batch id in its commit
//! info, a submission by the record's audit. So a redelivered, duplicated or retried message never commits or
//! submits twice. A target that must wait (its audit, a passing failure) hands over to its next message, delayed;
//! the message carries the target's next turn, and an older turn is dropped as a duplicate. One that waits for
//! WeChat's audit quota parks instead, and the quota watch wakes it.

use super::audit_quota;
use crate::clock::{now_millis, time_left_ms};
use crate::deps::Deps;
use crate::domain::batch::{
    retry_delay_secs, BatchState, TargetState, Until, WorkMessage, MAX_ATTEMPTS,
};
use crate::domain::events::{Event, EventKind};
use crate::domain::platform::{Build, Platform};
use crate::domain::release::ReleaseState;
use crate::error::{AppError, AppResult};
use crate::lambda::QueueRecord;
use crate::pipeline::platform::{on_platform, ReleasePlatform};
use crate::pipeline::release::{state_of, Submitted, INTENT_STALE_MS};
use crate::pipeline::{alipay, online, release};
use crate::services::batches::{completed_data, message};
use crate::services::{decoration, events};
use crate::store::alipay as alipay_store;
use crate::store::authorizers::{self, STATUS_AUTHORIZED};
use crate::store::batches::{self as store, Batch, Target, TargetChange};
use crate::store::templates as industry;
use crate::store::user_templates as saved_config;
use crate::wechat::errcode;

/// Messages of one invocation handled at once.
const CONCURRENCY: usize = 5;
/// A target's lease outlives the worker's 20 s timeout, so two holders never overlap.
const LEASE_MS: i64 = 25_000;
/// No new step starts with less than this left of the invocation.
const STEP_RESERVE_MS: i64 = 8_000;
/// Mini-programs created per expansion page; targets queued again per requeue page.
const PAGE: i32 = 50;
/// An expansion cursor past the WeChat mini-programs: the Alipay ones follow, from the cursor after it.
const ALIPAY_PAGES: &str = "alipay:";

/// Handles one delivery of messages; returns the ids of those SQS should deliver again.
pub async fn handle(deps: &Deps, records: Vec<QueueRecord>) -> Vec<String> {
    super::each_record(records, CONCURRENCY, "batch", |body| async move {
        handle_one(deps, &body).await
    })
    .await
}

async fn handle_one(deps: &Deps, body: &str) -> AppResult<()> {
    let msg: WorkMessage = serde_json::from_str(body)
        .map_err(|e| AppError::BadRequest(format!("not a batch message: {e}")))?;
    match msg {
        WorkMessage::Expand {
            component,
            batch_id,
            cursor,
        } => expand(deps, &component, &batch_id, &cursor).await,
        WorkMessage::Requeue {
            component,
            batch_id,
            cursor,
        } => requeue(deps, &component, &batch_id, &cursor).await,
        WorkMessage::Target {
            component,
            batch_id,
            ma_app_id,
            turn,
        } => advance(deps, &component, &batch_id, &ma_app_id, turn).await,
        WorkMessage::QuotaWatch { component, turn } => {
            audit_quota::watch(deps, &component, turn).await
        }
    }
}

fn target_message(component: &str, batch_id: &str, appid: &str, turn: i64) -> WorkMessage {
    WorkMessage::Target {
        component: component.to_owned(),
        batch_id: batch_id.to_owned(),
        ma_app_id: appid.to_owned(),
        turn,
    }
}

/// Creates the targets of the page at `cursor` and queues them, then the next page. A page already done (its
/// message delivered again) only re-queues its successor, which a crash may have lost.
async fn expand(deps: &Deps, component: &str, batch_id: &str, cursor: &str) -> AppResult<()> {
    let Some(batch) = store::get(&deps.table, component, batch_id).await? else {
        return Ok(());
    };
    let next_page = |cursor: String| WorkMessage::Expand {
        component: component.to_owned(),
        batch_id: batch_id.to_owned(),
        cursor,
    };
    if batch.expanded || batch.state == BatchState::Cancelled {
        return Ok(());
    }
    if cursor != batch.expand_at {
        if batch.expand_prev.as_deref() == Some(cursor) {
            deps.queue
                .send(vec![message(&next_page(batch.expand_at.clone()), 0)])
                .await?;
        }
        return Ok(());
    }
    let now = now_millis();
    // Each platform's mini-programs are targets only when the template has code to build them from: WeChat's code
    // template, or an Alipay template.
    let template = industry::get(&deps.table, component, &batch.spec.template_id).await?;
    let alipay_too = template.as_ref().is_some_and(|t| t.alipay.is_some());
    let wechat_too = template.as_ref().is_some_and(|t| t.template_id.is_some());
    let alipay_pages = match cursor.strip_prefix(ALIPAY_PAGES) {
        Some(after) => Some(after),
        // A template made for Alipay only: `all` starts with the Alipay mini-programs.
        None if !wechat_too && cursor.is_empty() => Some(""),
        None => None,
    };
    let (candidates, next): (Vec<(String, Option<&'static str>)>, Option<String>) =
        if let (true, Some(after)) = (batch.spec.all, alipay_pages) {
            // `all`, past the WeChat mini-programs: the workspace's Alipay ones, a page at a time.
            let page = alipay_store::list(
                &deps.table,
                component,
                PAGE,
                (!after.is_empty()).then_some(after),
            )
            .await?;
            let ours = page
                .items
                .into_iter()
                .filter(|a| a.status == alipay_store::AUTHORIZED)
                .map(|a| (a.mini_app_id, None))
                .collect();
            (ours, page.next_cursor.map(|c| format!("{ALIPAY_PAGES}{c}")))
        } else if batch.spec.all {
            let page = authorizers::list(
                &deps.table,
                component,
                PAGE,
                (!cursor.is_empty()).then_some(cursor),
            )
            .await?;
            let ours = page
                .items
                .into_iter()
                .filter(|a| a.status == STATUS_AUTHORIZED)
                .map(|a| (a.appid, None))
                .collect();
            let next = match page.next_cursor {
                None if alipay_too => Some(ALIPAY_PAGES.to_owned()),
                next => next,
            };
            (ours, next)
        } else {
            let start: usize = cursor.parse().unwrap_or(0);
            let end = (start + PAGE as usize).min(batch.spec.ma_app_ids.len());
            let mut named = Vec::new();
            for appid in &batch.spec.ma_app_ids[start.min(end)..end] {
                let skip = match Platform::of(appid) {
                    Platform::Wechat if !wechat_too => {
                        Some("a WeChat mini-program, and the template is made for Alipay only")
                    }
                    Platform::Wechat => {
                        let authorized = authorizers::get(&deps.table, component, appid)
                            .await?
                            .is_some_and(|a| a.status == STATUS_AUTHORIZED);
                        (!authorized).then_some("not an authorized mini-program of this component")
                    }
                    Platform::Alipay if !alipay_too => {
                        Some("an Alipay mini-program, and the template names no Alipay template")
                    }
                    Platform::Alipay => {
                        let authorized = alipay_store::authorization(&deps.table, component, appid)
                            .await?
                            .is_some_and(|a| a.status == alipay_store::AUTHORIZED);
                        (!authorized)
                            .then_some("not an authorized Alipay mini-program of this workspace")
                    }
                };
                named.push((appid.clone(), skip));
            }
            (
                named,
                (end < batch.spec.ma_app_ids.len()).then(|| end.to_string()),
            )
        };
    let mut queued = Vec::new();
    for (appid, skip) in candidates {
        let (state, finished) = match skip {
            Some(_) => (TargetState::Skipped, true),
            None => (TargetState::Pending, false),
        };
        store::add_target(
            &deps.table,
            component,
            batch_id,
            &appid,
            state,
            finished,
            skip,
            now,
        )
        .await?;
        if skip.is_none() {
            // Queued again on a redelivered page: the target's turn drops the duplicate.
            queued.push(message(&target_message(component, batch_id, &appid, 0), 0));
        }
    }
    deps.queue.send(queued).await?;
    if store::expansion_done(&deps.table, component, batch_id, cursor, next.as_deref()).await? {
        match next {
            Some(next) => deps.queue.send(vec![message(&next_page(next), 0)]).await?,
            None => complete_if_done(deps, component, batch_id).await?,
        }
    }
    Ok(())
}

/// Queues every unfinished target of one page at its current turn, then the next page.
async fn requeue(deps: &Deps, component: &str, batch_id: &str, cursor: &str) -> AppResult<()> {
    let Some(batch) = store::get(&deps.table, component, batch_id).await? else {
        return Ok(());
    };
    let page = store::targets(
        &deps.table,
        component,
        batch_id,
        PAGE,
        (!cursor.is_empty()).then_some(cursor),
    )
    .await?;
    let mut out: Vec<_> = page
        .items
        .iter()
        .filter(|t| !t.state.is_finished(batch.spec.until))
        .map(|t| {
            message(
                &target_message(component, batch_id, &t.ma_app_id, t.turn),
                0,
            )
        })
        .collect();
    if let Some(next) = page.next_cursor {
        let more = WorkMessage::Requeue {
            component: component.to_owned(),
            batch_id: batch_id.to_owned(),
            cursor: next,
        };
        out.push(message(&more, 0));
    } else if batch.state == BatchState::Cancelled && out.is_empty() {
        return Ok(());
    }
    deps.queue.send(out).await?;
    if batch.state == BatchState::Running {
        complete_if_done(deps, component, batch_id).await?;
    }
    Ok(())
}

/// A running batch whose every target is created and finished completes, once, with its counts.
async fn complete_if_done(deps: &Deps, component: &str, batch_id: &str) -> AppResult<()> {
    let Some(batch) = store::get(&deps.table, component, batch_id).await? else {
        return Ok(());
    };
    if batch.state != BatchState::Running || !batch.expanded {
        return Ok(());
    }
    let (counts, finished) = store::counts(&deps.table, component, batch_id).await?;
    if finished < batch.total {
        return Ok(());
    }
    let now = now_millis();
    let event = Event::new(
        EventKind::BatchCompleted,
        component,
        "",
        now,
        completed_data(batch_id, batch.total, &counts),
    );
    if store::complete(&deps.table, &batch, &event, now).await? {
        tracing::info!(component, batch_id, total = batch.total, "batch completed");
        events::publish(deps, &[event]).await;
    }
    Ok(())
}

/// What a target's delivery ends with.
#[derive(Debug)]
enum Outcome {
    /// Nothing more happens to the target.
    Finished(TargetState, Note),
    /// WeChat's audit quota is used up: the target waits in `waiting_quota`, parked, until the watch wakes it.
    Parked(Note),
    /// The target waits in `state` and its next message comes after `delay_secs`.
    Later {
        state: TargetState,
        delay_secs: i64,
        attempts: i64,
        note: Note,
    },
}

#[derive(Debug, Default)]
struct Note {
    errcode: Option<i64>,
    reason: Option<String>,
    audit_id: Option<i64>,
}

impl Note {
    fn audit(audit_id: Option<i64>) -> Self {
        Note {
            audit_id,
            ..Note::default()
        }
    }

    fn reason(reason: impl Into<String>) -> Self {
        Note {
            reason: Some(reason.into()),
            ..Note::default()
        }
    }
}

/// Moves one target on under its lease.
async fn advance(
    deps: &Deps,
    component: &str,
    batch_id: &str,
    appid: &str,
    turn: i64,
) -> AppResult<()> {
    let Some(batch) = store::get(&deps.table, component, batch_id).await? else {
        return Ok(());
    };
    let Some(target) = store::get_target(&deps.table, component, batch_id, appid).await? else {
        return Ok(());
    };
    if turn < target.turn || target.state.is_finished(batch.spec.until) {
        // A duplicate, or a target already done. A parked target's last message coming back makes sure a watch
        // will wake it (the one its parking started may have been lost).
        if target.state == TargetState::WaitingQuota {
            audit_quota::ensure_watch(deps, component).await?;
        }
        return Ok(());
    }
    let owner = crate::random::hex(8);
    let now = now_millis();
    if !store::claim_target(
        &deps.table,
        component,
        batch_id,
        appid,
        turn,
        &owner,
        now,
        LEASE_MS,
    )
    .await?
    {
        // At this turn or before it the lease was held, even if it is free by now: this message may have
        // overtaken its predecessor's hand-over (a next turn sent without delay), so it comes back rather than
        // being dropped. Only a newer turn makes it a duplicate.
        let fresh = store::get_target(&deps.table, component, batch_id, appid).await?;
        return match fresh {
            Some(t) if t.turn <= turn => Err(AppError::Conflict(format!(
                "target {appid} is held by another delivery; this one comes back later"
            ))),
            _ => Ok(()), // a newer turn took over
        };
    }
    let held = Held {
        component,
        batch_id,
        appid,
        owner: &owner,
        from: target.state,
        turn,
    };
    let outcome = match batch.state {
        BatchState::Cancelled => Outcome::Finished(
            TargetState::Cancelled,
            Note::reason("the batch was cancelled"),
        ),
        BatchState::Paused | BatchState::Completed => {
            // Resuming queues it again.
            held.record(deps, TargetChange::default()).await?;
            return Ok(());
        }
        BatchState::Running => match run(deps, &batch, &target).await {
            Ok(outcome) => outcome,
            Err(e) => {
                held.record(deps, TargetChange::default()).await?;
                return Err(e);
            }
        },
    };
    tracing::info!(component, batch_id, appid, outcome = ?outcome, "batch target moved");
    match outcome {
        Outcome::Finished(state, note) => {
            held.record(
                deps,
                TargetChange {
                    to: Some(state),
                    finished: true,
                    errcode: note.errcode,
                    reason: note.reason,
                    audit_id: note.audit_id,
                    ..TargetChange::default()
                },
            )
            .await?;
            complete_if_done(deps, component, batch_id).await
        }
        Outcome::Parked(note) => {
            held.record(
                deps,
                TargetChange {
                    to: Some(TargetState::WaitingQuota),
                    turn: Some(turn + 1),
                    reason: note.reason,
                    parked_ms: Some(now_millis()),
                    ..TargetChange::default()
                },
            )
            .await?;
            audit_quota::ensure_watch(deps, component).await
        }
        Outcome::Later {
            state,
            delay_secs,
            attempts,
            note,
        } => {
            // The next message goes first: if recording fails after it, the next turn still finds the target.
            let next = target_message(component, batch_id, appid, turn + 1);
            if let Err(e) = deps.queue.send(vec![message(&next, delay_secs)]).await {
                held.record(deps, TargetChange::default()).await?;
                return Err(e.into());
            }
            held.record(
                deps,
                TargetChange {
                    to: Some(state),
                    turn: Some(turn + 1),
                    attempts: Some(attempts),
                    errcode: note.errcode,
                    reason: note.reason,
                    audit_id: note.audit_id,
                    ..TargetChange::default()
                },
            )
            .await
        }
    }
}

/// A target under this delivery's lease.
struct Held<'a> {
    component: &'a str,
    batch_id: &'a str,
    appid: &'a str,
    owner: &'a str,
    from: TargetState,
    turn: i64,
}

impl Held<'_> {
    /// Records `change` and gives the lease up. A lease lost meanwhile (the invocation outlived it) records
    /// nothing: the newer holder's record stands.
    async fn record(&self, deps: &Deps, change: TargetChange) -> AppResult<()> {
        let to = change.to.unwrap_or(self.from);
        let recorded = store::release_target(
            &deps.table,
            self.component,
            self.batch_id,
            self.appid,
            self.owner,
            self.from,
            change,
            now_millis(),
        )
        .await?;
        if recorded {
            // Batch progress: each step a target takes, by the state it reached (`BatchTargetSteps`).
            crate::metrics::count("BatchTargetSteps", &[("State", to.as_str())]);
        } else {
            tracing::warn!(
                component = self.component,
                batch_id = self.batch_id,
                appid = self.appid,
                turn = self.turn,
                "the target's lease was lost: its newer holder's record stands"
            );
        }
        Ok(())
    }
}

fn time_for_a_step() -> bool {
    time_left_ms().is_none_or(|left| left > STEP_RESERVE_MS)
}

/// Takes the target as far as it can go now: commit, submit (within WeChat's audit quota), wait for the audit,
/// publish (or gray). Each pass reads the mini-program's release record afresh.
async fn run(deps: &Deps, batch: &Batch, target: &Target) -> AppResult<Outcome> {
    let (component, appid, spec) = (
        batch.component.as_str(),
        target.ma_app_id.as_str(),
        &batch.spec,
    );
    let poll = deps.config.batch_poll_secs;
    let platform = Platform::of(appid);
    let alipay = platform == Platform::Alipay;
    let mut state = target.state;
    let later = |state: TargetState, delay_secs: i64, note: Note| Outcome::Later {
        state,
        delay_secs,
        attempts: target.attempts,
        note,
    };
    for _ in 0..4 {
        if !time_for_a_step() {
            return Ok(later(state, 0, Note::default()));
        }
        let saved = match saved_config::get(&deps.table, component, appid).await? {
            Some(saved) => saved,
            None => {
                let Some(template) =
                    industry::get(&deps.table, component, &spec.template_id).await?
                else {
                    return Ok(Outcome::Finished(
                        TargetState::Failed,
                        Note::reason("the template was deleted"),
                    ));
                };
                let seller = match platform {
                    Platform::Wechat => authorizers::get(&deps.table, component, appid)
                        .await?
                        .and_then(|a| a.merchant),
                    Platform::Alipay => alipay_store::authorization(&deps.table, component, appid)
                        .await?
                        .and_then(|a| a.merchant),
                }
                .unwrap_or_default();
                decoration::save_defaults(deps, component, appid, &seller, &template).await?;
                continue;
            }
        };
        if saved.template_id != spec.template_id {
            return Ok(Outcome::Finished(
                TargetState::Skipped,
                Note::reason(format!(
                    "its merchant decorated template {} instead",
                    saved.template_id
                )),
            ));
        }
        let release_state = state_of(&saved);
        if release_state.is_intent() {
            let started = saved.raw_n("intent_started_ms").unwrap_or(0);
            if now_millis() - started < INTENT_STALE_MS {
                return Ok(later(state, deps.config.batch_retry_secs, Note::default()));
            }
            // Its holder died: settle it from WeChat's state before going on.
            let reconciled = on_platform!(appid, |p| p
                .reconcile(deps, component, appid, release_state, &saved, started)
                .await);
            if let Err(e) = reconciled {
                return failure(e, state, target.attempts, deps);
            }
            continue;
        }
        let ours = saved.code_commit_info["batchId"].as_str() == Some(batch.id.as_str());
        if !ours {
            if !matches!(state, TargetState::Pending | TargetState::Committing) {
                return Ok(Outcome::Finished(
                    TargetState::Failed,
                    Note::reason("the mini-program was released outside this batch meanwhile"),
                ));
            }
            if let Err(refusal) = release_state.may_commit() {
                return Ok(Outcome::Finished(
                    TargetState::Failed,
                    Note::reason(refusal),
                ));
            }
            let Some(template) = industry::get(&deps.table, component, &spec.template_id).await?
            else {
                return Ok(Outcome::Finished(
                    TargetState::Failed,
                    Note::reason("the template was deleted"),
                ));
            };
            let committed = on_platform!(appid, |p| p
                .commit_for_batch(deps, component, appid, &saved, &template, spec, &batch.id)
                .await);
            match committed {
                // Alipay builds after answering: the next pass looks at the build.
                Ok(_) if alipay => {
                    state = TargetState::Committing;
                    continue;
                }
                Ok(_) if spec.until == Until::Committed => {
                    return Ok(Outcome::Finished(TargetState::Committed, Note::default()))
                }
                Ok(_) => {
                    state = TargetState::Committed;
                    continue;
                }
                Err(e) => return failure(e, TargetState::Pending, target.attempts, deps),
            }
        }
        match release_state {
            ReleaseState::Building => {
                match alipay::build(deps, component, appid, &saved.code_commit_info).await {
                    Ok((Build::Running, _)) => {
                        return Ok(later(state, deps.config.batch_retry_secs, Note::default()))
                    }
                    Ok((Build::Done, _)) => continue,
                    Ok((Build::Failed, reason)) => {
                        return Ok(Outcome::Finished(TargetState::Failed, Note::reason(reason)))
                    }
                    Err(e) => return failure(e, state, target.attempts, deps),
                }
            }
            ReleaseState::Committed | ReleaseState::SubmitPending
                if spec.until == Until::Committed =>
            {
                return Ok(Outcome::Finished(TargetState::Committed, Note::default()))
            }
            ReleaseState::Committed if alipay => {
                // Alipay keeps no monthly audit quota like WeChat's: submitted at once.
                match alipay::submit_saved(deps, component, appid, &saved).await {
                    Ok(_) if spec.until == Until::Submitted => {
                        return Ok(Outcome::Finished(TargetState::Submitted, Note::default()))
                    }
                    Ok(_) => return Ok(later(TargetState::Auditing, poll, Note::default())),
                    Err(e) => return failure(e, state, target.attempts, deps),
                }
            }
            ReleaseState::Committed | ReleaseState::SubmitPending => {
                match audit_quota::reserve(deps, component, appid).await {
                    Ok(true) => {}
                    Ok(false) => {
                        return Ok(Outcome::Parked(Note::reason(
                            "WeChat's audit quota is used up",
                        )))
                    }
                    Err(e) => return failure(e, state, target.attempts, deps),
                }
                match release::submit_saved(deps, component, appid, &saved).await {
                    Ok(Submitted::Auditing(id)) if spec.until == Until::Submitted => {
                        let note = Note::audit(Some(id));
                        return Ok(Outcome::Finished(TargetState::Submitted, note));
                    }
                    Ok(Submitted::Auditing(id)) => {
                        let note = Note::audit(Some(id));
                        return Ok(later(TargetState::Auditing, poll, note));
                    }
                    Ok(Submitted::Pending) => {
                        return Ok(later(
                            TargetState::SubmitPending,
                            poll,
                            Note::reason("WeChat is scanning the code for privacy"),
                        ))
                    }
                    Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::AUDIT_QUOTA) => {
                        audit_quota::used_up(deps, component).await?;
                        return Ok(Outcome::Parked(Note::reason(
                            "WeChat's audit quota is used up",
                        )));
                    }
                    Err(e) => return failure(e, state, target.attempts, deps),
                }
            }
            ReleaseState::Auditing | ReleaseState::Delayed => {
                let note = Note::audit(saved.audit_id);
                if spec.until == Until::Submitted {
                    return Ok(Outcome::Finished(TargetState::Submitted, note));
                }
                let polled = on_platform!(appid, |p| p
                    .poll_audit(deps, component, appid, &saved)
                    .await);
                match polled {
                    Ok(true) => continue,
                    Ok(false) => return Ok(later(TargetState::Auditing, poll, note)),
                    Err(e) => return failure(e, TargetState::Auditing, target.attempts, deps),
                }
            }
            ReleaseState::Passed | ReleaseState::Gray | ReleaseState::Released
                if spec.until != Until::Released =>
            {
                let note = Note::audit(saved.audit_id);
                return Ok(Outcome::Finished(TargetState::Submitted, note));
            }
            ReleaseState::Passed => {
                let note = Note::audit(saved.audit_id);
                if let (true, Some(p)) = (alipay, spec.gray_percentage) {
                    return match alipay::gray(deps, component, appid, &saved, p).await {
                        Ok(_) => Ok(Outcome::Finished(TargetState::Gray, note)),
                        Err(e) => failure(e, TargetState::Auditing, target.attempts, deps),
                    };
                }
                let published = match spec.gray_percentage {
                    Some(p) => match online::gray_saved(deps, component, appid, &saved, p).await {
                        Ok(()) => return Ok(Outcome::Finished(TargetState::Gray, note)),
                        // Nothing is online yet, so nobody keeps an older version: everyone gets this one.
                        Err(AppError::Upstream(e))
                            if e.errcode() == Some(errcode::GRAY_NO_ONLINE_VERSION) =>
                        {
                            online::publish_saved(deps, component, appid, &saved)
                                .await
                                .map(|_| {
                                    Note::reason(
                                        "no version was online to keep: published to everyone",
                                    )
                                })
                        }
                        Err(e) => Err(e),
                    },
                    None => online::publish_saved(deps, component, appid, &saved)
                        .await
                        .map(|_| Note::default()),
                };
                match published {
                    Ok(n) => {
                        return Ok(Outcome::Finished(
                            TargetState::Released,
                            Note {
                                audit_id: saved.audit_id,
                                ..n
                            },
                        ))
                    }
                    Err(AppError::IcpFilingRequired(why)) => {
                        let note = Note {
                            audit_id: saved.audit_id,
                            ..Note::reason(why)
                        };
                        return Ok(later(TargetState::WaitingIcp, poll, note));
                    }
                    Err(e) => return failure(e, TargetState::Auditing, target.attempts, deps),
                }
            }
            ReleaseState::Gray => {
                let note = Note::audit(saved.audit_id);
                return Ok(Outcome::Finished(TargetState::Gray, note));
            }
            ReleaseState::Released => {
                let note = Note::audit(saved.audit_id);
                return Ok(Outcome::Finished(TargetState::Released, note));
            }
            ReleaseState::Rejected => {
                let note = Note {
                    audit_id: saved.audit_id,
                    reason: Some(
                        saved
                            .audit_reason
                            .clone()
                            .unwrap_or_else(|| "rejected by WeChat's audit".into()),
                    ),
                    errcode: None,
                };
                return Ok(Outcome::Finished(TargetState::Rejected, note));
            }
            ReleaseState::Withdrawn => {
                return Ok(Outcome::Finished(
                    TargetState::Failed,
                    Note::reason("its audit was withdrawn"),
                ))
            }
            other => {
                return Ok(Outcome::Finished(
                    TargetState::Failed,
                    Note::reason(format!("unexpected release state {}", other.as_str())),
                ))
            }
        }
    }
    Ok(later(state, 0, Note::default()))
}

/// What a failed step means for the target: a passing failure (WeChat busy or over its rate, no answer, a
/// store conflict) is retried later with back-off, up to `MAX_ATTEMPTS`; a refusal is final, with its reason.
fn failure(err: AppError, state: TargetState, attempts: i64, deps: &Deps) -> AppResult<Outcome> {
    let passing = match &err {
        e if super::passing_wechat_failure(e) => true,
        AppError::Alipay(e) if e.is_transient() => true,
        AppError::Conflict(_) => true,
        AppError::Store(crate::store::StoreError::Busy(_)) => true,
        AppError::Store(_)
        | AppError::Queue(_)
        | AppError::Bus(_)
        | AppError::Secrets(_)
        | AppError::Blob(_) => {
            return Err(err); // ours: SQS delivers the message again
        }
        _ => false,
    };
    let errcode = match &err {
        AppError::Upstream(e) => e.errcode(),
        _ => None,
    };
    // The same code and message the single release's caller would get, e.g. `PRIVACY_REQUIRED: ...`.
    let reason = format!(
        "{}: {}",
        crate::http::response::status_and_code(&err).1,
        crate::http::response::public_message(&err)
    );
    let note = Note {
        errcode,
        reason: Some(reason),
        audit_id: None,
    };
    let attempts = attempts + 1;
    if passing && attempts < MAX_ATTEMPTS {
        Ok(Outcome::Later {
            state,
            delay_secs: retry_delay_secs(attempts, deps.config.batch_retry_secs),
            attempts,
            note,
        })
    } else {
        Ok(Outcome::Finished(TargetState::Failed, note))
    }
}
