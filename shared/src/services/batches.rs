//! Batch release routes: an operator starts a release of one template to many mini-programs (`/batch/release`),
//! follows it (`/batch/status`, `/batch/list`) and steers it (`/batch/pause|resume|cancel`). The work itself runs in
//! `jobs::batch` off the queue; these routes only write the batch and queue its first message.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::batch::{shown_state, BatchSpec, BatchState, Until, WorkMessage};
use crate::domain::events::{Event, EventKind};
use crate::domain::identity::Claims;
use crate::domain::platform::{valid_alipay_version, Platform};
use crate::domain::templates::Status;
use crate::error::{AppError, AppResult};
use crate::queue::Outgoing;
use crate::services::events;
use crate::store::batches::{self as store, Batch};
use crate::store::templates as industry;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRequest {
    pub template_id: String,
    pub ma_app_ids: Option<Vec<String>>,
    pub all: Option<bool>,
    pub user_version: String,
    pub user_desc: Option<String>,
    pub until: Until,
    pub gray: Option<GrayOption>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrayOption {
    pub percentage: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub batch_id: String,
    pub state: &'static str,
}

pub fn message(m: &WorkMessage, delay_secs: i64) -> Outgoing {
    Outgoing {
        body: serde_json::to_string(m).unwrap_or_default(),
        delay_secs: delay_secs.clamp(0, crate::queue::MAX_DELAY_SECS as i64) as i32,
    }
}

/// `POST /batch/release` → 202: the batch is written with its `BatchStarted` event and its first expansion page
/// is queued; targets are created and worked through by the worker.
pub async fn start(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: ReleaseRequest,
) -> AppResult<Started> {
    let spec = BatchSpec {
        template_id: req.template_id,
        ma_app_ids: req.ma_app_ids.unwrap_or_default(),
        all: req.all.unwrap_or(false),
        user_version: req.user_version,
        user_desc: req.user_desc.unwrap_or_default(),
        until: req.until,
        gray_percentage: req.gray.map(|g| g.percentage),
    };
    spec.validate().map_err(AppError::BadRequest)?;
    crate::domain::ids::check("templateId", &spec.template_id)?;
    for appid in &spec.ma_app_ids {
        crate::domain::ids::check("maAppIds", appid)?;
    }
    let names_alipay = spec
        .ma_app_ids
        .iter()
        .any(|a| Platform::of(a) == Platform::Alipay);
    if names_alipay && !valid_alipay_version(&spec.user_version) {
        return Err(AppError::BadRequest(
            "userVersion must be x.y.z when the batch names Alipay mini-programs (Alipay's version form)".into(),
        ));
    }
    match industry::get(&deps.table, component, &spec.template_id).await? {
        Some(t) if t.status == Status::Published => {}
        Some(_) => {
            return Err(AppError::Conflict(format!(
                "template {} is not published: release it to the market first",
                spec.template_id
            )))
        }
        None => return Err(AppError::NotFound(format!("template {}", spec.template_id))),
    }
    let now = now_millis();
    let batch = Batch {
        component: component.to_owned(),
        id: format!("{now:013}{}", crate::random::hex(4)),
        spec,
        state: BatchState::Running,
        created_by: caller.sub.clone(),
        created_ms: now,
        updated_ms: now,
        total: 0,
        expanded: false,
        expand_at: String::new(),
        expand_prev: None,
    };
    let started = Event::new(
        EventKind::BatchStarted,
        component,
        "",
        now,
        json!({"batchId": batch.id, "templateId": batch.spec.template_id, "until": batch.spec.until,
               "targets": if batch.spec.all { json!("all") } else { json!(batch.spec.ma_app_ids.len()) },
               "userVersion": batch.spec.user_version, "grayPercentage": batch.spec.gray_percentage,
               "startedBy": caller.sub}),
    );
    if !store::create(&deps.table, &batch, &started, None).await? {
        // One running or paused batch per template: a second one would race the first over the same targets.
        let holder = store::lock_holder(&deps.table, component, &batch.spec.template_id).await?;
        let finished = match &holder {
            Some(id) => store::get(&deps.table, component, id)
                .await?
                .is_none_or(|b| matches!(b.state, BatchState::Completed | BatchState::Cancelled)),
            None => true,
        };
        let taken_over =
            finished && store::create(&deps.table, &batch, &started, holder.as_deref()).await?;
        if !taken_over {
            return Err(AppError::BatchRunning(format!(
                "batch {} is releasing template {} now: wait for it, or pause and cancel it first",
                holder.unwrap_or_default(),
                batch.spec.template_id
            )));
        }
    }
    let first = WorkMessage::Expand {
        component: component.to_owned(),
        batch_id: batch.id.clone(),
        cursor: String::new(),
    };
    if let Err(e) = deps.queue.send(vec![message(&first, 0)]).await {
        // Nothing was queued: the batch cannot run, so it is not left looking as if it did.
        store::set_state(
            &deps.table,
            component,
            &batch.id,
            &[BatchState::Running],
            BatchState::Cancelled,
            now_millis(),
        )
        .await?;
        return Err(e.into());
    }
    events::publish(deps, &[started]).await;
    tracing::info!(component, batch_id = %batch.id, "batch started");
    Ok(Started {
        batch_id: batch.id,
        state: BatchState::Running.as_str(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub ma_app_id: String,
    pub state: &'static str,
    pub audit_id: Option<i64>,
    pub errcode: Option<i64>,
    pub reason: Option<String>,
    pub attempts: i64,
    pub updated_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchView {
    pub batch_id: String,
    pub state: &'static str,
    pub template_id: String,
    pub until: Until,
    pub user_version: String,
    pub gray_percentage: Option<i64>,
    pub total: i64,
    pub finished: i64,
    /// Every target has been created (an `all` batch creates them page by page).
    pub expanded: bool,
    pub counts: BTreeMap<String, i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<TargetView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

async fn owned_batch(deps: &Deps, component: &str, batch_id: &str) -> AppResult<Batch> {
    crate::domain::ids::check("batchId", batch_id)?;
    store::get(&deps.table, component, batch_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("batch {batch_id}")))
}

async fn view(deps: &Deps, b: Batch) -> AppResult<BatchView> {
    let (counts, finished) = store::counts(&deps.table, &b.component, &b.id).await?;
    let unfinished = b.total - finished;
    Ok(BatchView {
        state: shown_state(b.state, &counts, unfinished),
        batch_id: b.id,
        template_id: b.spec.template_id,
        until: b.spec.until,
        user_version: b.spec.user_version,
        gray_percentage: b.spec.gray_percentage,
        total: b.total,
        finished,
        expanded: b.expanded,
        counts,
        created_by: b.created_by,
        created_at: b.created_ms,
        updated_at: b.updated_ms,
        targets: None,
        next_cursor: None,
    })
}

/// Targets shown per status page.
const TARGET_PAGE: i32 = 100;

/// `GET /batch/status`: the batch, its counts by target state, and one page of its targets.
pub async fn status(
    deps: &Deps,
    component: &str,
    batch_id: &str,
    cursor: Option<&str>,
) -> AppResult<BatchView> {
    let b = owned_batch(deps, component, batch_id).await?;
    let page = store::targets(&deps.table, component, &b.id, TARGET_PAGE, cursor).await?;
    let mut out = view(deps, b).await?;
    out.targets = Some(
        page.items
            .into_iter()
            .map(|t| TargetView {
                ma_app_id: t.ma_app_id,
                state: t.state.as_str(),
                audit_id: t.audit_id,
                errcode: t.errcode,
                reason: t.reason,
                attempts: t.attempts,
                updated_at: t.updated_ms,
            })
            .collect(),
    );
    out.next_cursor = page.next_cursor;
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchList {
    pub batches: Vec<BatchView>,
    pub next_cursor: Option<String>,
}

/// `GET /batch/list`: the component's batches, newest first, 20 a page.
pub async fn list(deps: &Deps, component: &str, cursor: Option<&str>) -> AppResult<BatchList> {
    let page = store::list(&deps.table, component, 20, cursor).await?;
    let mut batches = Vec::with_capacity(page.items.len());
    for b in page.items {
        batches.push(view(deps, b).await?);
    }
    Ok(BatchList {
        batches,
        next_cursor: page.next_cursor,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchRequest {
    pub batch_id: String,
}

/// Which steering action, from which states.
#[derive(Clone, Copy)]
pub enum Steer {
    Pause,
    Resume,
    Cancel,
}

/// `POST /batch/pause|resume|cancel`. Pausing stops targets at their next step (what WeChat is doing, an audit,
/// goes on); resuming and cancelling queue every unfinished target again, to go on or to be marked cancelled.
/// Resuming also makes the next submission ask WeChat what is left of its audit quota: pause and resume is how an
/// operator has a batch waiting for quota look again at once (after WeChat granted more, say).
pub async fn steer(
    deps: &Deps,
    component: &str,
    req: BatchRequest,
    action: Steer,
) -> AppResult<BatchView> {
    let b = owned_batch(deps, component, &req.batch_id).await?;
    let (from, to): (&[BatchState], BatchState) = match action {
        Steer::Pause => (&[BatchState::Running], BatchState::Paused),
        Steer::Resume => (&[BatchState::Paused], BatchState::Running),
        Steer::Cancel => (
            &[BatchState::Running, BatchState::Paused],
            BatchState::Cancelled,
        ),
    };
    if !store::set_state(&deps.table, component, &b.id, from, to, now_millis()).await? {
        let now = store::get(&deps.table, component, &b.id)
            .await?
            .map(|b| b.state.as_str())
            .unwrap_or("gone");
        return Err(AppError::Conflict(format!(
            "the batch is {now}: it cannot become {}",
            to.as_str()
        )));
    }
    if matches!(action, Steer::Cancel) {
        store::unlock_quietly(&deps.table, component, &b.spec.template_id, &b.id).await;
    }
    if matches!(action, Steer::Resume) {
        crate::store::audit_quota::forget(&deps.table, component).await?;
    }
    if matches!(action, Steer::Resume | Steer::Cancel) {
        let requeue = WorkMessage::Requeue {
            component: component.to_owned(),
            batch_id: b.id.clone(),
            cursor: String::new(),
        };
        deps.queue.send(vec![message(&requeue, 0)]).await?;
    }
    tracing::info!(component, batch_id = %b.id, to = to.as_str(), "batch steered");
    let fresh = owned_batch(deps, component, &b.id).await?;
    view(deps, fresh).await
}

/// A batch's counts for its `BatchCompleted` event.
pub fn completed_data(batch_id: &str, total: i64, counts: &BTreeMap<String, i64>) -> Value {
    json!({"batchId": batch_id, "total": total, "counts": counts})
}
