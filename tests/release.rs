//! The release pipeline end to end on the local stack: the seed story (template → authorize → decorate → release →
//! audit → publish → visits → rollback) with every published event checked, then the paths that go wrong.
use serde_json::{json, Value};
use stack_tests::{serial, Stack};
use wxtpl::http::auth::Role;

async fn release(stack: &Stack, token: &str, appid: &str, version: &str) -> Value {
    let (code, out) = stack
        .post(
            "/code/release",
            token,
            &json!({"maAppId": appid, "userVersion": version, "userDesc": format!("version {version}")}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    out
}

async fn decide(stack: &Stack, appid: &str, result: &str, reason: &str) -> Value {
    stack
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": result, "reason": reason}),
        )
        .await
}

/// Events are put on the bus right after the state change; give the log group a moment to show them.
async fn events_settle(stack: &Stack, appid: &str, expected: usize) -> Vec<Value> {
    for _ in 0..50 {
        let events = stack.events(appid).await;
        if events.len() >= expected {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stack.events(appid).await
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_seed_story_from_template_to_rollback_with_every_event() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let ivy = stack.token_for_user(Role::Merchant, "ivy");
    // A developer releases a draft and an operator publishes it; the merchant authorizes through the link.
    let template = stack.published_template().await;
    let appid = stack.own_mini_program(&ivy).await;
    let (code, defaults) = stack
        .get(
            &format!("/config/query?maAppId={appid}&templateId={template}"),
            &ivy,
        )
        .await;
    assert_eq!(code, 200, "{defaults}");
    assert_eq!(defaults["config"]["theme"], "blue");
    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "ivy-green", "shopName": "Ivy"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": true}}]});
    assert_eq!(stack.post("/config/save", &ivy, &save).await.0, 200);
    stack.privacy_contact(&ivy, &appid).await;
    // The authorization (and the ownership event right after it) is dated within WeChat's second (its time has
    // second resolution, decisions.md), so it may lie up to a second ahead: let that second pass before the first
    // commit, or the history (ordered by time) could list the commit first.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    // Release 1.0.0, the sandbox passes it, the merchant publishes it.
    let out = release(&stack, &ivy, &appid, "1.0.0").await;
    assert_eq!(out["state"], "auditing");
    let audit_id = out["auditId"].as_i64().unwrap();
    assert_eq!(decide(&stack, &appid, "pass", "").await["delivered"], true);
    assert_eq!(stack.release_state(&ivy, &appid).await, "passed");
    let (code, published) = stack
        .post("/code/publish", &ivy, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{published}");
    assert_eq!(published["state"], "released");
    assert_eq!(published["releaseInfo"]["release_version"], "1.0.0");

    // Visits closed, then reopened.
    for action in ["close", "open"] {
        let (code, out) = stack
            .post(
                "/code/visit-status",
                &ivy,
                &json!({"maAppId": appid, "action": action}),
            )
            .await;
        assert_eq!(code, 200, "{out}");
        assert_eq!(out["accessStatus"], action);
        let (_, now) = stack
            .get(&format!("/config/query?maAppId={appid}"), &ivy)
            .await;
        assert_eq!(now["userTemplate"]["accessStatus"], action);
    }

    // A rollback needs a previous online version: refused now, and nothing changes.
    let (code, body) = stack
        .post("/code/rollback", &ivy, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"]["wechatErrcode"], 87012);

    // Release 1.1.0 and publish it; then roll back to 1.0.0.
    release(&stack, &ivy, &appid, "1.1.0").await;
    decide(&stack, &appid, "pass", "").await;
    assert_eq!(
        stack
            .post("/code/publish", &ivy, &json!({"maAppId": appid}))
            .await
            .0,
        200
    );
    let (code, rolled) = stack
        .post("/code/rollback", &ivy, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{rolled}");
    assert_eq!(rolled["releaseInfo"]["release_version"], "1.0.0");

    // The overview: WeChat's trial and online versions, and our history of every step, newest first.
    let (code, versions) = stack
        .get(&format!("/code/versions?maAppId={appid}"), &ivy)
        .await;
    assert_eq!(code, 200, "{versions}");
    assert_eq!(versions["trial"]["exp_version"], "1.1.0");
    assert_eq!(versions["online"]["release_version"], "1.0.0");
    let history: Vec<&str> = versions["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    let expected = [
        "MiniProgramAuthorized",
        "MiniProgramOwnerChanged",
        "CodeCommitted",
        "AuditSubmitted",
        "AuditPassed",
        "CodeReleased",
        "VisitStatusChanged",
        "VisitStatusChanged",
        "CodeCommitted",
        "AuditSubmitted",
        "AuditPassed",
        "CodeReleased",
        "CodeRolledBack",
    ];
    let mut oldest_first = history.clone();
    oldest_first.reverse();
    assert_eq!(oldest_first, expected);

    // The trial QR code is the stored PNG.
    let (code, qr) = stack
        .get(&format!("/code/qrcode?maAppId={appid}"), &ivy)
        .await;
    assert_eq!(code, 200, "{qr}");
    assert_eq!(qr["userVersion"], "1.1.0");
    let png = stack
        .http
        .get(qr["qrCodeUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));

    // Every step reached the EventBridge bus once, in order, with the documented detail.
    let events = events_settle(&stack, &appid, expected.len()).await;
    assert_eq!(kinds(&events), expected);
    for e in &events {
        assert_eq!(e["source"], "wxtpl");
        let d = &e["detail"];
        assert_eq!(d["schemaVersion"], 1);
        assert_eq!(d["maAppId"], appid.as_str());
        assert_eq!(d["componentAppid"], stack.component_appid().as_str());
        assert!(d["eventId"].as_str().unwrap().contains(&appid));
        assert!(d["occurredAt"].as_i64().unwrap() > 0);
    }
    assert_eq!(events[3]["detail"]["data"]["auditId"], audit_id);
    assert_eq!(events[6]["detail"]["data"]["accessStatus"], "close");
    assert_eq!(events[7]["detail"]["data"]["accessStatus"], "open");
    assert_eq!(
        events[12]["detail"]["data"]["to"]["release_version"],
        "1.0.0"
    );
    // Nothing is left in the outbox.
    let pk = format!("COMP#{}", stack.component_appid());
    let unpublished = stack
        .partition_items(&pk)
        .await
        .into_iter()
        .filter(|i| {
            stack_tests::s(i, "SK").is_some_and(|sk| sk.starts_with(&format!("HIST#{appid}#")))
                && i.contains_key("GSI1PK")
        })
        .count();
    assert_eq!(unpublished, 0);
}

#[tokio::test]
async fn rejection_delay_and_the_poll_for_a_lost_event() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated("jack").await;

    release(&stack, &token, &appid, "2.0.0").await;
    decide(&stack, &appid, "fail", "screenshots do not match").await;
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &token)
        .await;
    assert_eq!(now["userTemplate"]["releaseState"], "rejected");
    assert_eq!(
        now["userTemplate"]["auditReason"],
        "screenshots do not match"
    );
    // A rejected version cannot be published; WeChat is not asked.
    let releases = stack.counter("release").await;
    let (code, body) = stack
        .post("/code/publish", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(stack.counter("release").await, releases);

    // Delayed, then passed.
    release(&stack, &token, &appid, "2.0.1").await;
    decide(&stack, &appid, "delay", "holiday queue").await;
    assert_eq!(stack.release_state(&token, &appid).await, "delayed");
    decide(&stack, &appid, "pass", "").await;
    assert_eq!(stack.release_state(&token, &appid).await, "passed");

    // The next audit's result event is lost: the scheduled sweep asks get_auditstatus and settles it.
    release(&stack, &token, &appid, "2.0.2").await;
    let out = stack
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "fail", "reason": "lost event", "push": false}),
        )
        .await;
    assert_eq!(out["pushed"], false);
    assert_eq!(stack.release_state(&token, &appid).await, "auditing");
    let polls = stack.counter("get_auditstatus").await;
    stack.invoke("release-sweep").await;
    assert!(stack.counter("get_auditstatus").await > polls);
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &token)
        .await;
    assert_eq!(now["userTemplate"]["releaseState"], "rejected");
    assert_eq!(now["userTemplate"]["auditReason"], "lost event");
    // A second sweep finds nothing open and adds nothing.
    stack.invoke("release-sweep").await;

    let events = events_settle(&stack, &appid, 12).await;
    assert_eq!(
        kinds(&events),
        [
            "MiniProgramAuthorized",
            "MiniProgramOwnerChanged",
            "CodeCommitted",
            "AuditSubmitted",
            "AuditRejected",
            "CodeCommitted",
            "AuditSubmitted",
            "AuditDelayed",
            "AuditPassed",
            "CodeCommitted",
            "AuditSubmitted",
            "AuditRejected",
        ]
    );
    assert_eq!(
        events[4]["detail"]["data"]["reason"],
        "screenshots do not match"
    );
    assert_eq!(events[7]["detail"]["data"]["reason"], "holiday queue");
}

#[tokio::test]
async fn undo_within_and_beyond_wechats_quota() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated("kate").await;
    let body = json!({"maAppId": appid});
    let undo = || stack.post("/code/audit/undo", &token, &body);

    // Nothing to withdraw yet.
    assert_eq!(undo().await.0, 409);
    for i in 0..5 {
        release(&stack, &token, &appid, &format!("3.0.{i}")).await;
        let (code, out) = undo().await;
        assert_eq!(code, 200, "{out}");
        assert_eq!(out["state"], "withdrawn");
    }
    // The sixth undo of the day is refused by WeChat (87013): a clear 429, and the audit stays open.
    release(&stack, &token, &appid, "3.0.5").await;
    let before = stack.events(&appid).await.len();
    let (code, body) = undo().await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["error"]["code"], "AUDIT_UNDO_QUOTA_EXCEEDED");
    assert_eq!(body["error"]["wechatErrcode"], 87013);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("5 times a day"));
    assert_eq!(stack.release_state(&token, &appid).await, "auditing");
    // Speed-up works on the open audit; the quota is readable.
    let (code, out) = stack
        .post("/code/audit/speedup", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, quota) = stack
        .get(&format!("/code/audit/quota?maAppId={appid}"), &token)
        .await;
    assert_eq!(code, 200, "{quota}");
    assert!(quota["limit"].as_i64().unwrap() >= quota["rest"].as_i64().unwrap());
    assert!(quota["speedup_limit"].as_i64().unwrap() > quota["speedup_rest"].as_i64().unwrap());

    let events = events_settle(&stack, &appid, before).await;
    assert_eq!(events.len(), before, "the refused undo published nothing");
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| **k == "AuditWithdrawn")
            .count(),
        5
    );
}

#[tokio::test]
async fn privacy_scan_61039_then_a_later_submit_by_the_sweep() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated("liam").await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "submit_audit", "appid": appid, "errcode": 61039, "times": 2}),
        )
        .await;
    let out = release(&stack, &token, &appid, "4.0.0").await;
    assert_eq!(out["state"], "submit_pending");
    let commits = stack.counter("commit").await;
    // Still scanning at the first sweep: stays pending; the second sweep submits. Commit is never repeated.
    stack.invoke("release-sweep").await;
    assert_eq!(stack.release_state(&token, &appid).await, "submit_pending");
    stack.invoke("release-sweep").await;
    stack.clear_faults().await;
    assert_eq!(stack.release_state(&token, &appid).await, "auditing");
    assert_eq!(stack.counter("commit").await, commits);
    let events = events_settle(&stack, &appid, 4).await;
    assert_eq!(
        kinds(&events),
        [
            "MiniProgramAuthorized",
            "MiniProgramOwnerChanged",
            "CodeCommitted",
            "AuditSubmitted"
        ]
    );

    // A pending submit can be withdrawn without asking WeChat.
    stack
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "fail", "reason": "x"}),
        )
        .await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "submit_audit", "appid": appid, "errcode": 61039, "times": 1}),
        )
        .await;
    release(&stack, &token, &appid, "4.0.1").await;
    stack.clear_faults().await;
    let undos = stack.counter("undocodeaudit").await;
    let (code, out) = stack
        .post("/code/audit/undo", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "withdrawn");
    assert_eq!(stack.counter("undocodeaudit").await, undos);
}

#[tokio::test]
async fn audit_quota_exhausted_85085_is_a_clear_429_and_the_commit_is_kept() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated("mona").await;
    let quota = stack.sandbox("/control/quota", json!({"rest": 0})).await;
    assert_eq!(quota["rest"], 0);
    let (code, body) = stack
        .post(
            "/code/release",
            &token,
            &json!({"maAppId": appid, "userVersion": "5.0.0"}),
        )
        .await;
    stack.sandbox("/control/quota", json!({"rest": 500})).await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["error"]["code"], "AUDIT_QUOTA_EXCEEDED");
    assert_eq!(body["error"]["wechatErrcode"], 85085);
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &token)
        .await;
    assert_eq!(now["userTemplate"]["releaseState"], "committed");
    assert_eq!(
        now["userTemplate"]["codeCommitInfo"]["userVersion"],
        "5.0.0"
    );
    let events = events_settle(&stack, &appid, 3).await;
    assert_eq!(
        kinds(&events),
        [
            "MiniProgramAuthorized",
            "MiniProgramOwnerChanged",
            "CodeCommitted"
        ]
    );
    // The next release commits again and submits.
    assert_eq!(
        release(&stack, &token, &appid, "5.0.1").await["state"],
        "auditing"
    );
}

#[tokio::test]
async fn testers_and_domains() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let nina = stack.token_for_user(Role::Merchant, "nina");
    let appid = stack.own_mini_program(&nina).await;

    let (code, bound) = stack
        .post(
            "/tester/bind",
            &nina,
            &json!({"maAppId": appid, "wechatId": "tester_one"}),
        )
        .await;
    assert_eq!(code, 200, "{bound}");
    let userstr = bound["userstr"].as_str().unwrap().to_owned();
    let (code, body) = stack
        .post(
            "/tester/bind",
            &nina,
            &json!({"maAppId": appid, "wechatId": "tester_one"}),
        )
        .await;
    assert_eq!(
        (code, body["error"]["wechatErrcode"].clone()),
        (409, json!(85004))
    );
    let (code, body) = stack
        .post(
            "/tester/bind",
            &nina,
            &json!({"maAppId": appid, "wechatId": "nobody_here"}),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["code"], "WECHAT_USER_NOT_FOUND");
    let binds = stack.counter("bind_tester").await;
    let (code, _) = stack
        .post(
            "/tester/bind",
            &nina,
            &json!({"maAppId": appid, "wechatId": "not a wechat id!"}),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(
        stack.counter("bind_tester").await,
        binds,
        "refused before WeChat"
    );

    let (code, list) = stack
        .get(&format!("/tester/list?maAppId={appid}"), &nina)
        .await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(
        list["testers"],
        json!([{"userstr": userstr, "wechatId": "tester_one", "boundAt": bound["boundAt"]}])
    );
    let (code, _) = stack
        .post(
            "/tester/unbind",
            &nina,
            &json!({"maAppId": appid, "wechatId": "tester_one", "userstr": userstr}),
        )
        .await;
    assert_eq!(code, 400, "exactly one way of naming the tester");
    let (code, _) = stack
        .post(
            "/tester/unbind",
            &nina,
            &json!({"maAppId": appid, "userstr": userstr}),
        )
        .await;
    assert_eq!(code, 200);
    let (_, list) = stack
        .get(&format!("/tester/list?maAppId={appid}"), &nina)
        .await;
    assert_eq!(list["testers"], json!([]));

    let add = json!({"maAppId": appid, "action": "add", "requestdomain": ["https://api.shop.example"],
                     "wsrequestdomain": ["wss://ws.shop.example"]});
    // WeChat sets only domains the platform registered first: a clear 409 until the operator does.
    let (code, refused) = stack.post("/domain/server", &nina, &add).await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(
        refused["error"]["code"], "DOMAIN_NOT_REGISTERED",
        "{refused}"
    );
    let ops = stack.token(Role::Operator);
    let platform = json!({"action": "add", "domains": ["api.shop.example", "ws.shop.example"]});
    assert_eq!(
        stack.post("/component/domains", &nina, &platform).await.0,
        403
    );
    let bad = json!({"action": "add", "domains": ["https://api.shop.example/path"]});
    assert_eq!(stack.post("/component/domains", &ops, &bad).await.0, 400);
    let (code, registered) = stack.post("/component/domains", &ops, &platform).await;
    assert_eq!(code, 200, "{registered}");
    assert!(
        registered["testing"]
            .as_array()
            .unwrap()
            .contains(&json!("api.shop.example")),
        "{registered}"
    );
    let (code, domains) = stack.post("/domain/server", &nina, &add).await;
    assert_eq!(code, 200, "{domains}");
    assert_eq!(
        domains["requestdomain"],
        json!(["https://api.shop.example"])
    );
    assert_eq!(domains["wsrequestdomain"], json!(["wss://ws.shop.example"]));
    let modifies = stack.counter("modify_domain").await;
    let (code, body) = stack
        .post(
            "/domain/server",
            &nina,
            &json!({"maAppId": appid, "action": "add", "requestdomain": ["http://insecure.example"]}),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        stack
            .post(
                "/domain/server",
                &nina,
                &json!({"maAppId": appid, "action": "replace"})
            )
            .await
            .0,
        400
    );
    assert_eq!(stack.counter("modify_domain").await, modifies);
    let (_, got) = stack
        .post(
            "/domain/server",
            &nina,
            &json!({"maAppId": appid, "action": "get"}),
        )
        .await;
    assert_eq!(got["requestdomain"], json!(["https://api.shop.example"]));
    let (code, web) = stack
        .post(
            "/domain/webview",
            &nina,
            &json!({"maAppId": appid, "action": "set", "webviewdomain": ["https://h5.shop.example"]}),
        )
        .await;
    assert_eq!(code, 200, "{web}");
    assert_eq!(web["webviewdomain"], json!(["https://h5.shop.example"]));
}

#[tokio::test]
async fn another_merchants_mini_program_is_404_on_every_route_and_nothing_changes() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (owner, appid) = stack.decorated("olga").await;
    release(&stack, &owner, &appid, "6.0.0").await;
    decide(&stack, &appid, "pass", "").await;
    let before_state = stack.release_state(&owner, &appid).await;
    let before_events = events_settle(&stack, &appid, 5).await.len();
    let calls: Value = {
        let r = stack
            .http
            .get(format!("{}/control/counters", stack.sandbox_url()))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    };

    let mallory = stack.token_for_user(Role::Merchant, "mallory");
    let body = json!({"maAppId": appid});
    let posts = [
        ("/code/release", body.clone()),
        ("/code/audit/undo", body.clone()),
        ("/code/audit/speedup", body.clone()),
        ("/code/publish", body.clone()),
        ("/code/rollback", body.clone()),
        (
            "/code/visit-status",
            json!({"maAppId": appid, "action": "close"}),
        ),
        (
            "/tester/bind",
            json!({"maAppId": appid, "wechatId": "mallory"}),
        ),
        (
            "/tester/unbind",
            json!({"maAppId": appid, "wechatId": "tester_one"}),
        ),
        (
            "/domain/server",
            json!({"maAppId": appid, "action": "set", "requestdomain": ["https://evil.example"]}),
        ),
        (
            "/domain/webview",
            json!({"maAppId": appid, "action": "set", "webviewdomain": ["https://evil.example"]}),
        ),
    ];
    for (path, body) in &posts {
        let (code, out) = stack.post(path, &mallory, body).await;
        assert_eq!(code, 404, "{path}: {out}");
        assert!(!out.to_string().contains("olga"), "{path} leaks the owner");
    }
    for path in [
        "/code/audit/quota",
        "/code/versions",
        "/code/qrcode",
        "/tester/list",
    ] {
        let (code, out) = stack
            .get(&format!("{path}?maAppId={appid}"), &mallory)
            .await;
        assert_eq!(code, 404, "{path}: {out}");
        // Wrong role, and a query without its mini-program, are refused too.
        let dev = stack.token(Role::Developer);
        let (code, _) = stack.get(&format!("{path}?maAppId={appid}"), &dev).await;
        assert_eq!(code, 403, "{path}");
        let (code, out) = stack.get(path, &owner).await;
        assert_eq!(code, 400, "{path}: {out}");
    }
    // Wrong role, malformed and oversized bodies are refused before anything else.
    let dev = stack.token(Role::Developer);
    for (path, body) in &posts {
        assert_eq!(stack.post(path, &dev, body).await.0, 403, "{path}");
        let resp = stack
            .http
            .post(format!("{}{path}", stack.api_url()))
            .bearer_auth(&owner)
            .body("{\"maAppId\":")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{path}");
    }
    let resp = stack
        .http
        .post(format!("{}/code/visit-status", stack.api_url()))
        .bearer_auth(&owner)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"maAppId\":\"{appid}\",\"action\":\"{}\"}}",
            "x".repeat(300_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let (code, _) = stack
        .post(
            "/code/visit-status",
            &owner,
            &json!({"maAppId": appid, "action": "hide"}),
        )
        .await;
    assert_eq!(code, 400);

    let after: Value = stack
        .http
        .get(format!("{}/control/counters", stack.sandbox_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for endpoint in [
        "commit",
        "submit_audit",
        "undocodeaudit",
        "speedupaudit",
        "release",
        "revertcoderelease",
        "change_visitstatus",
        "bind_tester",
        "unbind_tester",
        "modify_domain",
        "setwebviewdomain",
        "queryquota",
        "getversioninfo",
    ] {
        assert_eq!(after[endpoint], calls[endpoint], "{endpoint} was called");
    }
    assert_eq!(stack.release_state(&owner, &appid).await, before_state);
    assert_eq!(stack.events(&appid).await.len(), before_events);
    // The owner still publishes.
    assert_eq!(
        stack
            .post("/code/publish", &owner, &json!({"maAppId": appid}))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_sweep_republishes_what_the_bus_did_not_take() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated("pete").await;
    let pk = format!("COMP#{}", stack.component_appid());
    // A history record still in the outbox, as left by a request that could not reach the bus.
    let at = 1_700_000_000_000_i64;
    let sk = format!("HIST#{appid}#{at:013}#VisitStatusChanged");
    stack
        .put_item(json!({
            "PK": pk, "SK": sk, "kind": "VisitStatusChanged", "ma_app_id": appid, "at": at,
            "data": "{\"accessStatus\":\"close\",\"previous\":\"open\"}",
            "GSI1PK": "OUTBOX", "GSI1SK": format!("{at:013}#{}", stack.component_appid()),
        }))
        .await;
    let out = stack.invoke("release-sweep").await;
    assert!(out["eventsPublished"].as_i64().unwrap() >= 1, "{out}");
    let item = stack.item(&pk, &sk).await.expect("history is kept");
    assert!(!item.contains_key("GSI1PK"), "out of the outbox");
    let events = stack.events(&appid).await;
    let republished: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail"]["occurredAt"] == at)
        .collect();
    assert_eq!(republished.len(), 1);
    assert_eq!(republished[0]["detail-type"], "VisitStatusChanged");
    // It shows in the mini-program's history too.
    let (_, versions) = stack
        .get(&format!("/code/versions?maAppId={appid}"), &token)
        .await;
    assert!(versions["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["occurredAt"] == at));
}

#[tokio::test]
async fn authorization_and_unauthorization_are_published() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let quinn = stack.token_for_user(Role::Merchant, "quinn");
    let appid = stack.own_mini_program(&quinn).await;
    let out = stack
        .sandbox("/control/unauthorize", json!({"appid": appid}))
        .await;
    assert_eq!(out["delivery"]["delivered"], true, "{out}");
    let events = events_settle(&stack, &appid, 3).await;
    assert_eq!(
        kinds(&events),
        [
            "MiniProgramAuthorized",
            "MiniProgramOwnerChanged",
            "MiniProgramUnauthorized"
        ]
    );
    assert!(events[0]["detail"]["data"]["userName"]
        .as_str()
        .unwrap()
        .starts_with("gh_"));
    // The same push delivered again is one event, not two.
    let xml = format!(
        "<xml><AppId>{}</AppId><CreateTime>{}</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>{appid}</AuthorizerAppid></xml>",
        stack.component_appid(),
        events[2]["detail"]["occurredAt"].as_i64().unwrap() / 1000
    );
    stack
        .sandbox(
            "/control/push",
            json!({"urlKind": "auth_event", "xml": xml}),
        )
        .await;
    assert_eq!(stack.events(&appid).await.len(), 3);
}
