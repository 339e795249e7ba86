//! Forwarding (消息转发), black-box: a tenant's rules forward the pushes of its component, decrypted, as signed JSON
//! to receivers run by the test — one that fails twice before it answers, one that always fails — through the
//! real forward queue: retried with back-off, delivered once answered, dead-lettered after the last try, and
//! every try visible in the deliveries. Wrong roles, other tenants, bad rules and a full rule list are refused.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use stack_tests::{assert_refused, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wxtpl::http::auth::Role;

/// One request a receiver got: its headers (lower-case names) and body.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// A local HTTP receiver answering 500 to its first `failures` requests and 200 after; returns its URL and log.
async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                let (head_end, length) = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while raw.len() < head_end + length {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
                    .collect();
                let body = String::from_utf8_lossy(&raw[head_end..]).to_string();
                let count = {
                    let mut log = seen.lock().unwrap();
                    log.push(Received { headers, body });
                    log.len()
                };
                let status = if count <= failures {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, log)
}

fn signed(secret: &str, r: &Received) -> bool {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", r.header("x-wxtpl-timestamp"), r.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    r.header("x-wxtpl-signature") == format!("sha256={expected}")
}

/// Waits (up to `secs`) for the rule's newest delivery to reach `state`; answers it.
async fn delivery_in(
    stack: &Stack,
    admin: &str,
    component: &str,
    rule: &str,
    state: &str,
    secs: u64,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..secs * 4 {
        let (code, out) = stack
            .get(
                &format!("/forward/deliveries?componentAppid={component}&ruleId={rule}"),
                admin,
            )
            .await;
        assert_eq!(code, 200, "{out}");
        last = out["items"][0].clone();
        if last["state"] == state {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("rule {rule}: no delivery reached {state}; the newest is {last}");
}

/// Waits (up to 20 s) until the rule has `n` deliveries, all delivered; answers them.
async fn all_delivered(
    stack: &Stack,
    admin: &str,
    component: &str,
    rule: &str,
    n: usize,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..80 {
        let (code, out) = stack
            .get(
                &format!("/forward/deliveries?componentAppid={component}&ruleId={rule}"),
                admin,
            )
            .await;
        assert_eq!(code, 200, "{out}");
        last = out["items"].as_array().unwrap().clone();
        if last.len() >= n && last.iter().all(|d| d["state"] == "delivered") {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("rule {rule}: not {n} deliveries delivered: {last:?}");
}

#[tokio::test]
async fn pushes_are_forwarded_signed_retried_delivered_and_dead_lettered() {
    let stack = Stack::connect().await;
    let (_, admin) = stack.signed_up_tenant("Forwarder").await;
    let keys = stack.sandbox("/control/component/create", json!({})).await;
    let component = keys["appid"].as_str().unwrap().to_owned();
    let (code, out) = stack.post("/component/register", &admin, &keys).await;
    assert_eq!(code, 201, "{out}");
    let on = |path: &str| format!("{path}?componentAppid={component}");

    let (flaky_url, flaky) = receiver(2).await;
    let (down_url, down) = receiver(usize::MAX).await;
    let (code, everything) = stack
        .post(
            &on("/forward/rule/create"),
            &admin,
            &json!({"name": "all pushes", "url": flaky_url}),
        )
        .await;
    assert_eq!(code, 201, "{everything}");
    let secret = everything["secret"].as_str().unwrap().to_owned();
    let (code, unauthorized) = stack
        .post(
            &on("/forward/rule/create"),
            &admin,
            &json!({"name": "lost merchants", "url": down_url, "infoTypes": ["unauthorized"]}),
        )
        .await;
    assert_eq!(code, 201, "{unauthorized}");
    let (all_id, lost_id) = (
        everything["id"].as_str().unwrap().to_owned(),
        unauthorized["id"].as_str().unwrap().to_owned(),
    );
    // The secret is shown once: never in the list.
    let (code, listed) = stack.get(&on("/forward/rule/list"), &admin).await;
    assert_eq!(code, 200, "{listed}");
    assert_eq!(listed["rules"].as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&secret), "{listed}");

    // A ticket, then an authorization: each forwarded to the catch-all rule, the authorization only after the
    // receiver's two failures.
    let push = stack
        .sandbox("/control/ticket/push", json!({"componentAppid": component}))
        .await;
    assert_eq!(push["delivered"], true, "{push}");
    let authorized = stack
        .sandbox("/control/authorize", json!({"componentAppid": component}))
        .await;
    assert_eq!(authorized["delivery"]["delivered"], true, "{authorized}");
    let appid = authorized["authorizerAppid"].as_str().unwrap().to_owned();
    let deliveries = all_delivered(&stack, &admin, &component, &all_id, 2).await;
    let done = deliveries
        .iter()
        .find(|d| d["pushType"] == "authorized")
        .expect("the authorization was forwarded")
        .clone();
    let got: Vec<Received> = flaky.lock().unwrap().clone();
    // Tickets (the registration starts their pushes) and the authorization, each answered at its last try: every
    // other try was one of the receiver's two failures.
    assert_eq!(got.len(), deliveries.len() + 2, "{deliveries:?}");
    let tried: i64 = deliveries
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap())
        .sum();
    assert_eq!(tried as usize, got.len(), "{deliveries:?}");
    let ticket_forward = got
        .iter()
        .find(|r| r.body.contains("component_verify_ticket"))
        .expect("the ticket push was forwarded");
    assert!(
        !ticket_forward.body.contains("ticket@@@"),
        "credentials are not forwarded: {}",
        ticket_forward.body
    );
    let tries: Vec<&Received> = got
        .iter()
        .filter(|r| r.header("x-wxtpl-delivery") == done["deliveryId"].as_str().unwrap())
        .collect();
    assert!(!tries.is_empty());
    let last = tries.last().unwrap();
    assert!(
        tries.iter().all(|r| signed(&secret, r)),
        "every try is signed"
    );
    let body: Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(
        (&body["pushType"], &body["appid"], &body["push"]["InfoType"]),
        (&json!("authorized"), &json!(appid), &json!("authorized"))
    );
    assert!(body["push"].get("AuthorizationCode").is_none(), "{body}");
    assert_eq!(
        last.header("x-wxtpl-attempt"),
        done["attempts"].to_string(),
        "{done}"
    );

    // The merchant leaves: both rules match; the failing receiver gets 5 tries, then the forward is dead-lettered.
    let gone = stack
        .sandbox(
            "/control/unauthorize",
            json!({"componentAppid": component, "appid": appid}),
        )
        .await;
    assert_eq!(gone["delivery"]["delivered"], true, "{gone}");
    let dead = delivery_in(&stack, &admin, &component, &lost_id, "dead", 60).await;
    assert_eq!(
        (&dead["attempts"], &dead["lastStatus"], &dead["pushType"]),
        (&json!(5), &json!(500), &json!("unauthorized")),
        "{dead}"
    );
    assert_eq!(down.lock().unwrap().len(), 5);
    let delivered = delivery_in(&stack, &admin, &component, &all_id, "delivered", 20).await;
    assert_eq!(delivered["pushType"], "unauthorized", "{delivered}");

    // Refusals: roles, another tenant, bad rules, an unknown rule, and a full list.
    for role in [Role::Merchant, Role::Developer] {
        let (code, out) = stack.get("/forward/rule/list", &stack.token(role)).await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let (_, other_admin) = stack.signed_up_tenant("Eavesdropper").await;
    let (code, out) = stack.get(&on("/forward/rule/list"), &other_admin).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &component);
    for (body, mentions) in [
        (
            json!({"name": "x", "url": "http://hooks.example.com/"}),
            "https://",
        ),
        (
            json!({"name": "x", "url": "https://10.1.2.3/"}),
            "public host",
        ),
        (
            json!({"name": "", "url": "https://hooks.example.com/"}),
            "name",
        ),
        (
            json!({"name": "x", "url": "https://hooks.example.com/", "events": ["a b"]}),
            "events",
        ),
        (
            json!({"name": "x", "url": "https://hooks.example.com/", "secret": "mine"}),
            "unknown field",
        ),
    ] {
        let (code, out) = stack.post(&on("/forward/rule/create"), &admin, &body).await;
        assert_eq!(code, 400, "{body}: {out}");
        assert!(
            out["error"]["message"].as_str().unwrap().contains(mentions),
            "{out}"
        );
    }
    let (code, out) = stack
        .post(
            &on("/forward/rule/delete"),
            &admin,
            &json!({"id": "nosuchrule"}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "nosuchrule");
    let rule = json!({"name": "filler", "url": "https://hooks.example.com/w"});
    let create = on("/forward/rule/create");
    let made = futures::future::join_all((0..20).map(|_| stack.post(&create, &admin, &rule))).await;
    let created = made.iter().filter(|(c, _)| *c == 201).count();
    assert_eq!(created, 18, "20 rules at most, 2 existed");
    assert!(made.iter().all(|(c, out)| *c == 201
        || (*c == 409 && out["error"]["message"].as_str().unwrap().contains("20"))));
    let (code, out) = stack
        .post(&on("/forward/rule/delete"), &admin, &json!({"id": lost_id}))
        .await;
    assert_eq!((code, out["deleted"].as_bool()), (200, Some(true)), "{out}");
    let (code, out) = stack.post(&on("/forward/rule/create"), &admin, &rule).await;
    assert_eq!(code, 201, "a deleted rule frees its place: {out}");
}
