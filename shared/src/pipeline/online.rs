//! The online version: publish the audited code, roll it back, open or close visits; plus the version overview
//! (WeChat's trial and online versions with our own history) and the stored trial QR code.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::Claims;
use crate::domain::release::ReleaseState;
use crate::error::{AppError, AppResult};
use crate::pipeline::audit::MiniProgramRequest;
use crate::pipeline::platform::{on_platform, ReleasePlatform};
use crate::pipeline::release::{owned, set_fields, state_of, step, Intent};
use crate::pipeline::{self, host::CodeHost};
use crate::store::history;
use crate::store::item::{n, s};
use crate::store::user_templates::{self as store, Move};

const HISTORY_LIMIT: i32 = 100;

pub fn released_event(component: &str, appid: &str, saved: &store::UserTemplate) -> Event {
    Event::new(
        EventKind::CodeReleased,
        component,
        appid,
        now_millis(),
        json!({"auditId": saved.audit_id, "userVersion": saved.code_commit_info["userVersion"]}),
    )
}

pub fn rolled_back_event(component: &str, appid: &str, from: &Value, to: &Value) -> Event {
    Event::new(
        EventKind::CodeRolledBack,
        component,
        appid,
        now_millis(),
        json!({"from": from, "to": to}),
    )
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct OnlineView {
    pub state: &'static str,
    pub release_info: Value,
    pub access_status: String,
    pub message: String,
}

async fn online_version(deps: &Deps, component: &str, appid: &str) -> AppResult<Value> {
    let info = pipeline::host(deps, component, appid)
        .version_info()
        .await?;
    Ok(info.release_info.unwrap_or(Value::Null))
}

/// `POST /code/publish`: releases the version that passed its audit to everyone (from `passed`, or during its gray
/// release).
pub async fn publish(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: MiniProgramRequest,
) -> AppResult<OnlineView> {
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, merchant, component, appid).await?;
    publish_saved(deps, component, appid, &saved).await
}

/// Publishes the audited version of `saved` (a request, or a batch target whose audit passed).
pub async fn publish_saved(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<OnlineView> {
    on_platform!(appid, |p| p.publish(deps, component, appid, saved).await)
}

/// WeChat's publication: only with a completed ICP filing.
pub(super) async fn publish_at_wechat(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<OnlineView> {
    let state = state_of(saved);
    require_publishable(state)?;
    require_icp_filing(deps, component, appid).await?;
    let intent = Intent::begin(
        deps,
        component,
        appid,
        state,
        ReleaseState::Releasing,
        vec![],
    )
    .await?;
    intent
        .at_wechat(deps, pipeline::host(deps, component, appid).release())
        .await?;
    record_published(deps, &intent, component, appid, saved).await
}

/// Only the audited version may be published (passed, or during its gray release): 409 before the platform is asked.
pub fn require_publishable(state: ReleaseState) -> AppResult<()> {
    if state.may_publish() {
        return Ok(());
    }
    Err(AppError::Conflict(format!(
        "only a version that passed its audit can be published: the code is {}",
        state.as_str()
    )))
}

/// The platform published the committed version under the `releasing` intent: recorded with its event.
pub async fn record_published(
    deps: &Deps,
    intent: &Intent<'_>,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<OnlineView> {
    let release_info = json!({"release_version": saved.code_commit_info["userVersion"],
                              "release_desc": saved.code_commit_info["userDesc"], "release_time": now_secs()});
    intent
        .finish(
            deps,
            ReleaseState::Released,
            vec![
                ("release_info", s(release_info.to_string())),
                ("gray_percentage", n(0)),
            ],
            Some(released_event(component, appid, saved)),
        )
        .await?;
    Ok(OnlineView {
        state: ReleaseState::Released.as_str(),
        release_info,
        access_status: saved.access_status.clone(),
        message: "published".into(),
    })
}

/// A mini-program goes online only with a completed ICP filing (WeChat's rule since 2023-09-01): asked before
/// publishing, so an unfiled one is refused with WeChat's status instead of failing at WeChat.
async fn require_icp_filing(deps: &Deps, component: &str, appid: &str) -> AppResult<()> {
    let icp = pipeline::readiness::icp_filing(deps, component, appid).await?;
    if icp.filed {
        return Ok(());
    }
    Err(AppError::IcpFilingRequired(format!(
        "the mini-program has no completed ICP filing (WeChat's status {}): file it before publishing",
        icp.status
    )))
}

/// `POST /code/rollback`: WeChat puts the previous online version back (87012 when there is none). The pipeline
/// state is untouched; the online version is re-read from WeChat.
pub async fn rollback(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: MiniProgramRequest,
) -> AppResult<OnlineView> {
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, merchant, component, appid).await?;
    on_platform!(appid, |p| p.rollback(deps, component, appid, &saved).await)
}

/// WeChat's rollback: the online version is re-read from WeChat afterwards.
pub(super) async fn rollback_at_wechat(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<OnlineView> {
    if saved.release_info.is_null() {
        return Err(AppError::Conflict(
            "nothing has been published yet, so there is nothing to roll back".into(),
        ));
    }
    let state = state_of(saved);
    let intent = Intent::begin(
        deps,
        component,
        appid,
        state,
        ReleaseState::RollingBack,
        vec![],
    )
    .await?;
    intent
        .at_wechat(
            deps,
            pipeline::host(deps, component, appid).revert_release(),
        )
        .await?;
    let release_info = match online_version(deps, component, appid).await {
        Ok(info) => info,
        Err(e) => {
            // Rolled back at WeChat, but we could not read what is online now: the sweep reads it.
            tracing::warn!(component, appid, error = %e, "online version unread after a rollback");
            return Err(e);
        }
    };
    intent
        .finish_back(
            deps,
            vec![("release_info", s(release_info.to_string()))],
            Some(rolled_back_event(
                component,
                appid,
                &saved.release_info,
                &release_info,
            )),
        )
        .await?;
    Ok(OnlineView {
        state: state_of(saved).as_str(),
        release_info,
        access_status: saved.access_status.clone(),
        message: "rolled back to the previous online version".into(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrayRequest {
    pub ma_app_id: String,
    pub percentage: i64,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct GrayView {
    pub state: &'static str,
    /// The percentage we asked for last (0 when no gray release runs).
    pub percentage: i64,
    /// WeChat's plan (`status` 0 init, 1 running, 2 paused, 3 done, 4 deleted; `gray_percentage`, ...).
    pub plan: Value,
}

impl GrayView {
    /// The record's state and gray percentage beside the platform's `plan`.
    pub fn of(saved: &store::UserTemplate, plan: Value) -> Self {
        let state = state_of(saved);
        GrayView {
            state: state.as_str(),
            percentage: if state == ReleaseState::Gray {
                saved.raw_n("gray_percentage").unwrap_or(0)
            } else {
                0
            },
            plan,
        }
    }
}

/// `POST /code/gray`: the audited version goes online for `percentage` percent of users (1–100, growing only);
/// WeChat needs a version already online (85079). `POST /code/publish` then releases it to everyone.
pub async fn gray(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: GrayRequest,
) -> AppResult<GrayView> {
    if !(1..=100).contains(&req.percentage) {
        return Err(AppError::BadRequest("percentage must be 1 to 100".into()));
    }
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, caller, component, appid).await?;
    on_platform!(appid, |p| p
        .gray(deps, component, appid, &saved, req.percentage)
        .await)
}

/// Releases the audited version of `saved` to `percentage` percent of users (a request, or a batch target).
pub async fn gray_saved(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
    percentage: i64,
) -> AppResult<()> {
    require_gray(saved, percentage)?;
    pipeline::host(deps, component, appid)
        .gray_release(percentage)
        .await?;
    record_gray(deps, component, appid, saved, percentage, json!({})).await
}

/// A gray release may go to `percentage`: from `passed`, or growing one under way; 409 before the platform is asked.
pub fn require_gray(saved: &store::UserTemplate, percentage: i64) -> AppResult<()> {
    let current = saved.raw_n("gray_percentage").unwrap_or(0);
    match state_of(saved) {
        ReleaseState::Passed => Ok(()),
        ReleaseState::Gray if percentage > current => Ok(()),
        ReleaseState::Gray => Err(AppError::Conflict(format!(
            "the gray release is at {current}%: it can only grow"
        ))),
        other => Err(AppError::Conflict(format!(
            "only a version that passed its audit can be released gradually: the code is {}",
            other.as_str()
        ))),
    }
}

/// The platform released the audited version to `percentage` percent of users: recorded with its event (`more`
/// adds what the platform set to the event's data).
pub async fn record_gray(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
    percentage: i64,
    more: Value,
) -> AppResult<()> {
    let mut data = json!({"percentage": percentage, "previous": saved.raw_n("gray_percentage").unwrap_or(0),
                          "userVersion": saved.code_commit_info["userVersion"]});
    if let (Some(data), Value::Object(more)) = (data.as_object_mut(), more) {
        data.extend(more);
    }
    step(
        deps,
        Move {
            component,
            appid,
            from: state_of(saved).as_str(),
            to: ReleaseState::Gray.as_str(),
            sets: vec![("gray_percentage", n(percentage))],
            guard: None,
            event: Some(Event::new(
                EventKind::CodeGrayReleased,
                component,
                appid,
                now_millis(),
                data,
            )),
            now: now_secs(),
        },
    )
    .await
}

/// `GET /code/gray`: WeChat's gray release plan and ours.
pub async fn gray_plan(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<GrayView> {
    let saved = owned(deps, caller, component, appid).await?;
    on_platform!(appid, |p| p.gray_plan(deps, component, appid, &saved).await)
}

/// WeChat's plan beside the release record.
pub(super) async fn gray_plan_at_wechat(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<GrayView> {
    let plan = pipeline::host(deps, component, appid)
        .gray_release_plan()
        .await?;
    Ok(GrayView::of(saved, plan))
}

/// The release record as a step just left it.
pub(super) async fn reread(
    deps: &Deps,
    component: &str,
    appid: &str,
) -> AppResult<store::UserTemplate> {
    store::get(&deps.table, component, appid)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("mini-program {appid}")))
}

/// `POST /code/gray/revert`: stops the gray release; the audited version stays ready to publish (`passed`).
pub async fn gray_revert(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: MiniProgramRequest,
) -> AppResult<GrayView> {
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, caller, component, appid).await?;
    on_platform!(appid, |p| p
        .gray_revert(deps, component, appid, &saved)
        .await)
}

pub(super) async fn gray_revert_at_wechat(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<()> {
    require_gray_running(saved)?;
    pipeline::host(deps, component, appid)
        .revert_gray_release()
        .await?;
    record_gray_reverted(deps, component, appid, saved).await
}

/// 409 unless a gray release runs.
pub fn require_gray_running(saved: &store::UserTemplate) -> AppResult<()> {
    let state = state_of(saved);
    if state == ReleaseState::Gray {
        return Ok(());
    }
    Err(AppError::Conflict(format!(
        "no gray release to revert: the code is {}",
        state.as_str()
    )))
}

/// The platform stopped the gray release: the audited version is ready to publish again (`passed`).
pub async fn record_gray_reverted(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
) -> AppResult<()> {
    step(
        deps,
        Move {
            component,
            appid,
            from: ReleaseState::Gray.as_str(),
            to: ReleaseState::Passed.as_str(),
            sets: vec![("gray_percentage", n(0))],
            guard: None,
            event: Some(Event::new(
                EventKind::CodeGrayReverted,
                component,
                appid,
                now_millis(),
                json!({"previous": saved.raw_n("gray_percentage").unwrap_or(0)}),
            )),
            now: now_secs(),
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VisitRequest {
    pub ma_app_id: String,
    pub action: String,
}

/// `POST /code/visit-status {action: open|close}`: whether users can open the online version.
pub async fn visit_status(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: VisitRequest,
) -> AppResult<OnlineView> {
    let action = req.action.as_str();
    if !matches!(action, "open" | "close") {
        return Err(AppError::BadRequest("action must be open or close".into()));
    }
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, merchant, component, appid).await?;
    on_platform!(appid, |p| p
        .visit_status(deps, component, appid, &saved, action)
        .await)
}

pub(super) async fn visit_status_at_wechat(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &store::UserTemplate,
    action: &str,
) -> AppResult<OnlineView> {
    pipeline::host(deps, component, appid)
        .change_visit_status(action)
        .await?;
    let event = Event::new(
        EventKind::VisitStatusChanged,
        component,
        appid,
        now_millis(),
        json!({"accessStatus": action, "previous": saved.access_status}),
    );
    set_fields(
        deps,
        component,
        appid,
        vec![("access_status", s(action))],
        event,
    )
    .await?;
    Ok(OnlineView {
        state: state_of(saved).as_str(),
        release_info: saved.release_info.clone(),
        access_status: action.to_owned(),
        message: format!(
            "visits are {}",
            if action == "open" { "open" } else { "closed" }
        ),
    })
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub event_id: String,
    pub kind: &'static str,
    pub occurred_at: i64,
    pub data: Value,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct VersionsView {
    pub ma_app_id: String,
    pub state: &'static str,
    /// WeChat's trial version (`exp_info`) and online version (`release_info`).
    pub trial: Value,
    pub online: Value,
    /// Every commit, audit, release, rollback and visit change recorded by the platform, newest first.
    pub history: Vec<HistoryEntry>,
}

/// `GET /code/versions`.
pub async fn versions(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<VersionsView> {
    crate::services::access::owned_on_any_platform(deps, merchant, component, appid).await?;
    let saved = store::get(&deps.table, component, appid).await?;
    let (trial, online) =
        on_platform!(appid, |p| p.trial_and_online(deps, component, appid).await)?;
    let history = history::list(&deps.table, component, appid, HISTORY_LIMIT)
        .await?
        .into_iter()
        .map(|e| HistoryEntry {
            event_id: e.id(),
            kind: e.kind.detail_type(),
            occurred_at: e.at_ms,
            data: e.data,
        })
        .collect();
    Ok(VersionsView {
        ma_app_id: appid.to_owned(),
        state: saved
            .as_ref()
            .map(state_of)
            .unwrap_or(ReleaseState::Saved)
            .as_str(),
        trial,
        online,
        history,
    })
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct QrCodeView {
    pub qr_code_url: String,
    pub user_version: Value,
}

/// `GET /code/qrcode`: a short-lived URL of the trial version's QR code stored at the last release.
pub async fn qrcode(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<QrCodeView> {
    let saved = owned(deps, merchant, component, appid).await?;
    let key = saved.qr_code_path.ok_or_else(|| {
        AppError::NotFound(format!(
            "trial QR code of {appid} (release a version with /code/release first)"
        ))
    })?;
    Ok(QrCodeView {
        qr_code_url: deps.blobs.read_url(&key).await?,
        user_version: saved.code_commit_info["userVersion"].clone(),
    })
}
