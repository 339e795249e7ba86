//! `POST /code/release`: ext_json from the saved config → commit → trial QR code (stored in S3) → pages and
//! categories → submit for audit. Each step moves the state only from the state it saw, in one transaction with the
//! event that describes it; a failure leaves the last completed step recorded, and commit and submit are never
//! retried together: a submit refused with 61039 is retried alone by the sweep.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::Claims;
use crate::domain::platform::AlipayAudit;
use crate::domain::release::{audit_items, ext_json, ReleaseState};
use crate::error::{AppError, AppResult};
use crate::pipeline::platform::{on_platform, Asked, ReleasePlatform};
use crate::pipeline::readiness::{self, Prepared};
use crate::pipeline::{self, host::CodeHost};
use crate::services::quotas::{self, Kind};
use crate::services::{access, events};
use crate::store::item::{n, s};
use crate::store::templates as industry;
use crate::store::user_templates::{self as store, Move, UserTemplate};
use crate::wechat::errcode;
use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRequest {
    pub ma_app_id: String,
    pub user_version: Option<String>,
    pub user_desc: Option<String>,
    /// What an Alipay audit is applied with (screenshots, region, categories); an Alipay mini-program's only.
    pub alipay: Option<AlipayAudit>,
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
    access::owned_on_any_platform(deps, merchant, component, appid).await?;
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
        .clone()
        .unwrap_or_else(|| format!("1.0.{}", now_secs()));
    let user_desc = req.user_desc.unwrap_or_default();
    if user_version.is_empty() || user_version.len() > 64 || user_desc.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "userVersion must be 1 to 64 characters and userDesc at most 200".into(),
        ));
    }
    let appid = req.ma_app_id.as_str();
    let saved = owned(deps, merchant, component, appid).await?;
    let unit = quotas::take(deps, component, merchant, Kind::AuditSubmission).await?;
    let asked = Asked {
        user_version: req.user_version.as_deref(),
        version: &user_version,
        desc: &user_desc,
        alipay: req.alipay,
    };
    let released = async {
        on_platform!(appid, |p| p
            .release(deps, component, appid, saved, asked)
            .await)
    };
    unit.spend(released).await
}

/// WeChat's release: commit the saved config with its ext (unless WeChat holds exactly that code), then the
/// readiness steps and the audit submission.
pub(super) async fn commit_and_submit(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: UserTemplate,
    asked: Asked<'_>,
) -> AppResult<ReleaseOutcome> {
    let (user_version, user_desc) = (asked.version.to_owned(), asked.desc.to_owned());
    let state = state_of(&saved);
    let template = industry::get(&deps.table, component, &saved.template_id)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("the chosen template no longer exists; pick another".into())
        })?;
    let template_id = wechat_code(&template)?;
    let (ext, ext_hash) = ext_of(deps, component, appid, &saved, &template).await?;

    // 1. commit, unless WeChat already holds exactly this code (a release that failed after its commit resumes)
    let previous = &saved.code_commit_info;
    let resume = state == ReleaseState::Committed
        && previous["templateId"] == json!(template_id)
        && previous["extHash"] == json!(ext_hash)
        && asked
            .user_version
            .is_none_or(|v| previous["userVersion"] == json!(v));
    let (intent, commit_info) = if resume {
        tracing::info!(component, appid, "resuming a release after its commit");
        let intent = Intent::begin(
            deps,
            component,
            appid,
            state,
            ReleaseState::Submitting,
            vec![],
        )
        .await?;
        (intent, previous.clone())
    } else {
        state.may_commit().map_err(AppError::Conflict)?;
        readiness::before_commit(deps, component, appid, &template).await?;
        let commit_info = commit_info(&template, &user_version, &user_desc, &ext_hash, None);
        let intent = commit_at_wechat(deps, component, appid, state, &ext, &commit_info).await?;
        let intent = intent
            .advance(
                deps,
                ReleaseState::Submitting,
                ReleaseState::Committed,
                vec![("code_commit_info", s(commit_info.to_string()))],
                Some(committed_event(component, appid, &commit_info)),
            )
            .await?;
        (intent, commit_info)
    };

    // 2. trial QR code, kept in S3 (bytes checked: WeChat answers errors as JSON)
    let qr_key = match store_trial_qrcode(deps, &intent).await {
        Ok(key) => key,
        Err(e) => {
            intent.abandon(deps).await;
            return Err(e);
        }
    };
    let qr_code_url = deps.blobs.read_url(&qr_key).await?;

    // 3. audit
    let (state, audit_id, message) = match submit(deps, intent, &commit_info).await? {
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

/// The `ext_json` of a saved config with its pages and the template's `requiredPrivateInfos`, and its hash (what a
/// commit is compared by).
pub(crate) async fn ext_of(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
    template: &industry::IndustryTemplate,
) -> AppResult<(String, String)> {
    let pages: Vec<(String, String, Value)> = store::pages(&deps.table, component, appid)
        .await?
        .into_iter()
        .map(|p| (p.page_key, p.page_value, p.config))
        .collect();
    let ext = ext_json(
        appid,
        &saved.config,
        &pages,
        &template.privacy.required_private_infos,
    );
    let hash = sha1_hex(&ext);
    Ok((ext, hash))
}

/// A batch's commit of one target: the saved config goes to WeChat under a `committing` intent and the record
/// ends `committed`, its commit info naming the batch (so a redelivered step sees its commit done).
pub async fn commit_for_batch(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
    template: &industry::IndustryTemplate,
    batch: &crate::domain::batch::BatchSpec,
    batch_id: &str,
) -> AppResult<Value> {
    let state = state_of(saved);
    state.may_commit().map_err(AppError::Conflict)?;
    wechat_code(template)?;
    readiness::before_commit(deps, component, appid, template).await?;
    let (ext, ext_hash) = ext_of(deps, component, appid, saved, template).await?;
    let info = commit_info(
        template,
        &batch.user_version,
        &batch.user_desc,
        &ext_hash,
        Some(batch_id),
    );
    let intent = commit_at_wechat(deps, component, appid, state, &ext, &info).await?;
    intent
        .finish(
            deps,
            ReleaseState::Committed,
            vec![("code_commit_info", s(info.to_string()))],
            Some(committed_event(component, appid, &info)),
        )
        .await?;
    Ok(info)
}

/// WeChat's code template a WeChat mini-program is committed from; a template made for Alipay only has none.
pub(crate) fn wechat_code(template: &industry::IndustryTemplate) -> AppResult<i64> {
    template.template_id.ok_or_else(|| {
        AppError::Conflict(format!(
            "template {} is made for Alipay only: it has no WeChat code to build a WeChat mini-program from",
            template.id
        ))
    })
}

/// What a commit is, kept as `codeCommitInfo` (and in its intent, for the sweep): the WeChat template, the version,
/// the title the audit is submitted under, the hash of its `ext_json` and the batch that made it, if any.
pub(crate) fn commit_info(
    template: &industry::IndustryTemplate,
    user_version: &str,
    user_desc: &str,
    ext_hash: &str,
    batch_id: Option<&str>,
) -> Value {
    let mut info = json!({"templateId": template.template_id, "industryTemplateId": template.id,
                          "userVersion": user_version, "userDesc": user_desc,
                          "title": template.industry_name, "commitTime": now_secs(), "extHash": ext_hash});
    if let Some(batch_id) = batch_id {
        info["batchId"] = json!(batch_id);
    }
    info
}

/// The `CodeCommitted` event of a commit described by `info`.
pub(crate) fn committed_event(component: &str, appid: &str, info: &Value) -> Event {
    let mut data = json!({"userVersion": info["userVersion"], "userDesc": info["userDesc"],
                          "templateId": info["templateId"], "industryTemplateId": info["industryTemplateId"]});
    if !info["batchId"].is_null() {
        data["batchId"] = info["batchId"].clone();
    }
    Event::new(
        EventKind::CodeCommitted,
        component,
        appid,
        now_millis(),
        data,
    )
}

/// Takes a `committing` intent from `state` and sends the commit `info` describes to WeChat. A failure abandons the
/// intent — safe even if the commit reached WeChat unanswered: the next commit replaces the trial version. The
/// intent is returned still held, for the caller to record the commit.
async fn commit_at_wechat<'a>(
    deps: &Deps,
    component: &'a str,
    appid: &'a str,
    state: ReleaseState,
    ext: &str,
    info: &Value,
) -> AppResult<Intent<'a>> {
    let intent = Intent::begin(
        deps,
        component,
        appid,
        state,
        ReleaseState::Committing,
        vec![("intent_commit_info", s(info.to_string()))],
    )
    .await?;
    let template_id = info["templateId"].as_i64().unwrap_or_default();
    let (version, desc) = (
        info["userVersion"].as_str().unwrap_or_default(),
        info["userDesc"].as_str().unwrap_or_default(),
    );
    let committed = pipeline::host(deps, component, appid)
        .commit(template_id, ext, version, desc)
        .await;
    if let Err(e) = committed {
        intent.abandon(deps).await;
        return Err(e);
    }
    Ok(intent)
}

/// Submits committed code (from `committed` or `submit_pending`) for audit under a `submitting` intent.
pub async fn submit_saved(
    deps: &Deps,
    component: &str,
    appid: &str,
    saved: &UserTemplate,
) -> AppResult<Submitted> {
    let intent = Intent::begin(
        deps,
        component,
        appid,
        state_of(saved),
        ReleaseState::Submitting,
        vec![],
    )
    .await?;
    submit(deps, intent, &saved.code_commit_info).await
}

/// An intent state (`committing`, `submitting`) held by one request or sweep: written before WeChat is asked to
/// do something, so that of concurrent callers exactly one reaches WeChat, and so that a crash between WeChat's
/// answer and our write leaves a record the sweep reconciles against WeChat's truth.
pub struct Intent<'a> {
    component: &'a str,
    appid: &'a str,
    token: String,
    /// The intent state this holder is in.
    pub state: ReleaseState,
    /// Where the record goes back to if WeChat refuses.
    back_to: ReleaseState,
}

/// An intent older than this was abandoned by a crashed caller: the sweep reconciles it with WeChat. WeChat
/// answers within seconds (our client gives up after 5 s a call) and an invocation ends within 30 s.
pub const INTENT_STALE_MS: i64 = 60_000;

impl<'a> Intent<'a> {
    /// Moves the record from `from` (as the caller read it) into the intent state `to`; 409 for anyone else.
    pub async fn begin(
        deps: &Deps,
        component: &'a str,
        appid: &'a str,
        from: ReleaseState,
        to: ReleaseState,
        mut sets: Vec<(&'a str, AttributeValue)>,
    ) -> AppResult<Intent<'a>> {
        if from.is_intent() {
            return Err(AppError::Conflict(format!(
                "the mini-program is {} right now; try again in a minute",
                from.as_str()
            )));
        }
        let token = crate::random::hex(12);
        sets.extend([
            ("intent_token", s(&token)),
            ("intent_started_ms", n(now_millis())),
            ("intent_back_to", s(from.as_str())),
        ]);
        let moved = try_step(
            deps,
            Move {
                component,
                appid,
                from: from.as_str(),
                to: to.as_str(),
                sets,
                guard: None,
                event: None,
                now: now_secs(),
            },
        )
        .await?;
        if !moved {
            return Err(AppError::Conflict(
                "another release step of this mini-program started at the same time; reload it"
                    .into(),
            ));
        }
        Ok(Intent {
            component,
            appid,
            token,
            state: to,
            back_to: from,
        })
    }

    fn guard(&self) -> Option<(&'static str, AttributeValue)> {
        Some(("intent_token", s(&self.token)))
    }

    /// Records what WeChat did and ends the intent in `to` (or moves on to the next intent state).
    pub async fn finish(
        &self,
        deps: &Deps,
        to: ReleaseState,
        sets: Vec<(&'a str, AttributeValue)>,
        event: Option<Event>,
    ) -> AppResult<()> {
        step(
            deps,
            Move {
                component: self.component,
                appid: self.appid,
                from: self.state.as_str(),
                to: to.as_str(),
                sets,
                guard: self.guard(),
                event,
                now: now_secs(),
            },
        )
        .await
    }

    /// Ends the intent where it started (a step that does not move the pipeline, such as a rollback), recording
    /// what WeChat did.
    pub async fn finish_back(
        &self,
        deps: &Deps,
        sets: Vec<(&'a str, AttributeValue)>,
        event: Option<Event>,
    ) -> AppResult<()> {
        self.finish(deps, self.back_to, sets, event).await
    }

    /// Runs WeChat's side of the step. A refusal (WeChat answered) puts the record back; no answer at all leaves
    /// the intent for the sweep to reconcile, since WeChat may have done it.
    pub async fn at_wechat<T>(
        &self,
        deps: &Deps,
        call: impl std::future::Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        let out = call.await;
        match &out {
            Err(AppError::Upstream(e)) if e.is_ambiguous() => tracing::warn!(
                component = self.component, appid = self.appid, state = self.state.as_str(), error = %e,
                "WeChat did not answer: the intent is left for the sweep to reconcile"
            ),
            Err(AppError::Alipay(e)) if e.is_transient() => tracing::warn!(
                component = self.component, appid = self.appid, state = self.state.as_str(), error = %e,
                "Alipay did not answer: the intent is left for the sweep to reconcile"
            ),
            Err(_) => self.abandon(deps).await,
            Ok(_) => {}
        }
        out
    }

    /// `finish` into the next intent state `to`, which this holder keeps; its way back is to `achieved`, what this
    /// intent got done (a commit achieved is `committed`, whatever the submission does next).
    async fn advance(
        self,
        deps: &Deps,
        to: ReleaseState,
        achieved: ReleaseState,
        mut sets: Vec<(&'a str, AttributeValue)>,
        event: Option<Event>,
    ) -> AppResult<Intent<'a>> {
        sets.push(("intent_back_to", s(achieved.as_str())));
        sets.push(("intent_started_ms", n(now_millis())));
        self.finish(deps, to, sets, event).await?;
        Ok(Intent {
            state: to,
            back_to: achieved,
            ..self
        })
    }

    /// WeChat refused: the record goes back to where the intent started. If this write is lost too, the intent
    /// goes stale and the sweep reconciles it.
    pub async fn abandon(&self, deps: &Deps) {
        let reverted = try_step(
            deps,
            Move {
                component: self.component,
                appid: self.appid,
                from: self.state.as_str(),
                to: self.back_to.as_str(),
                sets: vec![],
                guard: self.guard(),
                event: None,
                now: now_secs(),
            },
        )
        .await;
        if let Err(e) = reverted {
            tracing::warn!(component = self.component, appid = self.appid, error = %e, "intent left for the sweep");
        }
    }
}

fn sha1_hex(text: &str) -> String {
    use sha1::{Digest, Sha1};
    crate::domain::ids::hex_lower(&Sha1::digest(text.as_bytes()))
}

/// Fetches the trial version's QR code, stores it and records its key while the submission's intent is held.
async fn store_trial_qrcode(deps: &Deps, intent: &Intent<'_>) -> AppResult<String> {
    let (component, appid) = (intent.component, intent.appid);
    let (png, content_type) = pipeline::host(deps, component, appid)
        .trial_qrcode()
        .await?;
    let ext = if content_type == "image/png" {
        "png"
    } else {
        "jpg"
    };
    let key = format!("qrcodes/{component}/{appid}/{}.{ext}", now_millis());
    deps.blobs.put(&key, png, content_type).await?;
    intent
        .finish(deps, intent.state, vec![("qr_code_path", s(&key))], None)
        .await?;
    Ok(key)
}

pub enum Submitted {
    Auditing(i64),
    /// 61039: the privacy scan is still running; the sweep submits later.
    Pending,
}

/// Submits the committed code for audit under a `submitting` intent. WeChat's refusal puts the record back where
/// the intent started; an answer that never came (timeout, 5xx) leaves the intent for the sweep to reconcile,
/// because the audit may be running at WeChat.
pub async fn submit(deps: &Deps, intent: Intent<'_>, commit_info: &Value) -> AppResult<Submitted> {
    let (component, appid) = (intent.component, intent.appid);
    let privacy_api_not_use = match readiness::prepare(deps, component, appid, commit_info).await {
        Ok(Prepared::Ready {
            privacy_api_not_use,
        }) => privacy_api_not_use,
        Ok(Prepared::ScanRunning) => {
            intent
                .finish(deps, ReleaseState::SubmitPending, vec![], None)
                .await?;
            return Ok(Submitted::Pending);
        }
        Err(e) => {
            // Nothing was submitted: whatever failed, the record goes back to where it was.
            intent.abandon(deps).await;
            return Err(e);
        }
    };
    let submitted = submit_at_wechat(deps, &intent, commit_info, privacy_api_not_use).await;
    let submitted_ms = now_millis();
    match submitted {
        Ok(audit_id) => {
            intent
                .finish(
                    deps,
                    ReleaseState::Auditing,
                    audit_fields(audit_id, submitted_ms),
                    Some(submitted_event(
                        &intent,
                        audit_id,
                        commit_info,
                        submitted_ms,
                    )),
                )
                .await?;
            tracing::info!(
                component = intent.component,
                appid = intent.appid,
                audit_id,
                "submitted for audit"
            );
            Ok(Submitted::Auditing(audit_id))
        }
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::PRIVACY_SCAN_RUNNING) => {
            intent
                .finish(deps, ReleaseState::SubmitPending, vec![], None)
                .await?;
            Ok(Submitted::Pending)
        }
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::ALREADY_AUDITING) => {
            // WeChat is auditing this mini-program although we recorded no audit: an earlier submit whose answer
            // or record was lost. Adopt that audit rather than report a conflict nobody can resolve.
            let (component, appid) = (intent.component, intent.appid);
            let latest = pipeline::host(deps, component, appid).latest_audit().await;
            match latest {
                Ok(l) if matches!(l.status, 2 | 4) => {
                    intent
                        .finish(
                            deps,
                            ReleaseState::Auditing,
                            audit_fields(l.auditid, submitted_ms),
                            Some(submitted_event(
                                &intent,
                                l.auditid,
                                commit_info,
                                submitted_ms,
                            )),
                        )
                        .await?;
                    tracing::info!(
                        component,
                        appid,
                        audit_id = l.auditid,
                        "adopted the audit WeChat runs"
                    );
                    Ok(Submitted::Auditing(l.auditid))
                }
                _ => {
                    intent.abandon(deps).await;
                    Err(AppError::Upstream(e))
                }
            }
        }
        Err(AppError::Upstream(e)) if e.is_ambiguous() => {
            tracing::warn!(component = intent.component, appid = intent.appid, error = %e,
                "submit unanswered: left for the sweep to reconcile with WeChat");
            Err(AppError::Upstream(e))
        }
        Err(e) => {
            intent.abandon(deps).await;
            Err(e)
        }
    }
}

/// The audit's fields; `submitted_ms` is also its `AuditSubmitted` event's time, so that a result (which is recorded
/// after `audit_submit_ms`) is never ordered before it in the history.
pub(crate) fn audit_fields(
    audit_id: i64,
    submitted_ms: i64,
) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("audit_id", n(audit_id)),
        ("audit_status", s("auditing")),
        ("audit_reason", s("")),
        ("audit_submit_ms", n(submitted_ms)),
    ]
}

/// `audit_fields` of a platform that numbers no audits (Alipay audits a version).
pub(crate) fn audit_fields_without_id(submitted_ms: i64) -> Vec<(&'static str, AttributeValue)> {
    let mut fields = audit_fields(0, submitted_ms);
    fields.retain(|(name, _)| *name != "audit_id");
    fields
}

fn submitted_event(
    intent: &Intent<'_>,
    audit_id: i64,
    commit_info: &Value,
    submitted_ms: i64,
) -> Event {
    Event::new(
        EventKind::AuditSubmitted,
        intent.component,
        intent.appid,
        submitted_ms,
        json!({"auditId": audit_id, "userVersion": commit_info["userVersion"]}),
    )
}

/// Pages and categories, then `submit_audit`: the first page and the first category describe the submission.
async fn submit_at_wechat(
    deps: &Deps,
    intent: &Intent<'_>,
    commit_info: &Value,
    privacy_api_not_use: bool,
) -> AppResult<i64> {
    let (component, appid) = (intent.component, intent.appid);
    let page_list = pipeline::host(deps, component, appid).pages().await?;
    let categories = pipeline::host(deps, component, appid).categories().await?;
    let title = commit_info["title"].as_str().unwrap_or_default();
    let categories: Vec<Value> = categories.iter().map(|c| json!(c)).collect();
    let items = audit_items(&page_list, &categories, title).map_err(AppError::CategoryRequired)?;
    let desc = commit_info["userDesc"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    pipeline::host(deps, component, appid)
        .submit_audit(&items, &desc, privacy_api_not_use)
        .await
}
