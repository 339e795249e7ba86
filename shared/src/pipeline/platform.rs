//! The platform trait of the release pipeline: every step a platform carries out for it. The shared pipeline — the
//! routes' checks, the release record and its intents, events, history, the sweep and the batch worker — loads the
//! record, checks the caller, and hands the step to the mini-program's platform with `on_platform!`. WeChat's steps
//! are implemented here over the pipeline's WeChat functions (`host::CodeHost` underneath), Alipay's in
//! `pipeline::alipay`. A step one platform lacks is its refusal, written in its implementation.
use serde_json::Value;

use crate::deps::Deps;
use crate::domain::batch::BatchSpec;
use crate::domain::identity::Claims;
use crate::domain::platform::AlipayAudit;
use crate::domain::release::ReleaseState;
use crate::error::{AppError, AppResult};
use crate::pipeline::audit::{self, AuditView, Swept};
use crate::pipeline::host::CodeHost;
use crate::pipeline::online::{self, GrayView, OnlineView};
use crate::pipeline::release::{self, ReleaseOutcome};
use crate::store::templates::IndustryTemplate;
use crate::store::user_templates::UserTemplate;

/// What `/code/release` was asked for: `user_version` as given (None: any), `version` as it will be committed, the
/// description, and Alipay's audit options (an Alipay release's only).
pub struct Asked<'a> {
    pub user_version: Option<&'a str>,
    pub version: &'a str,
    pub desc: &'a str,
    pub alipay: Option<AlipayAudit>,
}

/// Every step of the release pipeline, as one platform does it. `saved` is the mini-program's release record, read
/// by the caller; each step moves it through the shared intents and records what the platform did.
#[allow(async_fn_in_trait, clippy::too_many_arguments)]
pub trait ReleasePlatform {
    /// Commit (upload) the saved config with its ext and submit it for audit; a build or scan still running is left
    /// to the sweep.
    async fn release(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: UserTemplate,
        asked: Asked<'_>,
    ) -> AppResult<ReleaseOutcome>;
    /// Withdraw the open audit (or a passed or rejected version, where the platform needs that first).
    async fn undo_audit(
        &self,
        deps: &Deps,
        caller: &Claims,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<AuditView>;
    async fn speed_up_audit(
        &self,
        deps: &Deps,
        caller: &Claims,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<AuditView>;
    /// Put the audited version online for everyone.
    async fn publish(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<OnlineView>;
    /// Put the previous online version back.
    async fn rollback(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<OnlineView>;
    /// Put the audited version online for `percentage` percent of users.
    async fn gray(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        percentage: i64,
    ) -> AppResult<GrayView>;
    async fn gray_plan(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<GrayView>;
    async fn gray_revert(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<GrayView>;
    /// `open` or `close` the online version to users.
    async fn visit_status(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        action: &str,
    ) -> AppResult<OnlineView>;
    /// The trial and online versions as the platform knows them.
    async fn trial_and_online(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
    ) -> AppResult<(Value, Value)>;
    /// The sweep's look at an open release: submit what waits, settle what the platform decided.
    async fn look(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<Swept>;
    /// Ask for the open audit's result; true when it settled.
    async fn poll_audit(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<bool>;
    /// Settle an intent whose holder died from what the platform did (started at `started_ms`).
    async fn reconcile(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        state: ReleaseState,
        saved: &UserTemplate,
        started_ms: i64,
    ) -> AppResult<bool>;
    /// A batch's commit (upload) of one target; answers its commit info, naming the batch.
    async fn commit_for_batch(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        template: &IndustryTemplate,
        batch: &BatchSpec,
        batch_id: &str,
    ) -> AppResult<Value>;
}

/// Runs `$step` with the mini-program's platform bound to `$p` (a static choice: the trait's steps are async).
macro_rules! on_platform {
    ($appid:expr, |$p:ident| $step:expr) => {
        match $crate::domain::platform::Platform::of($appid) {
            $crate::domain::platform::Platform::Wechat => {
                let $p = $crate::pipeline::platform::Wechat;
                $step
            }
            $crate::domain::platform::Platform::Alipay => {
                let $p = $crate::pipeline::alipay::Alipay;
                $step
            }
        }
    };
}
pub(crate) use on_platform;

/// WeChat's third-party platform.
pub struct Wechat;

impl ReleasePlatform for Wechat {
    async fn release(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: UserTemplate,
        asked: Asked<'_>,
    ) -> AppResult<ReleaseOutcome> {
        if asked.alipay.is_some() {
            return Err(AppError::BadRequest(
                "`alipay` goes with an Alipay mini-program's release, not a WeChat one's".into(),
            ));
        }
        release::commit_and_submit(deps, component, appid, saved, asked).await
    }

    async fn undo_audit(
        &self,
        deps: &Deps,
        caller: &Claims,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<AuditView> {
        audit::undo_at_wechat(deps, caller, component, appid, saved).await
    }

    async fn speed_up_audit(
        &self,
        deps: &Deps,
        caller: &Claims,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<AuditView> {
        audit::speedup_at_wechat(deps, caller, component, appid, saved).await
    }

    async fn publish(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<OnlineView> {
        online::publish_at_wechat(deps, component, appid, saved).await
    }

    async fn rollback(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<OnlineView> {
        online::rollback_at_wechat(deps, component, appid, saved).await
    }

    async fn gray(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        percentage: i64,
    ) -> AppResult<GrayView> {
        online::gray_saved(deps, component, appid, saved, percentage).await?;
        let now = online::reread(deps, component, appid).await?;
        online::gray_plan_at_wechat(deps, component, appid, &now).await
    }

    async fn gray_plan(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<GrayView> {
        online::gray_plan_at_wechat(deps, component, appid, saved).await
    }

    async fn gray_revert(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<GrayView> {
        online::gray_revert_at_wechat(deps, component, appid, saved).await?;
        let now = online::reread(deps, component, appid).await?;
        online::gray_plan_at_wechat(deps, component, appid, &now).await
    }

    async fn visit_status(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        action: &str,
    ) -> AppResult<OnlineView> {
        online::visit_status_at_wechat(deps, component, appid, saved, action).await
    }

    async fn trial_and_online(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
    ) -> AppResult<(Value, Value)> {
        let info = crate::pipeline::host(deps, component, appid)
            .version_info()
            .await?;
        Ok((
            info.exp_info.unwrap_or(Value::Null),
            info.release_info.unwrap_or(Value::Null),
        ))
    }

    async fn look(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<Swept> {
        audit::look_at_wechat(deps, component, appid, saved).await
    }

    async fn poll_audit(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<bool> {
        audit::poll_audit(deps, component, appid, saved).await
    }

    async fn reconcile(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        state: ReleaseState,
        saved: &UserTemplate,
        started_ms: i64,
    ) -> AppResult<bool> {
        audit::reconcile(deps, component, appid, state, saved, started_ms).await
    }

    async fn commit_for_batch(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        template: &IndustryTemplate,
        batch: &BatchSpec,
        batch_id: &str,
    ) -> AppResult<Value> {
        release::commit_for_batch(deps, component, appid, saved, template, batch, batch_id).await
    }
}
