//! The release pipeline's steps for Alipay mini-programs (seed 004 §4), on the same record, states, intents, events
//! and history as WeChat's: `Alipay` implements the pipeline's platform trait (`pipeline::platform`), chosen for a
//! mini-program whose id is Alipay's (`domain::platform::Platform::of`). What differs is Alipay's: a commit is `version.upload` and a build Alipay runs
//! after answering (state `building`, polled here and by the sweep); the trial QR code is the experience version's;
//! an audit is `audit.apply`, settled by Alipay's notification or by `detail.query`; one version at a time may be in
//! audit, passed, rejected or gray, so a new release first sends the previous passed or rejected one back to
//! development (`audited.cancel`).
use std::time::Duration;

use serde_json::{json, Value};

use crate::alipay::client::{AlipayApp, VersionMethod};
use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::batch::BatchSpec;
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::Claims;
use crate::domain::platform::{
    alipay_audit_result, alipay_build, alipay_gray_strategy, valid_alipay_version, AlipayAudit,
    Build,
};
use crate::domain::release::ReleaseState;
use crate::error::{AppError, AppResult};
use crate::pipeline::audit::{settle, withdrawn_event, AuditOutcome, AuditView, Swept};
use crate::pipeline::online::{
    record_gray, record_gray_reverted, record_published, released_event, require_gray,
    require_gray_running, require_publishable, rolled_back_event, GrayView, OnlineView,
};
use crate::pipeline::platform::{Asked, ReleasePlatform};
use crate::pipeline::release::{
    audit_fields_without_id, commit_info, committed_event, ext_of, set_fields, state_of, try_step,
    Intent, ReleaseOutcome, INTENT_STALE_MS,
};
use crate::services::alipay_auth::app_of;
use crate::services::alipay_images;
use crate::store::alipay::{self as alipay_store, AUTHORIZED};
use crate::store::item::s;
use crate::store::templates as industry;
use crate::store::user_templates::{self as store, Move, UserTemplate};

/// `version_desc`'s bounds, Chinese characters counting 2.
const MIN_DESC: usize = 30;
const MAX_DESC: usize = 500;

fn desc_length(desc: &str) -> usize {
    desc.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The longest a release request waits for Alipay's build before leaving it to the sweep.
const BUILD_WAIT: Duration = Duration::from_secs(4);
const BUILD_POLL: Duration = Duration::from_millis(500);
/// The experience version's QR code is an image Alipay serves; at most this large.
const MAX_QR_BYTES: usize = 2 * 1024 * 1024;
/// Every version state `list.query` knows (it lists nothing unless asked for states).
const VERSION_STATES: [&str; 8] = [
    "INIT",
    "AUDITING",
    "WAIT_RELEASE",
    "AUDIT_REJECT",
    "GRAY",
    "RELEASE",
    "OFFLINE",
    "BASE_AUDIT_PASS",
];

/// Alipay, acting for one merchant mini-program with its `app_auth_token`.
struct AlipayHost<'a> {
    deps: &'a Deps,
    component: &'a str,
    mini_app_id: &'a str,
}

impl<'a> AlipayHost<'a> {
    fn new(deps: &'a Deps, component: &'a str, mini_app_id: &'a str) -> Self {
        Self {
            deps,
            component,
            mini_app_id,
        }
    }

    /// The provider's application and the merchant's token; 409 when the authorization is no longer in force.
    async fn signer(&self) -> AppResult<(AlipayApp, String)> {
        let auth = alipay_store::authorization(&self.deps.table, self.component, self.mini_app_id)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("Alipay mini-program {}", self.mini_app_id))
            })?;
        if auth.status != AUTHORIZED {
            return Err(AppError::NotAuthorized(format!(
                "Alipay mini-program {} is {}: its merchant authorizes it again",
                self.mini_app_id, auth.status
            )));
        }
        Ok((
            app_of(self.deps, self.component).await?,
            auth.app_auth_token,
        ))
    }

    async fn version(&self, method: VersionMethod, version: &str) -> AppResult<Value> {
        let (app, token) = self.signer().await?;
        Ok(self
            .deps
            .alipay
            .version(&app, &token, method, version)
            .await?)
    }

    async fn upload(&self, version: &str, info: &Value, ext: &Value) -> AppResult<()> {
        let (app, token) = self.signer().await?;
        self.deps
            .alipay
            .version_upload(
                &app,
                &token,
                version,
                info["alipayTemplateId"].as_str().unwrap_or_default(),
                info["alipayTemplateVersion"].as_str(),
                ext,
            )
            .await?;
        Ok(())
    }

    /// `audit.apply` for the built version with the release's region, categories and screenshots, under the
    /// mini-program's own service phone and e-mail (Alipay wants one of them).
    async fn submit(&self, version: &str, desc: &str, audit: &AlipayAudit) -> AppResult<()> {
        let files = alipay_images::screenshots(self.deps, &audit.screenshots).await?;
        let (app, token) = self.signer().await?;
        let base = self.deps.alipay.baseinfo_query(&app, &token).await?;
        let mut fields = vec![
            ("app_version", version.to_owned()),
            ("version_desc", desc.to_owned()),
        ];
        fields.extend(audit.fields());
        for name in ["service_phone", "service_email"] {
            if let Some(v) = base[name].as_str().filter(|v| !v.is_empty()) {
                fields.push((name, v.to_owned()));
            }
        }
        self.deps
            .alipay
            .audit_apply(&app, &token, &fields, &files)
            .await?;
        Ok(())
    }

    async fn gray(&self, version: &str, strategy: &str) -> AppResult<()> {
        let (app, token) = self.signer().await?;
        self.deps
            .alipay
            .gray_online(&app, &token, version, strategy)
            .await?;
        Ok(())
    }

    /// The versions Alipay lists, newest first (at most 20).
    async fn versions(&self) -> AppResult<Vec<Value>> {
        let (app, token) = self.signer().await?;
        let listed = self
            .deps
            .alipay
            .version_list(&app, &token, &VERSION_STATES)
            .await?;
        Ok(listed["app_version_infos"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The version online now, if any.
    async fn online_version(&self) -> AppResult<Option<String>> {
        Ok(self
            .versions()
            .await?
            .into_iter()
            .find(|v| v["version_status"] == "RELEASE")
            .and_then(|v| v["app_version"].as_str().map(str::to_owned)))
    }

    /// The experience version's QR code, kept in S3: its key.
    async fn trial_qrcode(&self, version: &str) -> AppResult<String> {
        self.version(VersionMethod::ExperienceCreate, version)
            .await?;
        let shown = self
            .version(VersionMethod::ExperienceQuery, version)
            .await?;
        let url = shown["exp_qr_code_url"].as_str().unwrap_or_default();
        let (bytes, content_type) = self.deps.alipay.image(url, MAX_QR_BYTES).await?;
        let ext = if content_type == "image/png" {
            "png"
        } else {
            "jpg"
        };
        let key = format!(
            "qrcodes/{}/{}/{}.{ext}",
            self.component,
            self.mini_app_id,
            now_millis()
        );
        self.deps.blobs.put(&key, bytes, content_type).await?;
        Ok(key)
    }
}

fn version_of(saved: &UserTemplate) -> AppResult<String> {
    saved.code_commit_info["userVersion"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            AppError::Conflict("no version of this mini-program was uploaded yet".into())
        })
}

/// `POST /code/release` for an Alipay mini-program: upload from the template with the saved config as ext, wait a
/// little for the build, then the experience QR code and `audit.apply`; a build still running is left to the sweep.
pub async fn release(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: UserTemplate,
    asked: Asked<'_>,
) -> AppResult<ReleaseOutcome> {
    let Asked {
        user_version: asked_version,
        version,
        desc,
        alipay: audit,
    } = asked;
    let audit = audit.unwrap_or_default();
    audit.validate().map_err(AppError::BadRequest)?;
    alipay_images::check_screenshots(deps, component, appid, &audit.screenshots).await?;
    if !valid_alipay_version(version) {
        return Err(AppError::BadRequest(
            "userVersion of an Alipay mini-program must be x.y.z, higher than its latest version"
                .into(),
        ));
    }
    if !desc.is_empty() && !(MIN_DESC..=MAX_DESC).contains(&desc_length(desc)) {
        return Err(AppError::BadRequest(format!(
            "userDesc of an Alipay release is {MIN_DESC} to {MAX_DESC} characters (Chinese ones count 2), or left out"
        )));
    }
    let state = state_of(&saved);
    let previous = &saved.code_commit_info;
    let same_version = asked_version.is_none_or(|v| previous["userVersion"] == json!(v));
    if state == ReleaseState::Committed && same_version && previous["platform"] == "alipay" {
        // Built before, not yet submitted (a failure after the build): go on from there.
        return submit_built(deps, component, appid, previous).await;
    }
    state.may_commit().map_err(AppError::Conflict)?;
    let template = industry::get(&deps.table, component, &saved.template_id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("the chosen template no longer exists; pick another".into())
        })?;
    let info = upload(
        deps, component, appid, &saved, &template, version, desc, &audit, None,
    )
    .await?;
    let waited_until = std::time::Instant::now() + BUILD_WAIT;
    while std::time::Instant::now() < waited_until {
        tokio::time::sleep(BUILD_POLL).await;
        match build_step(deps, component, appid, &info).await? {
            Some(outcome) => return Ok(outcome),
            None => continue,
        }
    }
    Ok(ReleaseOutcome {
        state: ReleaseState::Building.as_str(),
        audit_id: None,
        code_commit_info: info,
        qr_code_url: String::new(),
        message: format!(
            "Alipay is building version {version}; it is submitted for audit when the build ends"
        ),
    })
}

/// Uploads `version` of the saved config from the template's Alipay template under a `committing` intent and leaves
/// the record `building`; answers its commit info (naming the batch that made it, if any, and keeping what the audit
/// is to be applied with).
#[allow(clippy::too_many_arguments)]
async fn upload(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
    template: &industry::IndustryTemplate,
    version: &str,
    desc: &str,
    audit: &AlipayAudit,
    batch_id: Option<&str>,
) -> AppResult<Value> {
    let state = state_of(saved);
    let alipay = template.alipay.clone().ok_or_else(|| {
        AppError::Conflict(format!(
            "template {} has no Alipay template: a developer sets `alipay` with /template/update",
            template.id
        ))
    })?;
    let (ext, ext_hash) = ext_of(deps, component, appid, saved, template).await?;
    let ext: Value = serde_json::from_str(&ext).unwrap_or_else(|_| json!({}));
    let desc = if desc.is_empty() {
        format!(
            "{} {version}: built from the provider's template with the merchant's saved decoration",
            template.industry_name
        )
    } else {
        desc.to_owned()
    };
    let mut info = commit_info(template, version, &desc, &ext_hash, batch_id);
    info["platform"] = json!("alipay");
    info["alipayTemplateId"] = json!(alipay.template_id);
    info["alipayTemplateVersion"] = json!(alipay.template_version);
    if *audit != AlipayAudit::default() {
        // Kept with the commit: the audit may be applied later, by the sweep once the build ends.
        info["alipayAudit"] = json!(audit);
    }
    let intent = Intent::begin(
        deps,
        component,
        appid,
        state,
        ReleaseState::Committing,
        vec![("intent_commit_info", s(info.to_string()))],
    )
    .await?;
    let host = AlipayHost::new(deps, component, appid);
    if matches!(state, ReleaseState::Passed | ReleaseState::Rejected) {
        // Alipay holds one version at a time in audit, passed or rejected: the previous one goes back to development.
        if let Ok(old) = version_of(saved) {
            if let Err(e) = host.version(VersionMethod::AuditedCancel, &old).await {
                if !is_state_refusal(&e) {
                    intent.abandon(deps).await;
                    return Err(e);
                }
            }
        }
    }
    intent
        .at_wechat(deps, host.upload(version, &info, &ext))
        .await?;
    intent
        .finish(
            deps,
            ReleaseState::Building,
            vec![
                ("code_commit_info", s(info.to_string())),
                ("audit_reason", s("")),
            ],
            Some(committed_event(component, appid, &info)),
        )
        .await?;
    Ok(info)
}

/// A batch's commit of one Alipay target: the upload, leaving the record `building` for the worker to poll.
pub async fn commit_for_batch(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
    template: &industry::IndustryTemplate,
    batch: &crate::domain::batch::BatchSpec,
    batch_id: &str,
) -> AppResult<Value> {
    if !valid_alipay_version(&batch.user_version) {
        return Err(AppError::BadRequest(format!(
            "userVersion {} is not an Alipay version (x.y.z)",
            batch.user_version
        )));
    }
    state_of(saved).may_commit().map_err(AppError::Conflict)?;
    // A description Alipay would refuse gives way to the default one.
    let desc = if (MIN_DESC..=MAX_DESC).contains(&desc_length(&batch.user_desc)) {
        batch.user_desc.as_str()
    } else {
        ""
    };
    let (version, id) = (batch.user_version.as_str(), Some(batch_id));
    let audit = AlipayAudit::default();
    upload(
        deps, component, appid, saved, template, version, desc, &audit, id,
    )
    .await
}

/// Alipay's answer that a version is not in a state the call needs.
fn is_state_refusal(e: &AppError) -> bool {
    matches!(e, AppError::Alipay(a) if a.sub_code() == Some("MINI_APP_VERSION_STATUS_ERROR"))
}

/// One look at a build under way, recorded: done moves the record to `committed`, failed back to `saved` with the
/// reason (also answered) and a `CodeBuildFailed` event.
pub async fn build(
    deps: &Deps,
    component: &str,
    appid: &str,
    info: &Value,
) -> AppResult<(Build, String)> {
    let version = info["userVersion"].as_str().unwrap_or_default();
    let built = AlipayHost::new(deps, component, appid)
        .version(VersionMethod::BuildQuery, version)
        .await?;
    let status = built["build_status"].as_str().unwrap_or_default();
    let outcome = alipay_build(status);
    let (to, reason, event) = match outcome {
        Build::Running => return Ok((Build::Running, String::new())),
        Build::Done => (ReleaseState::Committed, String::new(), None),
        Build::Failed => {
            let reason =
                format!("Alipay's build of version {version} failed (build_status {status})");
            let event = Event::new(
                EventKind::CodeBuildFailed,
                component,
                appid,
                now_millis(),
                json!({"userVersion": version, "reason": reason}),
            );
            (ReleaseState::Saved, reason, Some(event))
        }
    };
    let sets = if reason.is_empty() {
        vec![]
    } else {
        vec![("audit_reason", s(&reason))]
    };
    let moved = try_step(
        deps,
        Move {
            component,
            appid,
            from: ReleaseState::Building.as_str(),
            to: to.as_str(),
            sets,
            guard: None,
            event,
            now: now_secs(),
        },
    )
    .await?;
    if !moved {
        return Err(AppError::Conflict(
            "the mini-program's release moved on meanwhile; reload it".into(),
        ));
    }
    if outcome == Build::Failed {
        tracing::warn!(component, appid, version, status, "Alipay build failed");
    }
    Ok((outcome, reason))
}

/// A build under way, for a request or the sweep: submitted for audit once it ended well; None while it runs.
async fn build_step(
    deps: &Deps,
    component: &str,
    appid: &str,
    info: &Value,
) -> AppResult<Option<ReleaseOutcome>> {
    match build(deps, component, appid, info).await? {
        (Build::Running, _) => Ok(None),
        (Build::Done, _) => submit_built(deps, component, appid, info).await.map(Some),
        (Build::Failed, reason) => Err(AppError::Conflict(format!(
            "{reason}: fix the config or the template and release again"
        ))),
    }
}

/// The built version of `saved` (`committed`) submitted for audit: a batch target's submit step.
pub async fn submit_saved(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<ReleaseOutcome> {
    submit_built(deps, component, appid, &saved.code_commit_info).await
}

/// The built version: experience QR code, then `audit.apply` under a `submitting` intent.
async fn submit_built(
    deps: &Deps,
    component: &str,
    appid: &str,
    info: &Value,
) -> AppResult<ReleaseOutcome> {
    let version = info["userVersion"].as_str().unwrap_or_default();
    let desc = info["userDesc"].as_str().unwrap_or_default();
    let intent = Intent::begin(
        deps,
        component,
        appid,
        ReleaseState::Committed,
        ReleaseState::Submitting,
        vec![],
    )
    .await?;
    let host = AlipayHost::new(deps, component, appid);
    let qr_key = match host.trial_qrcode(version).await {
        Ok(key) => key,
        Err(e) => {
            intent.abandon(deps).await;
            return Err(e);
        }
    };
    let audit: AlipayAudit =
        serde_json::from_value(info["alipayAudit"].clone()).unwrap_or_default();
    intent
        .at_wechat(deps, host.submit(version, desc, &audit))
        .await?;
    let submitted_ms = now_millis();
    let mut sets = audit_fields_without_id(submitted_ms);
    sets.push(("qr_code_path", s(&qr_key)));
    intent
        .finish(
            deps,
            ReleaseState::Auditing,
            sets,
            Some(Event::new(
                EventKind::AuditSubmitted,
                component,
                appid,
                submitted_ms,
                json!({"auditId": null, "userVersion": version, "platform": "alipay"}),
            )),
        )
        .await?;
    tracing::info!(
        component,
        appid,
        version,
        "Alipay version submitted for audit"
    );
    Ok(ReleaseOutcome {
        state: ReleaseState::Auditing.as_str(),
        audit_id: None,
        code_commit_info: info.clone(),
        qr_code_url: deps.blobs.read_url(&qr_key).await?,
        message: "built and submitted for audit".into(),
    })
}

/// An Alipay audit result (notified, or read by the sweep) for `version`: settles the open audit if it is that
/// version's. False when nothing was open for it.
pub async fn settle_version(
    deps: &Deps,
    component: &str,
    appid: &str,
    version: &str,
    outcome: AuditOutcome,
    reason: &str,
) -> AppResult<bool> {
    let Some(saved) = store::get(&deps.table, component, appid).await? else {
        return Ok(false);
    };
    if saved.code_commit_info["userVersion"] != json!(version) {
        return Ok(false);
    }
    let reason = (!reason.is_empty()).then_some(reason);
    settle(deps, component, appid, outcome, reason, now_millis()).await
}

/// `POST /code/publish`: `version.online` of the version that passed (or is in gray release).
pub async fn publish(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<OnlineView> {
    let state = state_of(saved);
    require_publishable(state)?;
    let version = version_of(saved)?;
    let intent = Intent::begin(
        deps,
        component,
        appid,
        state,
        ReleaseState::Releasing,
        vec![],
    )
    .await?;
    let host = AlipayHost::new(deps, component, appid);
    intent
        .at_wechat(deps, host.version(VersionMethod::Online, &version))
        .await?;
    record_published(deps, &intent, component, appid, saved).await
}

/// `POST /code/rollback`: the online version goes offline and the previous release returns (`version.rollback`).
pub async fn rollback(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<OnlineView> {
    let online = saved.release_info["release_version"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            AppError::Conflict(
                "nothing has been published yet, so there is nothing to roll back".into(),
            )
        })?;
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
    let host = AlipayHost::new(deps, component, appid);
    intent
        .at_wechat(deps, host.version(VersionMethod::Rollback, &online))
        .await?;
    let now_online = host.online_version().await?;
    let release_info = json!({"release_version": now_online, "release_time": now_secs()});
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
        state: state.as_str(),
        release_info,
        access_status: saved.access_status.clone(),
        message: "rolled back to the previous online version".into(),
    })
}

/// `POST /code/gray`: `gray.online` with the smallest of Alipay's strategies (p10, p30, p50) that covers
/// `percentage`; only growing.
pub async fn gray(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
    percentage: i64,
) -> AppResult<GrayView> {
    let (strategy, share) = alipay_gray_strategy(percentage).map_err(AppError::BadRequest)?;
    require_gray(saved, share)?;
    let version = version_of(saved)?;
    AlipayHost::new(deps, component, appid)
        .gray(&version, strategy)
        .await?;
    let more = json!({"grayStrategy": strategy});
    record_gray(deps, component, appid, saved, share, more).await?;
    Ok(GrayView {
        state: ReleaseState::Gray.as_str(),
        percentage: share,
        plan: json!({"gray_strategy": strategy}),
    })
}

/// `GET /code/gray`: Alipay's view of the version (its `gray_strategy`) and our percentage.
pub async fn gray_plan(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<GrayView> {
    let plan = match version_of(saved) {
        Ok(version) => {
            let detail = AlipayHost::new(deps, component, appid)
                .version(VersionMethod::DetailQuery, &version)
                .await?;
            json!({"app_version": version, "status": detail["status"], "gray_strategy": detail["gray_strategy"]})
        }
        Err(_) => Value::Null,
    };
    Ok(GrayView::of(saved, plan))
}

/// `POST /code/gray/revert`: `gray.cancel`; the version stays ready to publish.
pub async fn gray_revert(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<GrayView> {
    require_gray_running(saved)?;
    let version = version_of(saved)?;
    AlipayHost::new(deps, component, appid)
        .version(VersionMethod::GrayCancel, &version)
        .await?;
    record_gray_reverted(deps, component, appid, saved).await?;
    Ok(GrayView {
        state: ReleaseState::Passed.as_str(),
        percentage: 0,
        plan: json!({"app_version": version, "gray_strategy": ""}),
    })
}

/// `POST /code/audit/undo`: `audit.cancel` of the version in audit, or `audited.cancel` of one that passed or was
/// rejected: either way it is back in development (`withdrawn`).
pub async fn undo(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<AuditView> {
    let state = state_of(saved);
    // An audit under way is cancelled; a version that passed or was rejected goes back to development (退回开发).
    let method = match state {
        ReleaseState::Auditing | ReleaseState::Delayed => VersionMethod::AuditCancel,
        ReleaseState::Passed | ReleaseState::Rejected => VersionMethod::AuditedCancel,
        other => {
            return Err(AppError::Conflict(format!(
                "no audit to withdraw: the code is {}",
                other.as_str()
            )))
        }
    };
    let version = version_of(saved)?;
    let intent = Intent::begin(
        deps,
        component,
        appid,
        state,
        ReleaseState::Withdrawing,
        vec![],
    )
    .await?;
    intent
        .at_wechat(
            deps,
            AlipayHost::new(deps, component, appid).version(method, &version),
        )
        .await?;
    let withdrawn = ReleaseState::Withdrawn.as_str();
    intent
        .finish(
            deps,
            ReleaseState::Withdrawn,
            vec![("audit_status", s(withdrawn))],
            Some(withdrawn_event(component, appid, None)),
        )
        .await?;
    Ok(AuditView {
        state: withdrawn,
        audit_id: None,
        message: "the audit was withdrawn; the version is back in development".into(),
    })
}

/// `POST /code/visit-status`: `close` takes the online version off Alipay (`version.offline`); an offline version
/// does not come back, so `open` means releasing a version again.
pub async fn visit_status(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
    action: &str,
) -> AppResult<OnlineView> {
    if action == "open" {
        return Err(AppError::Conflict(
            "an Alipay version taken offline does not come back: release a version (or roll back) instead".into(),
        ));
    }
    let online = saved.release_info["release_version"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| AppError::Conflict("nothing is online to take offline".into()))?;
    AlipayHost::new(deps, component, appid)
        .version(VersionMethod::Offline, &online)
        .await?;
    let release_info =
        json!({"release_version": null, "offline_version": online, "offline_time": now_secs()});
    set_fields(
        deps,
        component,
        appid,
        vec![
            ("access_status", s(action)),
            ("release_info", s(release_info.to_string())),
        ],
        Event::new(
            EventKind::VisitStatusChanged,
            component,
            appid,
            now_millis(),
            json!({"accessStatus": action, "previous": saved.access_status, "offlineVersion": online}),
        ),
    )
    .await?;
    Ok(OnlineView {
        state: state_of(saved).as_str(),
        release_info,
        access_status: action.to_owned(),
        message: format!("version {online} is offline"),
    })
}

/// `GET /code/versions`: Alipay's versions as (trial, online): the newest not released (with its detail, the
/// rejection reason included), and the released one.
pub async fn trial_and_online(
    deps: &Deps,
    component: &str,
    appid: &str,
) -> AppResult<(Value, Value)> {
    let listed = AlipayHost::new(deps, component, appid).versions().await?;
    let online = listed
        .iter()
        .find(|v| v["version_status"] == "RELEASE")
        .cloned()
        .unwrap_or(Value::Null);
    let mut trial = listed
        .iter()
        .find(|v| !matches!(v["version_status"].as_str(), Some("RELEASE" | "OFFLINE")))
        .cloned()
        .unwrap_or(Value::Null);
    // The version in the works, with Alipay's detail: its status, gray strategy and why it was rejected.
    if let Some(version) = trial["app_version"].as_str().map(str::to_owned) {
        let detail = AlipayHost::new(deps, component, appid)
            .version(VersionMethod::DetailQuery, &version)
            .await?;
        for field in [
            "status",
            "reject_reason",
            "gray_strategy",
            "version_desc",
            "can_release",
        ] {
            trial[field] = detail[field].clone();
        }
    }
    Ok((trial, online))
}

/// Asks Alipay (`detail.query`) how the audit of the submitted version stands and settles it; true when it did.
pub async fn poll_audit(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<bool> {
    let version = version_of(saved)?;
    let detail = AlipayHost::new(deps, component, appid)
        .version(VersionMethod::DetailQuery, &version)
        .await?;
    let status = detail["status"].as_str().unwrap_or_default();
    let outcome = match alipay_audit_result(status) {
        Some(ReleaseState::Passed) => AuditOutcome::Passed,
        Some(ReleaseState::Rejected) => AuditOutcome::Rejected,
        Some(_) => AuditOutcome::Withdrawn,
        None => return Ok(false),
    };
    let reason = detail["reject_reason"].as_str().unwrap_or_default();
    settle_version(deps, component, appid, &version, outcome, reason).await
}

/// The sweep's look at one open Alipay release: a build under way (the build's end moves it to audit, or records
/// its failure), an audit without a result, a stale intent.
async fn look(deps: &Deps, component: &str, appid: &str, saved: &UserTemplate) -> AppResult<Swept> {
    let state = state_of(saved);
    match state {
        ReleaseState::Building => Ok(
            match build_step(deps, component, appid, &saved.code_commit_info).await {
                Ok(Some(_)) => Swept::Submitted,
                Ok(None) => Swept::WaitUntil(now_millis() + deps.config.sweep_retry_secs * 1000),
                // A failed build is recorded by the step itself.
                Err(AppError::Conflict(_)) => Swept::Submitted,
                Err(e) => return Err(e),
            },
        ),
        ReleaseState::Auditing | ReleaseState::Delayed => {
            Ok(if poll_audit(deps, component, appid, saved).await? {
                Swept::Settled
            } else {
                Swept::NoNews
            })
        }
        s if s.is_intent() => {
            let started = saved.raw_n("intent_started_ms").unwrap_or(0);
            if now_millis() - started < INTENT_STALE_MS {
                return Ok(Swept::Nothing);
            }
            Ok(if reconcile(deps, component, appid, s, saved).await? {
                Swept::Settled
            } else {
                Swept::Nothing
            })
        }
        _ => Ok(Swept::Nothing),
    }
}

/// An intent whose holder died: Alipay's version status decides what happened, as WeChat's does for its own. False
/// when the record changed meanwhile.
pub async fn reconcile(
    deps: &Deps,
    component: &str,
    appid: &str,
    state: ReleaseState,
    saved: &UserTemplate,
) -> AppResult<bool> {
    let raw_s = |name: &str| saved.raw.get(name).and_then(|v| v.as_s().ok()).cloned();
    let back = raw_s("intent_back_to")
        .and_then(|v| ReleaseState::parse(&v))
        .unwrap_or(ReleaseState::Saved);
    let info = match state {
        ReleaseState::Committing => raw_s("intent_commit_info")
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or(Value::Null),
        _ => saved.code_commit_info.clone(),
    };
    let version = info["userVersion"].as_str().unwrap_or_default().to_owned();
    let host = AlipayHost::new(deps, component, appid);
    // Alipay's status of the version the intent was about (None: Alipay does not have it).
    let status = match host.version(VersionMethod::DetailQuery, &version).await {
        Ok(d) => d["status"].as_str().map(str::to_owned),
        Err(AppError::Alipay(e)) if e.sub_code() == Some("MINI_APP_VERSION_NOT_EXIST") => None,
        Err(e) => return Err(e),
    };
    let status = status.as_deref();
    let event = |kind, data| Some(Event::new(kind, component, appid, now_millis(), data));
    type Sets<'s> = Vec<(&'s str, aws_sdk_dynamodb::types::AttributeValue)>;
    let (to, sets, event): (ReleaseState, Sets, Option<Event>) = match (state, status) {
        (ReleaseState::Committing, Some(_)) => (
            ReleaseState::Building,
            vec![("code_commit_info", s(info.to_string()))],
            Some(committed_event(component, appid, &info)),
        ),
        (ReleaseState::Submitting, Some("AUDITING")) => (
            ReleaseState::Auditing,
            audit_fields_without_id(now_millis()),
            event(
                EventKind::AuditSubmitted,
                json!({"auditId": null, "userVersion": version, "platform": "alipay"}),
            ),
        ),
        (ReleaseState::Releasing, Some("RELEASE")) => (
            ReleaseState::Released,
            vec![(
                "release_info",
                s(json!({"release_version": version, "release_time": now_secs()}).to_string()),
            )],
            Some(released_event(component, appid, saved)),
        ),
        (ReleaseState::Withdrawing, Some("INIT")) => (
            ReleaseState::Withdrawn,
            vec![("audit_status", s(ReleaseState::Withdrawn.as_str()))],
            Some(withdrawn_event(component, appid, None)),
        ),
        (ReleaseState::RollingBack, _) => {
            let online = host.online_version().await?;
            let release_info = json!({"release_version": online, "release_time": now_secs()});
            let rolled = rolled_back_event(component, appid, &saved.release_info, &release_info);
            (
                back,
                vec![("release_info", s(release_info.to_string()))],
                Some(rolled),
            )
        }
        _ => (back, vec![], None),
    };
    let guard = saved.raw.get("intent_token").cloned();
    let moved = try_step(
        deps,
        Move {
            component,
            appid,
            from: state.as_str(),
            to: to.as_str(),
            sets,
            guard: guard.map(|g| ("intent_token", g)),
            event,
            now: now_secs(),
        },
    )
    .await?;
    tracing::info!(
        component,
        appid,
        from = state.as_str(),
        to = to.as_str(),
        moved,
        "Alipay intent reconciled"
    );
    Ok(moved)
}

/// Alipay's open platform: what each step of the pipeline is at Alipay (functions above).
pub struct Alipay;

impl ReleasePlatform for Alipay {
    async fn release(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: UserTemplate,
        asked: Asked<'_>,
    ) -> AppResult<ReleaseOutcome> {
        release(deps, component, appid, saved, asked).await
    }

    async fn undo_audit(
        &self,
        deps: &Deps,
        _caller: &Claims,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<AuditView> {
        undo(deps, component, appid, saved).await
    }

    async fn speed_up_audit(
        &self,
        _deps: &Deps,
        _caller: &Claims,
        _component: &str,
        _appid: &str,
        _saved: &UserTemplate,
    ) -> AppResult<AuditView> {
        Err(AppError::Conflict(
            "Alipay takes no request to speed up an audit once it is applied".into(),
        ))
    }

    async fn publish(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<OnlineView> {
        publish(deps, component, appid, saved).await
    }

    async fn rollback(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<OnlineView> {
        rollback(deps, component, appid, saved).await
    }

    async fn gray(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        percentage: i64,
    ) -> AppResult<GrayView> {
        gray(deps, component, appid, saved, percentage).await
    }

    async fn gray_plan(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<GrayView> {
        gray_plan(deps, component, appid, saved).await
    }

    async fn gray_revert(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<GrayView> {
        gray_revert(deps, component, appid, saved).await
    }

    async fn visit_status(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        action: &str,
    ) -> AppResult<OnlineView> {
        visit_status(deps, component, appid, saved, action).await
    }

    async fn trial_and_online(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
    ) -> AppResult<(Value, Value)> {
        trial_and_online(deps, component, appid).await
    }

    async fn look(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<Swept> {
        look(deps, component, appid, saved).await
    }

    async fn poll_audit(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
    ) -> AppResult<bool> {
        poll_audit(deps, component, appid, saved).await
    }

    async fn reconcile(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        state: ReleaseState,
        saved: &UserTemplate,
        _started_ms: i64,
    ) -> AppResult<bool> {
        reconcile(deps, component, appid, state, saved).await
    }

    async fn commit_for_batch(
        &self,
        deps: &Deps,
        component: &str,
        appid: &str,
        saved: &UserTemplate,
        template: &industry::IndustryTemplate,
        batch: &BatchSpec,
        batch_id: &str,
    ) -> AppResult<Value> {
        commit_for_batch(deps, component, appid, saved, template, batch, batch_id).await
    }
}
