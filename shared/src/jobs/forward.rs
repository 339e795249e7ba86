//! SQS: the forward worker. Each message is one try of one push to one rule's endpoint: posted as JSON with
//! `X-Wxtpl-Signature` (HMAC-SHA256 of `{timestamp}.{body}` under the rule's secret), `X-Wxtpl-Timestamp`,
//! `X-Wxtpl-Delivery` and `X-Wxtpl-Attempt`. A 2xx is delivered; anything else is tried again later (a new message,
//! delayed with back-off) until the last try, which goes to the dead-letter queue. Every try is recorded.
use std::sync::OnceLock;
use std::time::Duration;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::forwarding::{retry_delay, signature, MAX_ATTEMPTS};
use crate::error::{AppError, AppResult};
use crate::lambda::QueueRecord;
use crate::queue::Outgoing;
use crate::services::forwarding::ForwardMessage;
use crate::store::forwarding::{self as store, Attempt};

/// Forwards posted at once by one invocation.
const CONCURRENCY: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(5);

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let roots = crate::tls_roots::der()
            .map(|der| reqwest::Certificate::from_der(der).expect("a compiled-in root parses"));
        reqwest::Client::builder()
            .tls_certs_only(roots)
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            // A redirect could lead anywhere, past the checks the rule's URL passed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client builds with static settings")
    })
}

pub async fn handle(deps: &Deps, records: Vec<QueueRecord>) -> Vec<String> {
    super::each_record(records, CONCURRENCY, "forward", |body| async move {
        handle_one(deps, &body).await
    })
    .await
}

/// What one post came to: `Ok(status)` for a 2xx, else the status (if any) and why.
async fn post(url: &str, secret: &str, msg: &ForwardMessage) -> Result<i64, (Option<i64>, String)> {
    let timestamp = now_secs();
    let sent = http()
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Wxtpl-Signature", signature(secret, timestamp, &msg.body))
        .header("X-Wxtpl-Timestamp", timestamp.to_string())
        .header("X-Wxtpl-Delivery", &msg.delivery_id)
        .header("X-Wxtpl-Attempt", msg.attempt.to_string())
        .body(msg.body.clone())
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => Ok(i64::from(resp.status().as_u16())),
        Ok(resp) => Err((
            Some(i64::from(resp.status().as_u16())),
            format!("answered {}", resp.status().as_u16()),
        )),
        Err(e) if e.is_timeout() => Err((None, "no answer within 5 s".into())),
        Err(e) => Err((None, format!("not reached: {}", e.without_url()))),
    }
}

async fn handle_one(deps: &Deps, body: &str) -> AppResult<()> {
    let msg: ForwardMessage = serde_json::from_str(body)
        .map_err(|e| AppError::BadRequest(format!("not a forward message: {e}")))?;
    let Some(rule) = store::get(&deps.table, &msg.component, &msg.rule_id).await? else {
        tracing::info!(rule = %msg.rule_id, "forward dropped: its rule was deleted");
        return Ok(());
    };
    let outcome = post(&rule.url, &rule.secret, &msg).await;
    let now = now_secs();
    let (state, status, error) = match &outcome {
        Ok(status) => ("delivered", Some(*status), None),
        Err((status, why)) if msg.attempt >= MAX_ATTEMPTS => ("dead", *status, Some(why.as_str())),
        Err((status, why)) => ("retrying", *status, Some(why.as_str())),
    };
    let attempt = Attempt {
        rule_id: &msg.rule_id,
        delivery_id: &msg.delivery_id,
        started_ms: msg.started_ms,
        push_type: &msg.push_type,
        appid: msg.appid.as_deref(),
        attempt: msg.attempt,
        state,
        status,
        error,
        now,
        ttl: deps.push_ttl(now),
    };
    // Recorded before the next try is queued: a crash in between redelivers this message, which tries again.
    store::record_attempt(&deps.table, &msg.component, &attempt).await?;
    match state {
        "delivered" => {
            tracing::info!(rule = %msg.rule_id, delivery = %msg.delivery_id, attempt = msg.attempt, "forward delivered");
        }
        "dead" => {
            tracing::warn!(rule = %msg.rule_id, delivery = %msg.delivery_id, error = error.unwrap_or_default(),
                "forward dead-lettered after its last try");
            deps.forward_dead_letters
                .send(vec![Outgoing {
                    body: body.to_owned(),
                    delay_secs: 0,
                }])
                .await?;
        }
        _ => {
            let next = ForwardMessage {
                attempt: msg.attempt + 1,
                ..msg
            };
            let delay = retry_delay(deps.config.forward_retry_secs, next.attempt - 1);
            deps.forward_queue
                .send(vec![Outgoing {
                    body: serde_json::to_string(&next).expect("a forward serializes"),
                    delay_secs: delay as i32,
                }])
                .await?;
        }
    }
    Ok(())
}
