//! Fleet summary, black-box: the component's counts by release state follow one mini-program through its first
//! save, release, audit and publish — every step moving it from one state to the next, nothing counted twice — and
//! are refused to merchants and to other tenants. Its own test binary: nothing else moves the counts meanwhile.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

async fn summary(stack: &Stack) -> (i64, BTreeMap<String, i64>) {
    let (code, out) = stack
        .get("/fleet/summary", &stack.token(Role::Operator))
        .await;
    assert_eq!(code, 200, "{out}");
    let counts = out["releaseStates"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
        .collect::<BTreeMap<_, _>>();
    assert_eq!(
        out["decorated"].as_i64().unwrap(),
        counts.values().sum::<i64>(),
        "{out}"
    );
    (out["decorated"].as_i64().unwrap(), counts)
}

/// What changed between two summaries: state → difference, unchanged states left out.
fn delta(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for state in before.keys().chain(after.keys()) {
        let d = after.get(state).unwrap_or(&0) - before.get(state).unwrap_or(&0);
        if d != 0 {
            out.insert(state.clone(), d);
        }
    }
    out
}

fn only(state: &str) -> BTreeMap<String, i64> {
    BTreeMap::from([(state.to_owned(), 1)])
}

#[tokio::test]
async fn the_fleet_summary_follows_a_mini_program_through_its_release() {
    let stack = Stack::connect().await;
    let (decorated_before, before) = summary(&stack).await;

    let (token, appid) = stack.decorated(&unique("counted")).await;
    let (decorated, now) = summary(&stack).await;
    assert_eq!(
        (decorated - decorated_before, delta(&before, &now)),
        (1, only("saved"))
    );

    // Committing, committed and submitting came and went: the mini-program is counted once, as auditing.
    let body = json!({"maAppId": appid, "userVersion": "1.0.0"});
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(delta(&before, &summary(&stack).await.1), only("auditing"));

    stack
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "pass"}),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.release_state(&token, &appid).await != "passed" {
        assert!(Instant::now() < deadline, "the audit result did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(delta(&before, &summary(&stack).await.1), only("passed"));

    let (code, out) = stack
        .post("/code/publish", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{out}");
    let (decorated, after) = summary(&stack).await;
    assert_eq!(
        (decorated - decorated_before, delta(&before, &after)),
        (1, only("released"))
    );

    // A refused step moves nothing.
    let (code, out) = stack
        .post("/code/publish", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(summary(&stack).await.1, after);

    // Merchants and other tenants are refused.
    let (code, out) = stack.get("/fleet/summary", &token).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (_, other_admin) = stack.signed_up_tenant("Other Counter").await;
    let path = format!("/fleet/summary?componentAppid={}", stack.component_appid());
    let (code, out): (u16, Value) = stack.get(&path, &other_admin).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &stack.component_appid());
}
