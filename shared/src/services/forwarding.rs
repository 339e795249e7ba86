//! Forwarding (消息转发): a component's admins and operators define rules; every push the component receives is
//! matched against them once it is applied, and each match travels on the forward queue to `jobs::forward`, which
//! posts it, signed, and tries again with back-off. Rules and deliveries belong to the component's tenant only.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::forwarding::{push_as_json, PushFacts, RuleRequest, MAX_RULES};
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::queue::Outgoing;
use crate::store::authorizers::Page;
use crate::store::forwarding::{self as store, Delivery, Rule};

/// One forward on the queue: which rule, which push, which try.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardMessage {
    pub component: String,
    pub rule_id: String,
    /// Stable for every try of this push to this rule: receivers deduplicate on it.
    pub delivery_id: String,
    pub started_ms: i64,
    pub push_type: String,
    pub appid: Option<String>,
    /// The JSON body posted (the push, decrypted, without credentials).
    pub body: String,
    pub attempt: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedRule {
    #[serde(flatten)]
    pub rule: Rule,
    /// The HMAC key deliveries are signed with: shown here once, never again.
    pub secret: String,
}

pub async fn create(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: RuleRequest,
) -> AppResult<CreatedRule> {
    req.validate(deps.config.forward_allow_loopback)?;
    let rule = Rule {
        id: crate::random::hex(8),
        name: req.name.trim().to_owned(),
        url: req.url,
        info_types: req.info_types,
        msg_types: req.msg_types,
        events: req.events,
        appids: req.appids,
        created_at: now_secs(),
        created_by: caller.sub.clone(),
        secret: crate::random::hex(32),
    };
    if !store::create(&deps.table, component, &rule).await? {
        return Err(AppError::Conflict(format!(
            "the component has {MAX_RULES} forwarding rules: delete one first"
        )));
    }
    tracing::info!(component, rule = %rule.id, "forwarding rule created");
    Ok(CreatedRule {
        secret: rule.secret.clone(),
        rule,
    })
}

pub async fn list(deps: &Deps, component: &str) -> AppResult<Vec<Rule>> {
    Ok(store::list(&deps.table, component).await?)
}

pub async fn delete(deps: &Deps, component: &str, id: &str) -> AppResult<Value> {
    crate::domain::ids::check("id", id)?;
    if !store::delete(&deps.table, component, id).await? {
        return Err(AppError::NotFound(format!("forwarding rule {id}")));
    }
    Ok(json!({"id": id, "deleted": true}))
}

pub async fn deliveries(
    deps: &Deps,
    component: &str,
    rule_id: &str,
    limit: i32,
    cursor: Option<&str>,
) -> AppResult<Page<Delivery>> {
    crate::domain::ids::check("ruleId", rule_id)?;
    if store::get(&deps.table, component, rule_id).await?.is_none() {
        return Err(AppError::NotFound(format!("forwarding rule {rule_id}")));
    }
    Ok(store::deliveries(&deps.table, component, rule_id, limit, cursor).await?)
}

/// Puts a forward of an applied push on the queue for every rule that matches it. A failure fails the push, so
/// WeChat delivers it again and the forwards are queued then (a receiver may see one twice: same `deliveryId`).
pub async fn forward_push(
    deps: &Deps,
    component: &str,
    push_type: &str,
    push_key: &str,
    facts: &PushFacts<'_>,
    plaintext: &str,
) -> AppResult<usize> {
    let rules = store::list(&deps.table, component).await?;
    let matching: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.matcher().matches(facts))
        .collect();
    if matching.is_empty() {
        return Ok(0);
    }
    // A push that cannot be turned into JSON is not forwarded, but it is not failed for that either: WeChat's
    // retries would bring the same push back for ever.
    let payload = match push_as_json(plaintext) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(component, push_type, error = %e, "push not forwarded: not readable as JSON");
            return Ok(0);
        }
    };
    let body = json!({"component": component, "pushType": push_type, "appid": facts.appid, "push": payload})
        .to_string();
    let started_ms = now_millis();
    let messages = matching
        .iter()
        .map(|rule| {
            let delivery_id = crate::domain::ids::hex_lower(
                &<sha2::Sha256 as sha2::Digest>::digest(
                    format!("{}|{push_key}", rule.id).as_bytes(),
                )[..12],
            );
            let msg = ForwardMessage {
                component: component.to_owned(),
                rule_id: rule.id.clone(),
                delivery_id,
                started_ms,
                push_type: push_type.to_owned(),
                appid: facts.appid.map(str::to_owned),
                body: body.clone(),
                attempt: 1,
            };
            Outgoing {
                body: serde_json::to_string(&msg).expect("a forward serializes"),
                delay_secs: 0,
            }
        })
        .collect::<Vec<_>>();
    let count = messages.len();
    deps.forward_queue.send(messages).await?;
    Ok(count)
}
