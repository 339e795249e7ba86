//! `POST /code/release`: ext_json from the saved config → commit → trial QR code (stored in S3) → pages and
//! categories → submit for audit. Each step moves the state only from the state it saw, in one transaction with the
//! event that describes it; a failure leaves the last completed step recorded, and commit and submit are never
//! retried together: a submit refused with 61039 is retried alone by the sweep.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::release::{ext_json, ReleaseState};
use crate::error::{AppError, AppResult};
use crate::http::auth::Claims;
use crate::services::{decoration, events, tokens::with_authorizer_token};
use crate::store::item::{n, s};
use crate::store::templates as industry;
use crate::store::user_templates::{self as store, Move, UserTemplate};
use crate::wechat::errcode;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRequest {
    pub ma_app_id: String,
    pub user_version: Option<String>,
    pub user_desc: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseOutcome {
    pub state: &'static str,
    pub audit_id: Option<i64>,
    pub code_commit_info: Value,
    pub qr_code_url: String,
    pub message: String,
}

/// The caller's own mini-program and its saved user template (404 for anyone else's, 409 before the first save).
pub async fn owned(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<UserTemplate> {
    decoration::owned_mini_program(deps, merchant, component, appid).await?;
    store::get(&deps.table, component, appid)
        .await?
        .ok_or_else(|| AppError::Conflict("save a config with /config/save first".into()))
}

pub fn state_of(saved: &UserTemplate) -> ReleaseState {
    ReleaseState::parse(&saved.release_state).unwrap_or(ReleaseState::Saved)
}

/// One conditional step with its event; the event is put on the bus once the step is committed.
/// False when the record was no longer in a state the caller saw: nothing written, nothing published.
pub async fn try_step(deps: &Deps, mv: Move<'_>) -> AppResult<bool> {
    let event = mv.event.clone();
    let moved = store::move_release(&deps.table, mv).await?;
    if let (true, Some(event)) = (moved, event) {
        events::publish(deps, &[event]).await;
    }
    Ok(moved)
}

/// `try_step` for a request: a step someone else took first is a 409.
pub async fn step(deps: &Deps, mv: Move<'_>) -> AppResult<()> {
    if try_step(deps, mv).await? {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "the mini-program's release state changed meanwhile; reload it".into(),
        ))
    }
}

/// Sets attributes outside the pipeline's state together with their event, then publishes it.
pub async fn set_fields(
    deps: &Deps,
    component: &str,
    appid: &str,
    sets: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
    event: Event,
) -> AppResult<()> {
    if !store::set_fields(
        &deps.table,
        component,
        appid,
        sets,
        Some(&event),
        now_secs(),
    )
    .await?
    {
        return Err(AppError::NotFound(format!("mini-program {appid}")));
    }
    events::publish(deps, &[event]).await;
    Ok(())
}

pub async fn release(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: ReleaseRequest,
) -> AppResult<ReleaseOutcome> {
    let user_version = req
        .user_version
        .unwrap_or_else(|| format!("1.0.{}", now_secs()));
    let user_desc = req.user_desc.unwrap_or_default();
    if user_version.is_empty() || user_version.len() > 64 || user_desc.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "userVersion must be 1 to 64 characters and userDesc at most 200".into(),
        ));
    }
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, merchant, component, appid).await?;
    let state = state_of(&saved);
    state.may_commit().map_err(AppError::Conflict)?;
    let template = industry::get(&deps.table, component, &saved.template_id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("the chosen template no longer exists; pick another".into())
        })?;
    let pages: Vec<(String, String, Value)> = store::pages(&deps.table, component, appid)
        .await?
        .into_iter()
        .map(|p| (p.page_key, p.page_value, p.config))
        .collect();
    let ext = ext_json(appid, &saved.config, &pages);

    // 1. commit
    let template_id = template.template_id;
    with_authorizer_token(deps, component, appid, |aat| {
        let (ext, v, d) = (ext.clone(), user_version.clone(), user_desc.clone());
        async move { deps.wechat.commit(&aat, template_id, &ext, &v, &d).await }
    })
    .await?;
    let now = now_secs();
    let commit_info = json!({"templateId": template_id, "industryTemplateId": template.id, "userVersion": user_version,
                             "userDesc": user_desc, "title": template.industry_name, "commitTime": now});
    step(
        deps,
        Move {
            component,
            appid,
            from: &[state.as_str()],
            to: ReleaseState::Committed.as_str(),
            sets: vec![("code_commit_info", s(commit_info.to_string()))],
            event: Some(Event::new(
                EventKind::CodeCommitted,
                component,
                appid,
                now_millis(),
                json!({"userVersion": user_version, "userDesc": user_desc, "templateId": template_id,
                       "industryTemplateId": template.id}),
            )),
            now,
        },
    )
    .await?;

    // 2. trial QR code, kept in S3 (bytes checked: WeChat answers errors as JSON)
    let qr_key = store_trial_qrcode(deps, component, appid, now).await?;
    let qr_code_url = deps.blobs.read_url(&qr_key).await?;

    // 3. audit
    let committed = ReleaseState::Committed;
    let (state, audit_id, message) = match submit(deps, component, appid, committed, &commit_info)
        .await?
    {
        Submitted::Auditing(id) => (ReleaseState::Auditing, Some(id), "submitted for audit"),
        Submitted::Pending => (
            ReleaseState::SubmitPending,
            None,
            "committed; WeChat is still scanning the code for privacy, the audit is submitted later",
        ),
    };
    Ok(ReleaseOutcome {
        state: state.as_str(),
        audit_id,
        code_commit_info: commit_info,
        qr_code_url,
        message: message.into(),
    })
}

/// Fetches the trial version's QR code, stores it and records its key on the committed user template.
pub async fn store_trial_qrcode(
    deps: &Deps,
    component: &str,
    appid: &str,
    now: i64,
) -> AppResult<String> {
    let (png, content_type) = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.trial_qrcode(&aat).await
    })
    .await?;
    let ext = if content_type == "image/png" {
        "png"
    } else {
        "jpg"
    };
    let key = format!("qrcodes/{component}/{appid}/{now}.{ext}");
    deps.blobs.put(&key, png, content_type).await?;
    let committed = ReleaseState::Committed.as_str();
    step(
        deps,
        Move {
            component,
            appid,
            from: &[committed],
            to: committed,
            sets: vec![("qr_code_path", s(&key))],
            event: None,
            now,
        },
    )
    .await?;
    Ok(key)
}

pub enum Submitted {
    Auditing(i64),
    /// 61039: the privacy scan is still running; the sweep submits later.
    Pending,
}

/// Submits the committed code for audit, from `current`: `committed` or `submit_pending` as the caller last saw it
/// (the state moves only if it is still that).
pub async fn submit(
    deps: &Deps,
    component: &str,
    appid: &str,
    current: ReleaseState,
    commit_info: &Value,
) -> AppResult<Submitted> {
    if !matches!(
        current,
        ReleaseState::Committed | ReleaseState::SubmitPending
    ) {
        return Err(AppError::Conflict(format!(
            "nothing to submit: the code is {}",
            current.as_str()
        )));
    }
    let page_list = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.pages(&aat).await
    })
    .await?;
    let categories = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.categories(&aat).await
    })
    .await?;
    // The first page and the first category describe the submission.
    let title = commit_info["title"].as_str().unwrap_or_default();
    let mut item =
        json!({"address": page_list.first().cloned().unwrap_or_default(), "title": title});
    if let Some(c) = categories.first() {
        item["first_class"] = json!(c.first_class);
        item["second_class"] = json!(c.second_class);
        item["first_id"] = json!(c.first_id);
        item["second_id"] = json!(c.second_id);
    }
    let items = json!([item]);
    let desc = commit_info["userDesc"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let submitted = with_authorizer_token(deps, component, appid, |aat| {
        let (items, desc) = (items.clone(), desc.clone());
        async move { deps.wechat.submit_audit(&aat, &items, &desc).await }
    })
    .await;
    match submitted {
        Ok(audit_id) => {
            step(
                deps,
                Move {
                    component,
                    appid,
                    from: &[current.as_str()],
                    to: ReleaseState::Auditing.as_str(),
                    sets: vec![
                        ("audit_id", n(audit_id)),
                        ("audit_status", s("auditing")),
                        ("audit_reason", s("")),
                        ("audit_submit_ms", n(now_millis())),
                    ],
                    event: Some(Event::new(
                        EventKind::AuditSubmitted,
                        component,
                        appid,
                        now_millis(),
                        json!({"auditId": audit_id, "userVersion": commit_info["userVersion"]}),
                    )),
                    now: now_secs(),
                },
            )
            .await?;
            tracing::info!(component, appid, audit_id, "submitted for audit");
            Ok(Submitted::Auditing(audit_id))
        }
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::PRIVACY_SCAN_RUNNING) => {
            if current != ReleaseState::SubmitPending {
                step(
                    deps,
                    Move {
                        component,
                        appid,
                        from: &[current.as_str()],
                        to: ReleaseState::SubmitPending.as_str(),
                        sets: vec![],
                        event: None,
                        now: now_secs(),
                    },
                )
                .await?;
            }
            Ok(Submitted::Pending)
        }
        Err(e) => Err(e),
    }
}
