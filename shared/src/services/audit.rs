//! Audits after submission: results pushed by WeChat or found by the poll settle the open audit; merchants can
//! withdraw (undo) or speed it up. The sweep also retries submits that waited for the privacy scan and republishes
//! events the bus did not take.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::Claims;
use crate::domain::release::ReleaseState;
use crate::error::{AppError, AppResult};
use crate::services::quotas::{self, Kind};
use crate::services::release::{
    owned, state_of, step, submit, try_step, Intent, Submitted, INTENT_STALE_MS,
};
use crate::services::{events, tokens::with_authorizer_token};
use crate::store::item::{n, s};
use crate::store::user_templates::{self as store, Move};
use crate::wechat::client::AuditQuota;

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
    if from == ReleaseState::Submitting {
        // The submission's own write has not landed yet: fail, so WeChat delivers the result again shortly.
        return Err(AppError::Conflict(
            "the audit's submission is still being recorded; deliver the result again".into(),
        ));
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
            from: &[from.as_str()],
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
    let state = state_of(&saved);
    match state {
        ReleaseState::Auditing | ReleaseState::Delayed => {
            let unit = quotas::take(deps, component, &merchant.sub, Kind::AuditUndo).await?;
            unit.spend(with_authorizer_token(
                deps,
                component,
                appid,
                |aat| async move { deps.wechat.undo_audit(&aat).await },
            ))
            .await?;
        }
        ReleaseState::SubmitPending => {}
        other => {
            return Err(AppError::Conflict(format!(
                "no audit to withdraw: the code is {}",
                other.as_str()
            )))
        }
    }
    let withdrawn = ReleaseState::Withdrawn.as_str();
    step(
        deps,
        Move {
            component,
            appid,
            from: &[state.as_str()],
            to: withdrawn,
            sets: vec![("audit_status", s(withdrawn))],
            guard: None,
            event: Some(Event::new(
                EventKind::AuditWithdrawn,
                component,
                appid,
                now_millis(),
                json!({"auditId": saved.audit_id, "reason": "withdrawn by the merchant"}),
            )),
            now: now_secs(),
        },
    )
    .await?;
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
    let state = state_of(&saved);
    let audit_id = match (state, saved.audit_id) {
        (ReleaseState::Auditing | ReleaseState::Delayed, Some(id)) => id,
        _ => {
            return Err(AppError::Conflict(format!(
                "no audit to speed up: the code is {}",
                state.as_str()
            )))
        }
    };
    let unit = quotas::take(deps, component, &merchant.sub, Kind::AuditSpeedup).await?;
    unit.spend(with_authorizer_token(
        deps,
        component,
        appid,
        |aat| async move { deps.wechat.speedup_audit(&aat, audit_id).await },
    ))
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
    with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.audit_quota(&aat).await
    })
    .await
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

/// The scheduled sweep: submits pending audits, polls audits that got no result event for a while, and
/// republishes events left in the outbox. One mini-program's failure does not stop the others.
pub async fn sweep(deps: &Deps) -> AppResult<SweepSummary> {
    let mut summary = SweepSummary::default();
    for (component, appid) in store::open_releases(&deps.table).await? {
        if crate::clock::time_left_ms().is_some_and(|left| left < SWEEP_RESERVE_MS) {
            summary
                .failures
                .push("time budget spent: the rest waits for the next run".into());
            break;
        }
        summary.open += 1;
        if let Err(e) = sweep_one(deps, &component, &appid, &mut summary).await {
            summary.failures.push(format!("{component}/{appid}: {e}"));
        }
    }
    match events::flush_outbox(deps).await {
        Ok(n) => summary.events_published = n,
        Err(e) => summary.failures.push(format!("outbox: {e}")),
    }
    Ok(summary)
}

async fn sweep_one(
    deps: &Deps,
    component: &str,
    appid: &str,
    summary: &mut SweepSummary,
) -> AppResult<()> {
    let Some(saved) = store::get(&deps.table, component, appid).await? else {
        return Ok(());
    };
    match state_of(&saved) {
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
                return Ok(()); // withdrawn (or taken) meanwhile
            };
            match submit(deps, intent, &saved.code_commit_info).await? {
                Submitted::Auditing(_) => summary.submitted += 1,
                Submitted::Pending => summary.still_pending += 1,
            }
        }
        state @ (ReleaseState::Committing | ReleaseState::Submitting) => {
            let started = saved.raw_n("intent_started_ms").unwrap_or(0);
            if now_millis() - started >= INTENT_STALE_MS
                && reconcile(deps, component, appid, state, &saved, started).await?
            {
                summary.intents_reconciled += 1;
            }
        }
        state @ (ReleaseState::Auditing | ReleaseState::Delayed) => {
            let submitted_at = saved.raw_n("audit_submit_ms").unwrap_or(0) / 1000;
            let (Some(audit_id), true) = (
                saved.audit_id,
                now_secs() - submitted_at >= deps.config.audit_poll_after_secs,
            ) else {
                return Ok(());
            };
            let status = with_authorizer_token(deps, component, appid, |aat| async move {
                deps.wechat.audit_status(&aat, audit_id).await
            })
            .await?;
            let outcome = AuditOutcome::from_status(status.status);
            // A delay already recorded is not news.
            let news = match outcome {
                Some(AuditOutcome::Delayed) => state == ReleaseState::Auditing,
                Some(_) => true,
                None => false,
            };
            if let (Some(outcome), true) = (outcome, news) {
                let reason = (!status.reason.is_empty()).then_some(status.reason.as_str());
                if settle(deps, component, appid, outcome, reason, now_millis()).await? {
                    summary.settled += 1;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// An intent whose holder died: WeChat's state decides what happened. A commit WeChat holds (its trial version
/// is the one we meant, made after the intent began) is recorded; an audit WeChat runs is adopted; otherwise the
/// record goes back (a commit) or waits for the sweep's next submit (a submission). False when the record
/// changed meanwhile.
async fn reconcile(
    deps: &Deps,
    component: &str,
    appid: &str,
    state: ReleaseState,
    saved: &store::UserTemplate,
    started_ms: i64,
) -> AppResult<bool> {
    // WeChat's times have second resolution.
    let after_start = |wechat_secs: i64| wechat_secs * 1000 >= started_ms - 1000;
    let token = saved.raw.get("intent_token").cloned();
    let guard = token.map(|t| ("intent_token", t));
    let (to, sets, event) = if state == ReleaseState::Committing {
        let meant: Value = saved
            .raw
            .get("intent_commit_info")
            .and_then(|v| v.as_s().ok())
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or(Value::Null);
        let info = with_authorizer_token(deps, component, appid, |aat| async move {
            deps.wechat.version_info(&aat).await
        })
        .await?;
        let trial = info.exp_info.unwrap_or(Value::Null);
        let held = trial["exp_version"] == meant["userVersion"]
            && trial["exp_time"].as_i64().is_some_and(after_start);
        if held {
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
            let back = saved
                .raw
                .get("intent_back_to")
                .and_then(|v| v.as_s().ok())
                .and_then(|v| ReleaseState::parse(v))
                .unwrap_or(ReleaseState::Saved);
            (back, vec![], None)
        }
    } else {
        let latest = with_authorizer_token(deps, component, appid, |aat| async move {
            deps.wechat.latest_audit_status(&aat).await
        })
        .await;
        match latest {
            Ok(l) if after_start(l.submit_audit_time) && l.status != 3 => {
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
            Err(AppError::Upstream(e))
                if e.errcode() == Some(crate::wechat::errcode::BAD_AUDIT_ID) =>
            {
                (ReleaseState::SubmitPending, vec![], None) // no audit at all
            }
            Err(e) => return Err(e),
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
            from: &[state.as_str()],
            to: to.as_str(),
            sets,
            guard,
            event,
            now: now_secs(),
        },
    )
    .await
}
