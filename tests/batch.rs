//! Batch release, black-box: one template to many sandbox mini-programs over the real queue, through WeChat's
//! faults, a quota smaller than the batch (targets parked until it returns), pause and resume, a killed worker, gray
//! release and rejections.
use serde_json::{json, Value};
use stack_tests::{serial, unique, Stack};
use std::collections::HashMap;
use std::time::Duration;
use wxtpl::http::auth::Role;

/// `n` newly authorized sandbox mini-programs (nobody decorated them).
async fn fleet(stack: &Stack, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let appid = stack.authorize_new().await;
        stack.existing_privacy_guide(&appid).await;
        out.push(appid);
    }
    out
}

/// A mini-program of a new merchant, decorated on `template` with its own config.
async fn decorated_on(stack: &Stack, template: &str, theme: &str) -> String {
    let token = stack.token_for_user(Role::Merchant, &unique("fleet"));
    let appid = stack.own_mini_program(&token).await;
    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": theme},
        "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": false}}]});
    let (code, out) = stack.post("/config/save", &token, &save).await;
    assert_eq!(code, 200, "{out}");
    stack.privacy_contact(&token, &appid).await;
    appid
}

async fn start(stack: &Stack, body: Value) -> String {
    let (code, out) = stack
        .post("/batch/release", &stack.token(Role::Operator), &body)
        .await;
    assert_eq!(code, 202, "{out}");
    out["batchId"].as_str().unwrap().to_owned()
}

/// The batch's status with every target (all pages).
async fn status(stack: &Stack, batch: &str) -> (Value, HashMap<String, Value>) {
    stack.batch_status(batch).await
}

/// Polls the batch until `done` holds (panics with the last status after `secs`).
async fn wait_for(
    stack: &Stack,
    batch: &str,
    secs: u64,
    done: impl Fn(&Value, &HashMap<String, Value>) -> bool,
) -> (Value, HashMap<String, Value>) {
    stack.wait_for_batch(batch, secs, done).await
}

fn count(view: &Value, state: &str) -> i64 {
    view["counts"][state].as_i64().unwrap_or(0)
}

/// What the sandbox recorded of each mini-program: commits and audit submissions by user_version.
async fn wechat_side(stack: &Stack) -> HashMap<String, Value> {
    let state = stack.sandbox_get("/control/state").await;
    state["authorizers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["appid"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}

fn times(side: &Value, list: &str, version: &str) -> usize {
    side[list]
        .as_array()
        .map(|l| l.iter().filter(|v| *v == version).count())
        .unwrap_or(0)
}

/// The component's account of WeChat's audit quota is read afresh by the next submission.
async fn forget_quota_account(stack: &Stack) {
    let pk = format!("COMP#{}", stack.component_appid());
    stack.set_number(&pk, "AUDITQUOTA", "read_ms", 0).await;
    stack.set_number(&pk, "AUDITQUOTA", "rest", 0).await;
}

/// A batch `until: submitted` of `n` new mini-programs, started while WeChat has no audit quota left:
/// (template, targets, userVersion, batchId).
async fn out_of_quota(stack: &Stack, n: usize) -> (String, Vec<String>, String, String) {
    let template = stack.published_template().await;
    let targets = fleet(stack, n).await;
    stack.clear_faults().await;
    stack.sandbox("/control/quota", json!({"rest": 0})).await;
    forget_quota_account(stack).await;
    let version = unique("v");
    let batch = start(
        stack,
        json!({"templateId": template, "maAppIds": targets, "userVersion": version, "until": "submitted"}),
    )
    .await;
    (template, targets, version, batch)
}

async fn batch_events(stack: &Stack, batch: &str, kind: &str) -> Vec<Value> {
    for _ in 0..40 {
        let body: Value = stack
            .http
            .get(format!("{}/_local/events?limit=1000", stack.api_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found: Vec<Value> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["detail-type"] == kind && e["detail"]["data"]["batchId"] == batch)
            .cloned()
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vec![]
}

#[tokio::test]
async fn thirty_mini_programs_go_through_faults_and_a_quota_smaller_than_the_batch() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let template = stack.published_template().await;
    let mut targets = fleet(&stack, 26).await;
    let mut decorated = Vec::new();
    for _ in 0..4 {
        decorated.push(decorated_on(&stack, &template, "green").await);
    }
    targets.extend(decorated.iter().cloned());
    stack.clear_faults().await;
    // WeChat has 20 audits left this month; about a fifth of all calls fail or are slow.
    stack.sandbox("/control/quota", json!({"rest": 20})).await;
    forget_quota_account(&stack).await;
    for fault in [
        json!({"endpoint": "*", "errcode": -1, "rate": 0.06, "times": -1}),
        json!({"endpoint": "*", "httpStatus": 502, "rate": 0.05, "times": -1}),
        json!({"endpoint": "*", "errcode": 45009, "rate": 0.05, "times": -1}),
        json!({"endpoint": "*", "latencyMs": 300, "rate": 0.05, "times": -1}),
    ] {
        stack.sandbox("/control/faults", fault).await;
    }
    let version = unique("v");
    let batch = start(
        &stack,
        json!({"templateId": template, "maAppIds": targets, "userVersion": version,
               "userDesc": "fleet update", "until": "submitted"}),
    )
    .await;
    // 20 are submitted; the other 10 wait for quota, and so does the batch.
    let (view, _) = wait_for(&stack, &batch, 150, |v, _| {
        count(v, "submitted") == 20 && count(v, "waiting_quota") == 10
    })
    .await;
    assert_eq!(view["state"], "waiting_quota", "{view}");
    assert_eq!(view["total"], 30);
    // Quota returns: the waiting targets go on by themselves.
    stack.sandbox("/control/quota", json!({"rest": 100})).await;
    let (view, seen) = wait_for(&stack, &batch, 150, |v, _| v["state"] == "completed").await;
    stack.clear_faults().await;
    assert_eq!(count(&view, "submitted"), 30, "{view}");
    assert_eq!(view["finished"], 30);
    let side = wechat_side(&stack).await;
    for appid in &targets {
        let t = &seen[appid];
        assert_eq!(t["state"], "submitted", "{t}");
        assert!(t["auditId"].as_i64().is_some(), "{t}");
        // Never committed or submitted twice, whatever failed on the way.
        assert_eq!(
            times(&side[appid], "commits", &version),
            1,
            "{appid}: {}",
            side[appid]
        );
        assert_eq!(
            times(&side[appid], "submits", &version),
            1,
            "{appid}: {}",
            side[appid]
        );
    }
    // ext_json: the merchant's saved config where one was saved, the template's defaults elsewhere.
    let pk = format!("COMP#{}", stack.component_appid());
    let config_of = |item: Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>| {
        stack_tests::s(&item.expect("a saved config"), "config").unwrap()
    };
    assert!(config_of(stack.item(&pk, &format!("UT#{}", decorated[0])).await).contains("green"));
    assert!(config_of(stack.item(&pk, &format!("UT#{}", targets[0])).await).contains("blue"));
    let started = batch_events(&stack, &batch, "BatchStarted").await;
    assert_eq!(started.len(), 1);
    let completed = batch_events(&stack, &batch, "BatchCompleted").await;
    assert_eq!(completed.len(), 1, "one BatchCompleted");
    assert_eq!(completed[0]["detail"]["data"]["counts"]["submitted"], 30);
    assert_eq!(completed[0]["detail"]["maAppId"], Value::Null);
}

#[tokio::test]
async fn targets_waiting_for_quota_park_and_are_woken_no_more_than_wechat_has_quota_for() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (_, targets, version, batch) = out_of_quota(&stack, 6).await;
    // (Counts and targets are two reads: both must show every target parked.)
    let (_, parked) = wait_for(&stack, &batch, 60, |v, t| {
        count(v, "waiting_quota") == 6 && t.values().all(|t| t["state"] == "waiting_quota")
    })
    .await;

    // While the quota is out no target moves on its own; one watch asks WeChat once a poll (2 s here) for all.
    let asked = stack.counter("queryquota").await;
    let submits = stack.counter("submit_audit").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (_, still) = status(&stack, &batch).await;
    for appid in &targets {
        assert_eq!(
            still[appid]["updatedAt"], parked[appid]["updatedAt"],
            "{appid} moved while parked"
        );
    }
    let looks = stack.counter("queryquota").await - asked;
    assert!((1..=5).contains(&looks), "{looks} queryquota calls in 7 s");

    // WeChat has two audits left: two are submitted, the other four stay parked.
    stack.sandbox("/control/quota", json!({"rest": 2})).await;
    wait_for(&stack, &batch, 30, |v, _| count(v, "submitted") == 2).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (view, _) = status(&stack, &batch).await;
    assert_eq!(
        (count(&view, "submitted"), count(&view, "waiting_quota")),
        (2, 4),
        "{view}"
    );
    assert_eq!(view["state"], "waiting_quota", "{view}");
    // Not one submission that WeChat would have refused for want of quota.
    assert_eq!(stack.counter("submit_audit").await - submits, 2);

    // Pause and resume while WeChat has more: the resumed targets ask WeChat again and are all submitted, once.
    stack.sandbox("/control/quota", json!({"rest": 10})).await;
    let ops = stack.token(Role::Operator);
    for path in ["/batch/pause", "/batch/resume"] {
        let (code, out) = stack.post(path, &ops, &json!({"batchId": batch})).await;
        assert_eq!(code, 200, "{path}: {out}");
    }
    let (view, _) = wait_for(&stack, &batch, 60, |v, _| v["state"] == "completed").await;
    assert_eq!(count(&view, "submitted"), 6, "{view}");
    assert_eq!(stack.counter("submit_audit").await - submits, 6);
    let side = wechat_side(&stack).await;
    for appid in &targets {
        assert_eq!(
            times(&side[appid], "submits", &version),
            1,
            "{}",
            side[appid]
        );
    }
    stack.sandbox("/control/quota", json!({"rest": 500})).await;
    forget_quota_account(&stack).await;
}

#[tokio::test]
async fn a_paused_batch_waits_and_a_killed_worker_loses_nothing() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let template = stack.published_template().await;
    let targets = fleet(&stack, 8).await;
    stack.clear_faults().await;
    // Every commit takes 2 s at WeChat: the worker is killed while commits are under way.
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "commit", "latencyMs": 2000, "times": -1}),
        )
        .await;
    let version = unique("v");
    let batch = start(
        &stack,
        json!({"templateId": template, "maAppIds": targets, "userVersion": version, "until": "committed"}),
    )
    .await;
    let ops = stack.token(Role::Operator);
    let (code, out) = stack
        .post("/batch/pause", &ops, &json!({"batchId": batch}))
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "paused");
    // A second pause is refused: it is paused already.
    let (code, out) = stack
        .post("/batch/pause", &ops, &json!({"batchId": batch}))
        .await;
    assert_eq!(code, 409, "{out}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (paused, _) = status(&stack, &batch).await;
    assert_eq!(paused["state"], "paused");
    assert!(paused["finished"].as_i64().unwrap() < 8, "{paused}");
    let (code, out) = stack
        .post("/batch/resume", &ops, &json!({"batchId": batch}))
        .await;
    assert_eq!(code, 200, "{out}");
    // Kill every worker instance in the middle of a commit.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let resp = stack
        .http
        .post(format!("{}/_local/crash/batch-worker", stack.api_url()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let (view, seen) = wait_for(&stack, &batch, 240, |v, _| v["state"] == "completed").await;
    stack.clear_faults().await;
    assert_eq!(count(&view, "committed"), 8, "{view}");
    let side = wechat_side(&stack).await;
    for appid in &targets {
        assert_eq!(seen[appid]["state"], "committed");
        assert_eq!(
            times(&side[appid], "commits", &version),
            1,
            "{appid}: {}",
            side[appid]
        );
        assert_eq!(times(&side[appid], "submits", &version), 0);
    }
}

#[tokio::test]
async fn until_released_publishes_each_target_as_its_audit_passes_gray_when_asked() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let template = stack.published_template().await;
    let targets = fleet(&stack, 4).await;
    stack.clear_faults().await;
    stack.sandbox("/control/quota", json!({"rest": 100})).await;
    forget_quota_account(&stack).await;
    // Two of them already have a version online (gray keeps it for the others).
    let first = unique("v");
    let warmup = start(
        &stack,
        json!({"templateId": template, "maAppIds": targets[..2], "userVersion": first, "until": "released"}),
    )
    .await;
    wait_for(&stack, &warmup, 60, |v, _| count(v, "auditing") == 2).await;
    for appid in &targets[..2] {
        stack
            .sandbox(
                "/control/audit/decide",
                json!({"appid": appid, "result": "pass"}),
            )
            .await;
    }
    wait_for(&stack, &warmup, 60, |v, _| v["state"] == "completed").await;
    let version = unique("v");
    let batch = start(
        &stack,
        json!({"templateId": template, "maAppIds": targets, "userVersion": version, "until": "released",
               "gray": {"percentage": 30}}),
    )
    .await;
    wait_for(&stack, &batch, 60, |v, _| count(v, "auditing") == 4).await;
    for (i, appid) in targets.iter().enumerate() {
        let result = if i == 3 {
            json!({"appid": appid, "result": "fail", "reason": "blurry screenshots"})
        } else {
            json!({"appid": appid, "result": "pass"})
        };
        stack.sandbox("/control/audit/decide", result).await;
    }
    let (view, seen) = wait_for(&stack, &batch, 60, |v, _| v["state"] == "completed").await;
    let side = wechat_side(&stack).await;
    // Those with a version online are gray at 30%; the first release of the other goes to everyone.
    for appid in &targets[..2] {
        assert_eq!(seen[appid]["state"], "gray", "{}", seen[appid]);
        assert_eq!(side[appid]["grayPercentage"], 30);
    }
    assert_eq!(
        seen[&targets[2]]["state"], "released",
        "{}",
        seen[&targets[2]]
    );
    assert_eq!(side[&targets[2]]["releaseVersion"], version.as_str());
    assert!(seen[&targets[2]]["reason"]
        .as_str()
        .unwrap()
        .contains("everyone"));
    // The rejection is recorded with WeChat's reason; the rest went on.
    assert_eq!(seen[&targets[3]]["state"], "rejected");
    assert_eq!(seen[&targets[3]]["reason"], "blurry screenshots");
    assert_eq!(count(&view, "gray"), 2);
    assert_eq!(count(&view, "rejected"), 1);
}

#[tokio::test]
async fn batch_routes_refuse_wrong_roles_other_components_bad_input_and_a_second_batch() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let template = stack.published_template().await;
    let targets = fleet(&stack, 2).await;
    let ops = stack.token(Role::Operator);
    let body = json!({"templateId": template, "maAppIds": targets, "userVersion": "1.0.0", "until": "committed"});
    for role in [Role::Merchant, Role::Developer, Role::Admin] {
        let (code, out) = stack
            .post("/batch/release", &stack.token(role), &body)
            .await;
        assert_eq!(code, 403, "{role:?}: {out}");
    }
    for (bad, why) in [
        (
            json!({"templateId": template, "userVersion": "1", "until": "committed"}),
            "no targets",
        ),
        (
            json!({"templateId": template, "all": true, "maAppIds": targets, "userVersion": "1", "until": "committed"}),
            "both",
        ),
        (
            json!({"templateId": template, "all": true, "userVersion": "1", "until": "later"}),
            "until",
        ),
        (
            json!({"templateId": template, "all": true, "userVersion": "1", "until": "submitted", "gray": {"percentage": 10}}),
            "gray",
        ),
        (
            json!({"templateId": template, "all": true, "userVersion": "", "until": "committed"}),
            "version",
        ),
        (
            json!({"templateId": template, "maAppIds": ["wx1", "wx1"], "userVersion": "1", "until": "committed"}),
            "twice",
        ),
        (
            json!({"templateId": template, "maAppIds": ["../x"], "userVersion": "1", "until": "committed"}),
            "id",
        ),
        (
            json!({"templateId": template, "all": true, "userVersion": "1", "until": "committed", "extra": 1}),
            "unknown field",
        ),
    ] {
        let (code, out) = stack.post("/batch/release", &ops, &bad).await;
        assert_eq!(code, 400, "{why}: {out}");
    }
    let many: Vec<String> = (0..1001).map(|i| format!("wx{i:016}")).collect();
    let (code, _) = stack
        .post("/batch/release", &ops, &json!({"templateId": template, "maAppIds": many, "userVersion": "1", "until": "committed"}))
        .await;
    assert_eq!(code, 400);
    let (code, _) = stack
        .post("/batch/release", &ops, &json!({"templateId": "nosuchtemplate", "all": true, "userVersion": "1", "until": "committed"}))
        .await;
    assert_eq!(code, 404);
    // Commits are slow, so the batch is still running when it is cancelled.
    stack.clear_faults().await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "commit", "latencyMs": 3000, "times": -1}),
        )
        .await;
    // The same request twice at once: one batch runs, the other is told so.
    let (a, b) = tokio::join!(
        stack.post("/batch/release", &ops, &body),
        stack.post("/batch/release", &ops, &body)
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [202, 409], "{} / {}", a.1, b.1);
    let (winner, loser) = if a.0 == 202 { (a.1, b.1) } else { (b.1, a.1) };
    assert_eq!(loser["error"]["code"], "BATCH_RUNNING");
    let batch = winner["batchId"].as_str().unwrap().to_owned();
    // Another tenant's operator, or one of another component, does not see it.
    let stranger = stack.token_for(
        Role::Operator,
        "another-tenant",
        Some(&stack.component_appid()),
    );
    let (code, _) = stack
        .get(&format!("/batch/status?batchId={batch}"), &stranger)
        .await;
    assert_eq!(code, 404);
    let (code, _) = stack
        .post("/batch/cancel", &stranger, &json!({"batchId": batch}))
        .await;
    assert_eq!(code, 404);
    let (code, _) = stack.get("/batch/status?batchId=nosuchbatch", &ops).await;
    assert_eq!(code, 404);
    let (code, _) = stack.get("/batch/status?batchId=..%2Fx", &ops).await;
    assert_eq!(code, 400);
    let (code, _) = stack
        .get(
            &format!("/batch/status?batchId={batch}"),
            &stack.token(Role::Merchant),
        )
        .await;
    assert_eq!(code, 403);
    // Cancelled, it finishes no more targets and frees the template for the next batch.
    let (code, out) = stack
        .post("/batch/cancel", &ops, &json!({"batchId": batch}))
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, _) = stack
        .post("/batch/resume", &ops, &json!({"batchId": batch}))
        .await;
    assert_eq!(code, 409);
    let (code, out) = stack.get("/batch/list", &ops).await;
    assert_eq!(code, 200);
    assert!(out["batches"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["batchId"] == batch.as_str() && b["state"] == "cancelled"));
    stack.clear_faults().await;
    let (code, out) = stack.post("/batch/release", &ops, &body).await;
    assert_eq!(code, 202, "{out}");
    let next = out["batchId"].as_str().unwrap().to_owned();
    wait_for(&stack, &next, 60, |v, _| v["state"] == "completed").await;
}

#[tokio::test]
async fn an_unfiled_mini_program_is_not_published_and_waits_in_a_batch_until_it_is_filed() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let template = stack.published_template().await;
    let targets = fleet(&stack, 2).await;
    stack.clear_faults().await;
    stack.sandbox("/control/quota", json!({"rest": 100})).await;
    forget_quota_account(&stack).await;
    let unfiled = &targets[1];
    stack
        .sandbox("/control/icp", json!({"appid": unfiled, "status": 1024}))
        .await;
    let version = unique("v");
    let batch = start(
        &stack,
        json!({"templateId": template, "maAppIds": targets, "userVersion": version, "until": "released"}),
    )
    .await;
    wait_for(&stack, &batch, 60, |v, _| count(v, "auditing") == 2).await;
    for appid in &targets {
        stack
            .sandbox(
                "/control/audit/decide",
                json!({"appid": appid, "result": "pass"}),
            )
            .await;
    }
    let (view, seen) = wait_for(&stack, &batch, 60, |v, _| {
        count(v, "released") == 1 && count(v, "waiting_icp") == 1
    })
    .await;
    assert_eq!(view["state"], "running");
    assert!(
        seen[unfiled]["reason"].as_str().unwrap().contains("1024"),
        "{}",
        seen[unfiled]
    );
    // The operator's own publish is refused the same way, before WeChat is asked to release.
    let (code, out) = stack
        .post(
            "/code/publish",
            &stack.token(Role::Operator),
            &json!({"maAppId": unfiled}),
        )
        .await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(out["error"]["code"], "ICP_FILING_REQUIRED");
    assert_eq!(
        wechat_side(&stack).await[unfiled]["releaseVersion"],
        Value::Null
    );
    // Filed: the batch publishes it by itself.
    stack
        .sandbox("/control/icp", json!({"appid": unfiled, "status": 6}))
        .await;
    let (view, _) = wait_for(&stack, &batch, 60, |v, _| v["state"] == "completed").await;
    assert_eq!(count(&view, "released"), 2, "{view}");
    assert_eq!(
        wechat_side(&stack).await[unfiled]["releaseVersion"],
        version.as_str()
    );
}

#[tokio::test]
async fn concurrent_pause_resume_and_cancel_each_take_effect_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (template, targets, version, batch) = out_of_quota(&stack, 4).await;
    wait_for(&stack, &batch, 60, |v, _| count(v, "waiting_quota") == 4).await;
    let ops = stack.token(Role::Operator);
    let body = json!({"batchId": batch});
    let twice = |path: &'static str| {
        let (stack, ops, body) = (&stack, &ops, &body);
        async move {
            let (a, b) = tokio::join!(stack.post(path, ops, body), stack.post(path, ops, body));
            let mut codes = [a.0, b.0];
            codes.sort();
            codes
        }
    };

    // The same steering request twice at once: one takes effect, the other is told why not.
    assert_eq!(twice("/batch/pause").await, [200, 409]);
    assert_eq!(status(&stack, &batch).await.0["state"], "paused");
    assert_eq!(twice("/batch/resume").await, [200, 409]);
    assert_ne!(status(&stack, &batch).await.0["state"], "paused");

    // Pause and cancel at once: the cancel always wins in the end.
    let (pause, cancel) = tokio::join!(
        stack.post("/batch/pause", &ops, &body),
        stack.post("/batch/cancel", &ops, &body)
    );
    assert_eq!(cancel.0, 200, "{}", cancel.1);
    assert!(matches!(pause.0, 200 | 409), "{}", pause.1);
    let (view, _) = wait_for(&stack, &batch, 60, |v, _| count(v, "cancelled") == 4).await;
    assert_eq!(view["state"], "cancelled", "{view}");
    // Nothing was submitted and nothing committed twice; the template is free for the next batch.
    let side = wechat_side(&stack).await;
    for appid in &targets {
        assert_eq!(
            times(&side[appid], "commits", &version),
            1,
            "{}",
            side[appid]
        );
        assert_eq!(
            times(&side[appid], "submits", &version),
            0,
            "{}",
            side[appid]
        );
    }
    let next = start(
        &stack,
        json!({"templateId": template, "maAppIds": targets[..1], "userVersion": unique("v"), "until": "committed"}),
    )
    .await;
    wait_for(&stack, &next, 60, |v, _| v["state"] == "completed").await;
    stack.sandbox("/control/quota", json!({"rest": 500})).await;
    forget_quota_account(&stack).await;
}
