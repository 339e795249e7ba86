//! Audits after submission: results pushed by WeChat or found by the poll settle the open audit; merchants can
//! withdraw (undo) or speed it up. The sweep also retries submits that waited for the privacy scan and republishes
//! events the bus did not take.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::Claims;
use crate::domain::release::{sweep_delay_ms, ReleaseState};
use crate::error::{AppError, AppResult};
use crate::pipeline::platform::{on_platform, ReleasePlatform};
use crate::pipeline::release::{
    owned, state_of, step, submit, try_step, Intent, Submitted, INTENT_STALE_MS,
};
use crate::pipeline::{self, host::CodeHost};
use crate::services::events;
use crate::services::quotas::{self, Kind};
use crate::store::item::{n, s};
use crate::store::user_templates::{self as store, Move};
use crate::wechat::client::AuditQuota;
use crate::wechat::errcode;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{self, StreamExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Passed,
    Rejected,
    Delayed,
    Withdrawn,
}

impl AuditOutcome {
    fn state(self) -> ReleaseState {
        match self {
            AuditOutcome::Passed => ReleaseState::Passed,
            AuditOutcome::Rejected => ReleaseState::Rejected,
            AuditOutcome::Delayed => ReleaseState::Delayed,
            AuditOutcome::Withdrawn => ReleaseState::Withdrawn,
        }
    }

    fn event(self) -> EventKind {
        match self {
            AuditOutcome::Passed => EventKind::AuditPassed,
            AuditOutcome::Rejected => EventKind::AuditRejected,
            AuditOutcome::Delayed => EventKind::AuditDelayed,
            AuditOutcome::Withdrawn => EventKind::AuditWithdrawn,
        }
    }

    /// `get_auditstatus` codes: 0 passed, 1 rejected, 2 auditing, 3 withdrawn, 4 delayed.
    pub fn from_status(status: i64) -> Option<Self> {
        match status {
            0 => Some(AuditOutcome::Passed),
            1 => Some(AuditOutcome::Rejected),
            3 => Some(AuditOutcome::Withdrawn),
            4 => Some(AuditOutcome::Delayed),
            _ => None,
        }
    }
}

/// Applies an audit result to the mini-program's open audit (auditing or delayed). `at_ms` is when WeChat decided,
/// so the same result pushed twice is one event. False when no audit was open: nothing changes.
pub async fn settle(
    deps: &Deps,
    component: &str,
    appid: &str,
    outcome: AuditOutcome,
    reason: Option<&str>,
    at_ms: i64,
) -> AppResult<bool> {
    let Some(saved) = store::get(&deps.table, component, appid).await? else {
        return Ok(false);
    };
    let from = state_of(&saved);
    if from.is_intent() {
        // A step is under way (the submission's own write has not landed, an undo is at WeChat): fail, so WeChat
        // delivers the result again shortly, when the step is recorded; the sweep's poll settles it otherwise.
        return Err(AppError::Conflict(format!(
            "the mini-program is {}; deliver the result again",
            from.as_str()
        )));
    }
    if !matches!(from, ReleaseState::Auditing | ReleaseState::Delayed) {
        return Ok(false);
    }
    let to = outcome.state();
    // WeChat's times have second resolution; a result never precedes its own submission in the history.
    let at_ms = at_ms.max(saved.raw_n("audit_submit_ms").unwrap_or(0) + 1);
    let event = Event::new(
        outcome.event(),
        component,
        appid,
        at_ms,
        json!({"auditId": saved.audit_id, "reason": reason.unwrap_or("")}),
    );
    try_step(
        deps,
        Move {
            component,
            appid,
            from: from.as_str(),
            to: to.as_str(),
            sets: vec![
                ("audit_status", s(to.as_str())),
                ("audit_reason", s(reason.unwrap_or(""))),
                ("audit_result_time", n(at_ms / 1000)),
            ],
            guard: None,
            event: Some(event),
            now: now_secs(),
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MiniProgramRequest {
    pub ma_app_id: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub state: &'static str,
    pub audit_id: Option<i64>,
    pub message: String,
}

pub(crate) fn withdrawn_event(component: &str, appid: &str, audit_id: Option<i64>) -> Event {
    Event::new(
        EventKind::AuditWithdrawn,
        component,
        appid,
        now_millis(),
        json!({"auditId": audit_id, "reason": "withdrawn by the merchant"}),
    )
}

/// `POST /code/audit/undo`: withdraws the open audit (WeChat allows 5 a day, 10 a month: 87013 → 429). A submit
/// still waiting for the privacy scan is withdrawn here without asking WeChat.
pub async fn undo(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: MiniProgramRequest,
) -> AppResult<AuditView> {
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, merchant, component, appid).await?;
    on_platform!(appid, |p| p
        .undo_audit(deps, merchant, component, appid, &saved)
        .await)
}

/// WeChat's withdrawal: the open audit at WeChat (counted in the merchant's quota), or a submission still waiting
/// for the privacy scan, here alone.
pub(super) async fn undo_at_wechat(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<AuditView> {
    let state = state_of(saved);
    let withdrawn = ReleaseState::Withdrawn.as_str();
    let event = withdrawn_event(component, appid, saved.audit_id);
    match state {
        ReleaseState::Auditing | ReleaseState::Delayed => {
            let unit = quotas::take(deps, component, merchant, Kind::AuditUndo).await?;
            let intent = Intent::begin(
                deps,
                component,
                appid,
                state,
                ReleaseState::Withdrawing,
                vec![],
            )
            .await?;
            unit.spend(intent.at_wechat(deps, pipeline::host(deps, component, appid).undo_audit()))
                .await?;
            intent
                .finish(
                    deps,
                    ReleaseState::Withdrawn,
                    vec![("audit_status", s(withdrawn))],
                    Some(event),
                )
                .await?;
        }
        // Not yet at WeChat: withdrawn here alone, if the sweep has not started submitting it meanwhile.
        ReleaseState::SubmitPending => {
            step(
                deps,
                Move {
                    component,
                    appid,
                    from: state.as_str(),
                    to: withdrawn,
                    sets: vec![("audit_status", s(withdrawn))],
                    guard: None,
                    event: Some(event),
                    now: now_secs(),
                },
            )
            .await?
        }
        other => {
            return Err(AppError::Conflict(format!(
                "no audit to withdraw: the code is {}",
                other.as_str()
            )))
        }
    }
    Ok(AuditView {
        state: withdrawn,
        audit_id: saved.audit_id,
        message: "the audit was withdrawn".into(),
    })
}

/// `POST /code/audit/speedup`: asks WeChat to hurry the open audit (uses the platform's speed-up quota).
pub async fn speedup(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: MiniProgramRequest,
) -> AppResult<AuditView> {
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, merchant, component, appid).await?;
    on_platform!(appid, |p| p
        .speed_up_audit(deps, merchant, component, appid, &saved)
        .await)
}

pub(super) async fn speedup_at_wechat(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<AuditView> {
    let state = state_of(saved);
    let audit_id = match (state, saved.audit_id) {
        (ReleaseState::Auditing | ReleaseState::Delayed, Some(id)) => id,
        _ => {
            return Err(AppError::Conflict(format!(
                "no audit to speed up: the code is {}",
                state.as_str()
            )))
        }
    };
    let unit = quotas::take(deps, component, merchant, Kind::AuditSpeedup).await?;
    unit.spend(pipeline::host(deps, component, appid).speedup_audit(audit_id))
        .await?;
    Ok(AuditView {
        state: state.as_str(),
        audit_id: Some(audit_id),
        message: "WeChat was asked to speed up the audit".into(),
    })
}

/// `GET /code/audit/quota`: the platform's monthly audit and speed-up quota, asked through one of the caller's
/// mini-programs (WeChat answers it per platform).
pub async fn quota(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<AuditQuota> {
    crate::services::access::owned_mini_program(deps, merchant, component, appid).await?;
    pipeline::host(deps, component, appid).audit_quota().await
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepSummary {
    pub open: usize,
    pub submitted: usize,
    pub still_pending: usize,
    pub intents_reconciled: usize,
    pub settled: usize,
    pub events_published: usize,
    pub failures: Vec<String>,
}

/// The sweep stops taking new mini-programs when less than this is left of its invocation.
const SWEEP_RESERVE_MS: i64 = 15_000;
/// Open releases looked at together, and read per index partition at a time.
const SWEEP_CONCURRENCY: usize = 16;
const SWEEP_PAGE: i32 = 50;
/// At most this many failures are listed in the summary (all are logged).
const SWEEP_FAILURES_LISTED: usize = 20;

/// What one look at an open release came to.
pub enum Swept {
    Submitted,
    StillPending,
    Reconciled,
    Settled,
    /// Nothing to do before this time (ms).
    WaitUntil(i64),
    /// Asked WeChat, no news yet: look again after the back-off.
    NoNews,
    Nothing,
}

/// The scheduled sweep: submits pending audits, polls audits that got no result event for a while, reconciles
/// intents whose holder died, and — independently — republishes events left in the outbox. It reads only the open
/// releases that are due (each carries its next-check time), pages through the index shards, looks at
/// `SWEEP_CONCURRENCY` at a time and stops starting new ones near its deadline; one failure does not stop the rest.
pub async fn sweep(deps: &Deps) -> AppResult<SweepSummary> {
    let (mut summary, outbox) = tokio::join!(sweep_releases(deps), events::flush_outbox(deps));
    match outbox {
        Ok(n) => summary.events_published = n,
        Err(e) => summary.failures.push(format!("outbox: {e}")),
    }
    Ok(summary)
}

async fn sweep_releases(deps: &Deps) -> SweepSummary {
    let mut summary = SweepSummary::default();
    let now = now_millis();
    let mut seen = std::collections::HashSet::new();
    let mut partitions: Vec<(String, Option<crate::store::item::Item>)> = store::open_partitions()
        .into_iter()
        .map(|p| (p, None))
        .collect();
    while !partitions.is_empty() {
        if crate::clock::time_left_ms().is_some_and(|left| left < SWEEP_RESERVE_MS) {
            summary
                .failures
                .push("time budget spent: the rest waits for the next run".into());
            break;
        }
        let mut work = Vec::new();
        let mut next_round = Vec::new();
        for (partition, start) in partitions {
            match store::due_releases(&deps.table, &partition, now, SWEEP_PAGE, start).await {
                Ok((due, next)) => {
                    // A record that moved during this run may show up again further on: once is enough.
                    work.extend(
                        due.into_iter()
                            .filter(|d| seen.insert((d.component.clone(), d.appid.clone()))),
                    );
                    if next.is_some() {
                        next_round.push((partition, next));
                    }
                }
                Err(e) => summary.failures.push(format!("{partition}: {e}")),
            }
        }
        partitions = next_round;
        let looks: Vec<(store::DueRelease, AppResult<Swept>)> = stream::iter(work)
            .map(|d| async move {
                let r = look_at(deps, &d.component, &d.appid).await;
                (d, r)
            })
            .buffer_unordered(SWEEP_CONCURRENCY)
            .collect()
            .await;
        for (due, result) in looks {
            summary.open += 1;
            match result {
                Ok(Swept::Submitted) => summary.submitted += 1,
                Ok(Swept::StillPending) => summary.still_pending += 1,
                Ok(Swept::Reconciled) => summary.intents_reconciled += 1,
                Ok(Swept::Settled) => summary.settled += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(component = %due.component, appid = %due.appid, error = %crate::error::chain(&e),
                        "sweep of an open release failed");
                    if summary.failures.len() < SWEEP_FAILURES_LISTED {
                        summary
                            .failures
                            .push(format!("{}/{}: {e}", due.component, due.appid));
                    }
                }
            }
        }
    }
    summary
}

/// Looks at one open release, then sets when the sweep looks at it next (unless it moved meanwhile: a move makes it
/// due again by itself).
async fn look_at(deps: &Deps, component: &str, appid: &str) -> AppResult<Swept> {
    let Some(saved) = store::get(&deps.table, component, appid).await? else {
        return Ok(Swept::Nothing);
    };
    let state = state_of(&saved);
    let misses = saved.raw_n("sweep_misses").unwrap_or(0);
    let result = sweep_one(deps, component, appid, &saved).await;
    let now = now_millis();
    let retry_ms = deps.config.sweep_retry_secs * 1000;
    let next = match &result {
        Ok(Swept::WaitUntil(due)) => Some((*due, misses)),
        Ok(Swept::StillPending) => Some((now + sweep_delay_ms(retry_ms, misses), misses + 1)),
        Ok(Swept::NoNews) => {
            let base = deps.config.audit_poll_after_secs * 1000;
            Some((now + sweep_delay_ms(base, misses), misses + 1))
        }
        Err(_) => Some((now + sweep_delay_ms(retry_ms, misses), misses + 1)),
        Ok(_) => None,
    };
    if let Some((due, misses)) = next {
        // Still pending after a submit attempt: the attempt moved the record back into `submit_pending`.
        let seen = match &result {
            Ok(Swept::StillPending) => ReleaseState::SubmitPending,
            _ => state,
        };
        store::defer(&deps.table, component, appid, seen.as_str(), due, misses).await?;
    }
    result
}

async fn sweep_one(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<Swept> {
    on_platform!(appid, |p| p.look(deps, component, appid, saved).await)
}

/// WeChat's look: submits a release whose privacy scan is done, polls an audit that sent no result, reconciles an
/// intent whose holder died.
pub(super) async fn look_at_wechat(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<Swept> {
    match state_of(saved) {
        state @ ReleaseState::SubmitPending => {
            let intent = Intent::begin(
                deps,
                component,
                appid,
                state,
                ReleaseState::Submitting,
                vec![],
            )
            .await;
            let Ok(intent) = intent else {
                return Ok(Swept::Nothing); // withdrawn (or taken) meanwhile
            };
            Ok(match submit(deps, intent, &saved.code_commit_info).await? {
                Submitted::Auditing(_) => Swept::Submitted,
                Submitted::Pending => Swept::StillPending,
            })
        }
        state if state.is_intent() => {
            let started = saved.raw_n("intent_started_ms").unwrap_or(0);
            // Intents are few and short-lived: looked at every run, not deferred.
            if now_millis() - started < INTENT_STALE_MS {
                return Ok(Swept::Nothing);
            }
            let reconciled = reconcile(deps, component, appid, state, saved, started).await;
            // An intent still here past a minute is a step stuck between WeChat and us: alarmed on when it stays.
            let outcome = match &reconciled {
                Ok(true) => "reconciled",
                Ok(false) => "left",
                Err(_) => "failed",
            };
            crate::metrics::count("StaleIntents", &[("Outcome", outcome)]);
            if outcome != "reconciled" {
                crate::metrics::count("StuckIntents", &[]);
            }
            Ok(if reconciled? {
                Swept::Reconciled
            } else {
                Swept::Nothing
            })
        }
        ReleaseState::Auditing | ReleaseState::Delayed => {
            let submitted_ms = saved.raw_n("audit_submit_ms").unwrap_or(0);
            let pollable_at = submitted_ms + deps.config.audit_poll_after_secs * 1000;
            if saved.audit_id.is_some() && now_millis() < pollable_at {
                return Ok(Swept::WaitUntil(pollable_at));
            }
            Ok(if poll_audit(deps, component, appid, saved).await? {
                Swept::Settled
            } else {
                Swept::NoNews
            })
        }
        _ => Ok(Swept::Nothing),
    }
}

/// Asks WeChat about an open audit that has waited `audit_poll_after_secs` without a result and settles it.
/// True when a result was recorded.
pub async fn poll_audit(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<bool> {
    let state = state_of(saved);
    let submitted_at = saved.raw_n("audit_submit_ms").unwrap_or(0) / 1000;
    let (Some(audit_id), true) = (
        saved.audit_id,
        now_secs() - submitted_at >= deps.config.audit_poll_after_secs,
    ) else {
        return Ok(false);
    };
    let status = pipeline::host(deps, component, appid)
        .audit_status(audit_id)
        .await?;
    let outcome = AuditOutcome::from_status(status.status);
    // A delay already recorded is not news.
    let news = match outcome {
        Some(AuditOutcome::Delayed) => state == ReleaseState::Auditing,
        Some(_) => true,
        None => false,
    };
    match (outcome, news) {
        (Some(outcome), true) => {
            let reason = (!status.reason.is_empty()).then_some(status.reason.as_str());
            settle(deps, component, appid, outcome, reason, now_millis()).await
        }
        _ => Ok(false),
    }
}

/// An intent whose holder died: WeChat's state decides what happened.
/// - committing: a commit WeChat holds (its trial version is the one meant, made after the intent began) is
///   recorded; otherwise the record goes back.
/// - submitting: an audit WeChat runs, submitted after the intent began, is adopted; otherwise `submit_pending`,
///   which the sweep submits.
/// - releasing: the online version is the audited one, released after the intent began: recorded as released.
/// - withdrawing: WeChat reports the audit withdrawn: recorded; otherwise it is still open.
/// - rolling_back: the online version changed: the rollback is recorded.
/// Otherwise the record goes back to where the intent started. False when the record changed meanwhile.
pub async fn reconcile(
    deps: &Deps,
    component: &str,
    appid: &str,
    state: ReleaseState,
    saved: &store::UserTemplate,
    started_ms: i64,
) -> AppResult<bool> {
    // WeChat's times have second resolution.
    let after_start =
        |wechat_secs: Option<i64>| wechat_secs.is_some_and(|t| t * 1000 >= started_ms - 1000);
    let raw_s = |name: &str| saved.raw.get(name).and_then(|v| v.as_s().ok()).cloned();
    let back = raw_s("intent_back_to")
        .and_then(|v| ReleaseState::parse(&v))
        .unwrap_or(ReleaseState::Saved);
    let guard = saved
        .raw
        .get("intent_token")
        .cloned()
        .map(|t| ("intent_token", t));
    let version_info = || async { pipeline::host(deps, component, appid).version_info().await };
    let latest_audit = || async { pipeline::host(deps, component, appid).latest_audit().await };
    let (to, sets, event): (ReleaseState, Vec<(&str, AttributeValue)>, Option<Event>) = match state
    {
        ReleaseState::Committing => {
            let meant: Value = raw_s("intent_commit_info")
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or(Value::Null);
            let trial = version_info().await?.exp_info.unwrap_or(Value::Null);
            if trial["exp_version"] == meant["userVersion"]
                && after_start(trial["exp_time"].as_i64())
            {
                let event = Event::new(
                    EventKind::CodeCommitted,
                    component,
                    appid,
                    now_millis(),
                    json!({"userVersion": meant["userVersion"], "userDesc": meant["userDesc"],
                           "templateId": meant["templateId"], "industryTemplateId": meant["industryTemplateId"]}),
                );
                let sets = vec![("code_commit_info", s(meant.to_string()))];
                (ReleaseState::Committed, sets, Some(event))
            } else {
                (back, vec![], None)
            }
        }
        ReleaseState::Submitting => match latest_audit().await {
            Ok(l) if after_start(Some(l.submit_audit_time)) && l.status != 3 => {
                let event = Event::new(
                    EventKind::AuditSubmitted,
                    component,
                    appid,
                    now_millis(),
                    json!({"auditId": l.auditid, "userVersion": saved.code_commit_info["userVersion"]}),
                );
                let sets = vec![
                    ("audit_id", n(l.auditid)),
                    ("audit_status", s("auditing")),
                    ("audit_reason", s("")),
                    // Polled at the sweep's next run: a result that came meanwhile settles it then.
                    ("audit_submit_ms", n(l.submit_audit_time * 1000)),
                ];
                (ReleaseState::Auditing, sets, Some(event))
            }
            Ok(_) => (ReleaseState::SubmitPending, vec![], None),
            Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::BAD_AUDIT_ID) => {
                (ReleaseState::SubmitPending, vec![], None) // no audit at all
            }
            Err(e) => return Err(e),
        },
        ReleaseState::Releasing => {
            let online = version_info().await?.release_info.unwrap_or(Value::Null);
            let ours = online["release_version"] == saved.code_commit_info["userVersion"]
                && after_start(online["release_time"].as_i64());
            if ours {
                let event = crate::pipeline::online::released_event(component, appid, saved);
                let sets = vec![("release_info", s(online.to_string()))];
                (ReleaseState::Released, sets, Some(event))
            } else {
                (back, vec![], None)
            }
        }
        ReleaseState::Withdrawing => {
            let latest = latest_audit().await?;
            if Some(latest.auditid) == saved.audit_id && latest.status == 3 {
                let event = withdrawn_event(component, appid, saved.audit_id);
                (
                    ReleaseState::Withdrawn,
                    vec![("audit_status", s("withdrawn"))],
                    Some(event),
                )
            } else {
                (back, vec![], None)
            }
        }
        ReleaseState::RollingBack => {
            let online = version_info().await?.release_info.unwrap_or(Value::Null);
            // Our record keeps WeChat's version name; the time we stored is ours, so only the name is compared.
            if online["release_version"] != saved.release_info["release_version"] {
                let event = crate::pipeline::online::rolled_back_event(
                    component,
                    appid,
                    &saved.release_info,
                    &online,
                );
                (
                    back,
                    vec![("release_info", s(online.to_string()))],
                    Some(event),
                )
            } else {
                (back, vec![], None)
            }
        }
        other => {
            return Err(AppError::Conflict(format!(
                "{} is not an intent",
                other.as_str()
            )))
        }
    };
    tracing::info!(
        component,
        appid,
        from = state.as_str(),
        to = to.as_str(),
        "stale intent reconciled"
    );
    try_step(
        deps,
        Move {
            component,
            appid,
            from: state.as_str(),
            to: to.as_str(),
            sets,
            guard,
            event,
            now: now_secs(),
        },
    )
    .await
}
