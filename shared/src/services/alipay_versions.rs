//! Alipay's version housekeeping outside the release pipeline's steps (seed 004 §4): taking an experience version
//! back and deleting a development version. The merchant acts on its own mini-program, the workspace's operators on
//! any. A version the pipeline is about to submit or build is not deleted from under it.
use serde::{Deserialize, Serialize};

use crate::alipay::client::{AlipayApp, VersionMethod};
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::platform::valid_alipay_version;
use crate::domain::release::ReleaseState;
use crate::error::{AppError, AppResult};
use crate::pipeline::release::state_of;
use crate::services::access::owned_alipay_mini_program;
use crate::services::alipay_auth::app_of;
use crate::store::user_templates as saved_config;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionRequest {
    pub mini_app_id: String,
    pub app_version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionDone {
    pub mini_app_id: String,
    pub app_version: String,
    pub message: &'static str,
}

/// The mini-program checked (the caller's, authorized) and the version's form: what to sign and send with.
async fn signer(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: &VersionRequest,
) -> AppResult<(AlipayApp, String)> {
    if !valid_alipay_version(&req.app_version) {
        return Err(AppError::BadRequest("appVersion must be x.y.z".into()));
    }
    let authorization =
        owned_alipay_mini_program(deps, caller, component, &req.mini_app_id).await?;
    Ok((app_of(deps, component).await?, authorization.app_auth_token))
}

/// `POST /alipay/version/experience/cancel`: the version is no longer an experience version (its QR code stops
/// opening it).
pub async fn cancel_experience(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: VersionRequest,
) -> AppResult<VersionDone> {
    let (app, token) = signer(deps, caller, component, &req).await?;
    deps.alipay
        .version(
            &app,
            &token,
            VersionMethod::ExperienceCancel,
            &req.app_version,
        )
        .await?;
    tracing::info!(component, mini_app_id = %req.mini_app_id, version = %req.app_version, "experience version cancelled");
    Ok(VersionDone {
        mini_app_id: req.mini_app_id,
        app_version: req.app_version,
        message: "the experience version was taken back",
    })
}

/// `POST /alipay/version/delete`: a development version goes (Alipay keeps at most 20); not the one the release
/// pipeline is building or about to submit.
pub async fn delete(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: VersionRequest,
) -> AppResult<VersionDone> {
    let (app, token) = signer(deps, caller, component, &req).await?;
    if let Some(saved) = saved_config::get(&deps.table, component, &req.mini_app_id).await? {
        let current = saved.code_commit_info["userVersion"].as_str() == Some(&req.app_version);
        let state = state_of(&saved);
        let in_use = state.is_intent()
            || matches!(
                state,
                ReleaseState::Building | ReleaseState::Committed | ReleaseState::SubmitPending
            );
        if current && in_use {
            return Err(AppError::Conflict(format!(
                "version {} is the one being released (the code is {}): withdraw it or release another first",
                req.app_version,
                state.as_str()
            )));
        }
    }
    deps.alipay
        .version(&app, &token, VersionMethod::Delete, &req.app_version)
        .await?;
    tracing::info!(component, mini_app_id = %req.mini_app_id, version = %req.app_version, "Alipay version deleted");
    Ok(VersionDone {
        mini_app_id: req.mini_app_id,
        app_version: req.app_version,
        message: "the development version was deleted",
    })
}
