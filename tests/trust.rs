//! Trust, black-box: ownership follows WeChat's consent, logins resist guessing, release steps hold under races
//! and crashes, and a save never undoes a pipeline step.
use serde_json::{json, Value};
use stack_tests::{serial, Stack};
use wxtpl::http::auth::Role;

fn unique(name: &str) -> String {
    static RUN: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    format!("{name}-{}", RUN.get_or_init(wxtpl::clock::now_millis))
}

/// Opens a merchant's consent link like a browser; `appid` makes the sandbox's consent name an existing
/// mini-program (its WeChat admin authorizing it again).
async fn consent(stack: &Stack, token: &str, appid: Option<&str>) -> Value {
    let (code, link) = stack.get("/auth/link?kind=pc", token).await;
    assert_eq!(code, 200, "{link}");
    let mut url = link["url"].as_str().unwrap().to_owned();
    if let Some(a) = appid {
        url.push_str(&format!("&sandbox_appid={a}"));
    }
    let resp = stack.http.get(&url).send().await.unwrap();
    resp.json::<Value>().await.unwrap()["frontend"].clone()
}

async fn listed(stack: &Stack, token: &str) -> Vec<String> {
    let (code, body) = stack.get("/miniprogram/list", token).await;
    assert_eq!(code, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["maAppId"].as_str().unwrap().to_owned())
        .collect()
}

/// The delivered events of one kind for a mini-program, waiting briefly for the bus's log.
async fn events_of(stack: &Stack, appid: &str, kind: &str, at_least: usize) -> Vec<Value> {
    for _ in 0..40 {
        let found: Vec<Value> = stack
            .events(appid)
            .await
            .into_iter()
            .filter(|e| e["detail-type"] == kind)
            .collect();
        if found.len() >= at_least {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stack
        .events(appid)
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == kind)
        .collect()
}

#[tokio::test]
async fn ownership_follows_consent_through_unauthorization_and_a_new_link() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (m1, m2) = (unique("owner-one"), unique("owner-two"));
    let (t1, t2) = (
        stack.token_for_user(Role::Merchant, &m1),
        stack.token_for_user(Role::Merchant, &m2),
    );
    let first = consent(&stack, &t1, None).await;
    assert_eq!(first["outcome"], "authorized", "{first}");
    let appid = first["maAppId"].as_str().unwrap().to_owned();
    assert_eq!(listed(&stack, &t1).await, vec![appid.clone()]);
    let owner_events = events_of(&stack, &appid, "MiniProgramOwnerChanged", 1).await;
    assert_eq!(owner_events.len(), 1);
    assert_eq!(owner_events[0]["detail"]["data"]["merchant"], m1.as_str());

    // While M1 owns it and it is authorized, M2's link does not move it: a clear refusal, nothing changes hands.
    let refused = consent(&stack, &t2, Some(&appid)).await;
    assert_eq!(refused["outcome"], "error", "{refused}");
    assert_eq!(refused["status"], "409");
    assert_eq!(listed(&stack, &t1).await, vec![appid.clone()]);
    assert!(listed(&stack, &t2).await.is_empty());

    // Its WeChat admin revokes it: M1 loses it in the same write, and every M1 route forgets it.
    let out = stack
        .sandbox("/control/unauthorize", json!({"appid": appid}))
        .await;
    assert_eq!(out["delivery"]["delivered"], true, "{out}");
    assert!(listed(&stack, &t1).await.is_empty());
    let (code, body) = stack
        .get(&format!("/config/query?maAppId={appid}&templateId=x"), &t1)
        .await;
    assert_eq!(code, 404, "{body}");
    let gone = events_of(&stack, &appid, "MiniProgramUnauthorized", 1).await;
    assert_eq!(gone[0]["detail"]["data"]["previousMerchant"], m1.as_str());

    // It is authorized again through M2's link: now M2 owns it, and the change is announced.
    let second = consent(&stack, &t2, Some(&appid)).await;
    assert_eq!(second["outcome"], "authorized", "{second}");
    assert_eq!(second["maAppId"], appid.as_str());
    assert_eq!(listed(&stack, &t2).await, vec![appid.clone()]);
    assert!(listed(&stack, &t1).await.is_empty());
    let owner_events = events_of(&stack, &appid, "MiniProgramOwnerChanged", 2).await;
    assert_eq!(owner_events.len(), 2, "{owner_events:?}");
    let last = &owner_events[1]["detail"]["data"];
    assert_eq!(last["merchant"], m2.as_str());
    assert_eq!(last["previousMerchant"], m1.as_str());
    let (code, _) = stack
        .get(&format!("/code/versions?maAppId={appid}"), &t1)
        .await;
    assert_eq!(code, 404, "the former owner reaches nothing");
}

#[tokio::test]
async fn an_admin_unlinks_a_mini_program_and_the_refusals_hold() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let m = unique("unlinked");
    let token = stack.token_for_user(Role::Merchant, &m);
    let appid = consent(&stack, &token, None).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = stack.token(Role::Admin);
    let body = json!({"maAppId": appid});
    for role in [Role::Merchant, Role::Operator, Role::Developer] {
        let (code, out) = stack
            .post("/miniprogram/unlink", &stack.token(role), &body)
            .await;
        assert_eq!(code, 403, "{role:?}: {out}");
    }
    let other_tenant = stack.token_for(Role::Admin, "another-tenant", Some(&stack.component_appid()));
    assert_eq!(stack.post("/miniprogram/unlink", &other_tenant, &body).await.0, 404);
    for bad in [json!({}), json!({"maAppId": 7}), json!({"maAppId": appid, "extra": 1})] {
        assert_eq!(stack.post("/miniprogram/unlink", &admin, &bad).await.0, 400, "{bad}");
    }
    let (code, out) = stack
        .post("/miniprogram/unlink", &admin, &json!({"maAppId": "wxdoesnotexist00"}))
        .await;
    assert_eq!(code, 404, "{out}");
    assert_eq!(listed(&stack, &token).await, vec![appid.clone()], "refusals changed nothing");

    let (code, out) = stack.post("/miniprogram/unlink", &admin, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["previousMerchant"], m.as_str());
    assert!(listed(&stack, &token).await.is_empty());
    let (code, out) = stack.post("/miniprogram/unlink", &admin, &body).await;
    assert_eq!(code, 409, "{out}");
    let owner_events = events_of(&stack, &appid, "MiniProgramOwnerChanged", 2).await;
    assert_eq!(owner_events[1]["detail"]["data"]["merchant"], Value::Null);
    // The owner's own link gives it back: it is authorized and nobody owns it.
    assert_eq!(consent(&stack, &token, Some(&appid)).await["outcome"], "authorized");
    assert_eq!(listed(&stack, &token).await, vec![appid]);
}

#[tokio::test]
async fn no_merchant_route_acts_on_a_mini_program_whose_authorization_is_not_in_force() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let token = stack.token_for_user(Role::Merchant, &unique("lapsed"));
    let appid = consent(&stack, &token, None).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    // A record unauthorized before ownership was cleared with it still names its merchant.
    let pk = format!("COMP#{}", stack.component_appid());
    stack
        .set_string(&pk, &format!("AUTHZ#{appid}"), "status", "unauthorized")
        .await;
    let commits = stack.counter("commit").await;
    let (code, out) = stack
        .post("/code/release", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(out["error"]["code"], "MINI_PROGRAM_NOT_AUTHORIZED");
    let (code, out) = stack
        .get(&format!("/tester/list?maAppId={appid}"), &token)
        .await;
    assert_eq!((code, out["error"]["code"].as_str()), (409, Some("MINI_PROGRAM_NOT_AUTHORIZED")));
    assert_eq!(stack.counter("commit").await, commits, "WeChat was not asked");
}

#[tokio::test]
async fn concurrent_releases_of_one_mini_program_commit_once_and_the_rest_are_409() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("racer")).await;
    let (commits, submits) = (stack.counter("commit").await, stack.counter("submit_audit").await);
    let body = json!({"maAppId": appid, "userVersion": "2.0.0"});
    let answers = futures::future::join_all(
        (0..5).map(|_| stack.post("/code/release", &token, &body)),
    )
    .await;
    let codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{answers:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 4, "{answers:?}");
    assert_eq!(stack.counter("commit").await, commits + 1, "exactly one commit reached WeChat");
    assert_eq!(stack.counter("submit_audit").await, submits + 1);
    assert_eq!(stack.release_state(&token, &appid).await, "auditing");
}

#[tokio::test]
async fn a_failed_commit_leaves_no_intent_and_a_release_resumes_after_its_commit() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("resumer")).await;
    let body = json!({"maAppId": appid, "userVersion": "3.0.0"});
    // WeChat refuses the commit: the intent is dropped, the state is what it was.
    stack
        .sandbox("/control/faults", json!({"endpoint": "commit", "errcode": 85013, "appid": appid}))
        .await;
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 502, "{out}");
    assert_eq!(stack.release_state(&token, &appid).await, "saved");
    // The commit succeeds but the QR code fails: the next try resumes from the commit (WeChat holds that code).
    stack
        .sandbox("/control/faults", json!({"endpoint": "get_qrcode", "httpStatus": 500, "appid": appid, "times": -1}))
        .await;
    let commits = stack.counter("commit").await;
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 502, "{out}");
    assert_eq!(stack.release_state(&token, &appid).await, "committed");
    assert_eq!(stack.counter("commit").await, commits + 1);
    stack.clear_faults().await;
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "auditing");
    assert_eq!(stack.counter("commit").await, commits + 1, "no second commit of the same code");
    assert_eq!(out["codeCommitInfo"]["userVersion"], "3.0.0");
}

#[tokio::test]
async fn a_save_from_a_stale_read_never_undoes_a_pipeline_step() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("saver")).await;
    let component = stack.component_appid();
    let table = wxtpl::store::Table {
        client: stack.dynamo.clone(),
        name: stack.env["TABLE_NAME"].clone(),
    };
    use wxtpl::store::user_templates as ut;
    // A save reads the record, then a release moves it to auditing before the save writes.
    let stale = ut::get(&table, &component, &appid).await.unwrap().unwrap();
    let (code, out) = stack
        .post("/code/release", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{out}");
    let pages = ut::pages(&table, &component, &appid).await.unwrap();
    let config = json!({"theme": "late"});
    let plan = ut::Save {
        component: &component,
        seller_id: &stale.seller_id,
        ma_app_id: &appid,
        template_id: &stale.template_id,
        config: &config,
        pages: &pages,
        removed_pages: &[],
        previous: Some((&stale, stale.version)),
        now: wxtpl::clock::now_secs(),
    };
    assert!(ut::save(&table, &plan).await.unwrap(), "the version still matches");
    let now = ut::get(&table, &component, &appid).await.unwrap().unwrap();
    assert_eq!(now.config["theme"], "late");
    assert_eq!(now.release_state, "auditing", "the save did not revert the step");
    assert_eq!(now.audit_id, out["auditId"].as_i64());
    let open = stack
        .item(&format!("COMP#{component}"), &format!("UT#{appid}"))
        .await
        .unwrap();
    assert_eq!(stack_tests::s(&open, "GSI1PK").as_deref(), Some("RELEASEOPEN"), "still in the sweep's index");
}

#[tokio::test]
async fn a_submit_whose_answer_was_lost_is_adopted_not_left_stuck() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("lost-answer")).await;
    // WeChat takes the submission, but its answer never reaches us; our retry meets 85009 and adopts the audit.
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "submit_audit", "appid": appid, "applied": true, "times": 1}),
        )
        .await;
    let submits = stack.counter("submit_audit").await;
    let (code, out) = stack
        .post("/code/release", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "auditing");
    let audit_id = out["auditId"].as_i64().unwrap();
    assert_eq!(stack.counter("submit_audit").await, submits + 2);
    // The result WeChat pushes settles exactly that audit.
    let decided = stack
        .sandbox("/control/audit/decide", json!({"appid": appid, "result": "pass"}))
        .await;
    assert_eq!(decided["delivered"], true, "{decided}");
    assert_eq!(stack.release_state(&token, &appid).await, "passed");
    let submitted = events_of(&stack, &appid, "AuditSubmitted", 1).await;
    assert_eq!(submitted.len(), 1);
    assert_eq!(submitted[0]["detail"]["data"]["auditId"], audit_id);
}

#[tokio::test]
async fn an_intent_left_by_a_dead_request_is_reconciled_by_the_sweep_against_wechat() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("reconciled")).await;
    // Every answer to the submission is lost: the request gives up and leaves its intent, since WeChat may be
    // auditing (it is).
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "submit_audit", "appid": appid, "applied": true, "times": -1}),
        )
        .await;
    let (code, out) = stack
        .post("/code/release", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 502, "{out}");
    assert_eq!(stack.release_state(&token, &appid).await, "submitting");
    stack.clear_faults().await;
    // Meanwhile nobody can start another release, and WeChat is not asked.
    let commits = stack.counter("commit").await;
    let (code, out) = stack
        .post("/code/release", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(stack.counter("commit").await, commits);
    // A fresh intent is its holder's; the sweep leaves it alone.
    stack.invoke("release-sweep").await;
    assert_eq!(stack.release_state(&token, &appid).await, "submitting");
    // A minute later the sweep asks WeChat: an audit runs, so it is recorded as ours.
    let (pk, sk) = (format!("COMP#{}", stack.component_appid()), format!("UT#{appid}"));
    let started = wxtpl::clock::now_millis() - 120_000;
    stack.set_number(&pk, &sk, "intent_started_ms", started).await;
    let summary = stack.invoke("release-sweep").await;
    assert_eq!(summary["intentsReconciled"], 1, "{summary}");
    assert_eq!(stack.release_state(&token, &appid).await, "auditing");
    let decided = stack
        .sandbox("/control/audit/decide", json!({"appid": appid, "result": "fail", "reason": "blurry logo"}))
        .await;
    assert_eq!(decided["delivered"], true, "{decided}");
    assert_eq!(stack.release_state(&token, &appid).await, "rejected");

    // A commit intent whose holder died before WeChat got the commit goes back to where it started.
    let item = stack.item(&pk, &sk).await.unwrap();
    let before = stack_tests::s(&item, "release_state").unwrap();
    stack.set_string(&pk, &sk, "release_state", "committing").await;
    stack.set_string(&pk, &sk, "GSI1PK", "RELEASEOPEN").await;
    let open_ref = format!("{}#{appid}", stack.component_appid());
    stack.set_string(&pk, &sk, "GSI1SK", &open_ref).await;
    stack.set_string(&pk, &sk, "intent_back_to", &before).await;
    stack
        .set_string(&pk, &sk, "intent_commit_info", &json!({"userVersion": "never-committed"}).to_string())
        .await;
    stack.set_number(&pk, &sk, "intent_started_ms", started).await;
    let summary = stack.invoke("release-sweep").await;
    assert_eq!(summary["intentsReconciled"], 1, "{summary}");
    assert_eq!(stack.release_state(&token, &appid).await, before);
}
