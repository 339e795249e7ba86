//! `POST /code/release`: ext_json from the saved config → commit → trial QR code (stored in S3) → pages and
//! categories → submit for audit. Each step moves the state only from the state it saw; a failure leaves the last
//! completed step recorded, and commit and submit are never retried together.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::release::{ext_json, ReleaseState};
use crate::error::{AppError, AppResult};
use crate::http::auth::Claims;
use crate::services::{decoration, tokens::with_authorizer_token};
use crate::store::item::{n, s};
use crate::store::templates as industry;
use crate::store::user_templates as store;
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

fn moved(ok: bool) -> AppResult<()> {
    ok.then_some(()).ok_or_else(|| {
        AppError::Conflict("another release of this mini-program is running; reload it".into())
    })
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
    decoration::owned_mini_program(deps, merchant, component, &req.ma_app_id).await?;
    let appid = req.ma_app_id.as_str();
    let saved = store::get(&deps.table, component, appid)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("save a config with /config/save before releasing".into())
        })?;
    let state = ReleaseState::parse(&saved.release_state).unwrap_or(ReleaseState::Saved);
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
                             "userDesc": user_desc, "commitTime": now});
    moved(
        store::set_release(
            &deps.table,
            component,
            appid,
            state.as_str(),
            ReleaseState::Committed.as_str(),
            &[("code_commit_info", s(commit_info.to_string()))],
            now,
        )
        .await?,
    )?;

    // 2. trial QR code, kept in S3 (bytes checked: WeChat answers errors as JSON)
    let (png, content_type) = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.trial_qrcode(&aat).await
    })
    .await?;
    let ext_name = if content_type == "image/png" {
        "png"
    } else {
        "jpg"
    };
    let qr_key = format!("qrcodes/{component}/{appid}/{now}.{ext_name}");
    deps.blobs.put(&qr_key, png, content_type).await?;
    moved(
        store::set_release(
            &deps.table,
            component,
            appid,
            ReleaseState::Committed.as_str(),
            ReleaseState::Committed.as_str(),
            &[("qr_code_path", s(&qr_key))],
            now,
        )
        .await?,
    )?;
    let qr_code_url = deps.blobs.read_url(&qr_key).await?;

    // 3. audit: the first page and the first category describe the submission
    let page_list = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.pages(&aat).await
    })
    .await?;
    let categories = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.categories(&aat).await
    })
    .await?;
    let mut item = json!({"address": page_list.first().cloned().unwrap_or_default(), "title": template.industry_name});
    if let Some(c) = categories.first() {
        item["first_class"] = json!(c.first_class);
        item["second_class"] = json!(c.second_class);
        item["first_id"] = json!(c.first_id);
        item["second_id"] = json!(c.second_id);
    }
    let items = json!([item]);
    let submitted = with_authorizer_token(deps, component, appid, |aat| {
        let (items, desc) = (items.clone(), user_desc.clone());
        async move { deps.wechat.submit_audit(&aat, &items, &desc).await }
    })
    .await;
    let committed = ReleaseState::Committed.as_str();
    match submitted {
        Ok(audit_id) => {
            let sets = [
                ("audit_id", n(audit_id)),
                ("audit_status", s("auditing")),
                ("audit_submit_time", n(now_secs())),
            ];
            moved(
                store::set_release(
                    &deps.table,
                    component,
                    appid,
                    committed,
                    ReleaseState::Auditing.as_str(),
                    &sets,
                    now_secs(),
                )
                .await?,
            )?;
            tracing::info!(component, appid, audit_id, "submitted for audit");
            Ok(ReleaseOutcome {
                state: "auditing",
                audit_id: Some(audit_id),
                code_commit_info: commit_info,
                qr_code_url,
                message: "submitted for audit".into(),
            })
        }
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::PRIVACY_SCAN_RUNNING) => {
            moved(
                store::set_release(
                    &deps.table,
                    component,
                    appid,
                    committed,
                    ReleaseState::SubmitPending.as_str(),
                    &[],
                    now_secs(),
                )
                .await?,
            )?;
            Ok(ReleaseOutcome {
                state: "submit_pending",
                audit_id: None,
                code_commit_info: commit_info,
                qr_code_url,
                message: "committed; WeChat is still scanning the code for privacy, the audit is submitted later".into(),
            })
        }
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::ALREADY_AUDITING) => {
            Err(AppError::Conflict(
                "WeChat already has a version of this mini-program under audit (85009)".into(),
            ))
        }
        Err(e) => Err(e),
    }
}
