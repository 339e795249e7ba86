//! Trust, black-box: ownership follows WeChat's consent, logins resist guessing, release steps hold under races
//! and crashes, and a save never undoes a pipeline step.
use serde_json::{json, Value};
use stack_tests::{serial, unique, Stack};
use wxtpl::http::auth::Role;

/// Opens a merchant's consent link like a browser; `appid` makes the sandbox's consent name an existing
/// mini-program (its WeChat admin authorizing it again).
#[tokio::test]
async fn ownership_follows_consent_through_unauthorization_and_a_new_link() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (m1, m2) = (unique("owner-one"), unique("owner-two"));
    let (t1, t2) = (
        stack.token_for_user(Role::Merchant, &m1),
        stack.token_for_user(Role::Merchant, &m2),
    );
    let first = stack.consent(&t1, None).await;
    assert_eq!(first["outcome"], "authorized", "{first}");
    let appid = first["maAppId"].as_str().unwrap().to_owned();
    assert_eq!(stack.mini_programs(&t1).await, vec![appid.clone()]);
    let owner_events = stack.events_of(&appid, "MiniProgramOwnerChanged", 1).await;
    assert_eq!(owner_events.len(), 1);
    assert_eq!(owner_events[0]["detail"]["data"]["merchant"], m1.as_str());

    // While M1 owns it and it is authorized, M2's link does not move it: a clear refusal, nothing changes hands.
    let refused = stack.consent(&t2, Some(&appid)).await;
    assert_eq!(refused["outcome"], "error", "{refused}");
    assert_eq!(refused["status"], "409");
    assert_eq!(stack.mini_programs(&t1).await, vec![appid.clone()]);
    assert!(stack.mini_programs(&t2).await.is_empty());

    // Its WeChat admin revokes it: M1 loses it in the same write, and every M1 route forgets it.
    let out = stack
        .sandbox("/control/unauthorize", json!({"appid": appid}))
        .await;
    assert_eq!(out["delivery"]["delivered"], true, "{out}");
    assert!(stack.mini_programs(&t1).await.is_empty());
    let (code, body) = stack
        .get(&format!("/config/query?maAppId={appid}&templateId=x"), &t1)
        .await;
    assert_eq!(code, 404, "{body}");
    let gone = stack.events_of(&appid, "MiniProgramUnauthorized", 1).await;
    assert_eq!(gone[0]["detail"]["data"]["previousMerchant"], m1.as_str());

    // It is authorized again through M2's link: now M2 owns it, and the change is announced.
    let second = stack.consent(&t2, Some(&appid)).await;
    assert_eq!(second["outcome"], "authorized", "{second}");
    assert_eq!(second["maAppId"], appid.as_str());
    assert_eq!(stack.mini_programs(&t2).await, vec![appid.clone()]);
    assert!(stack.mini_programs(&t1).await.is_empty());
    let owner_events = stack.events_of(&appid, "MiniProgramOwnerChanged", 2).await;
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
    let appid = stack.consent(&token, None).await["maAppId"]
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
    let other_tenant = stack.token_for(
        Role::Admin,
        "another-tenant",
        Some(&stack.component_appid()),
    );
    assert_eq!(
        stack
            .post("/miniprogram/unlink", &other_tenant, &body)
            .await
            .0,
        404
    );
    for bad in [
        json!({}),
        json!({"maAppId": 7}),
        json!({"maAppId": appid, "extra": 1}),
    ] {
        assert_eq!(
            stack.post("/miniprogram/unlink", &admin, &bad).await.0,
            400,
            "{bad}"
        );
    }
    let (code, out) = stack
        .post(
            "/miniprogram/unlink",
            &admin,
            &json!({"maAppId": "wxdoesnotexist00"}),
        )
        .await;
    assert_eq!(code, 404, "{out}");
    assert_eq!(
        stack.mini_programs(&token).await,
        vec![appid.clone()],
        "refusals changed nothing"
    );

    let (code, out) = stack.post("/miniprogram/unlink", &admin, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["previousMerchant"], m.as_str());
    assert!(stack.mini_programs(&token).await.is_empty());
    let (code, out) = stack.post("/miniprogram/unlink", &admin, &body).await;
    assert_eq!(code, 409, "{out}");
    let owner_events = stack.events_of(&appid, "MiniProgramOwnerChanged", 2).await;
    assert_eq!(owner_events[1]["detail"]["data"]["merchant"], Value::Null);
    // The owner's own link gives it back: it is authorized and nobody owns it.
    assert_eq!(
        stack.consent(&token, Some(&appid)).await["outcome"],
        "authorized"
    );
    assert_eq!(stack.mini_programs(&token).await, vec![appid]);
}

#[tokio::test]
async fn no_merchant_route_acts_on_a_mini_program_whose_authorization_is_not_in_force() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let token = stack.token_for_user(Role::Merchant, &unique("lapsed"));
    let appid = stack.consent(&token, None).await["maAppId"]
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
    assert_eq!(
        (code, out["error"]["code"].as_str()),
        (409, Some("MINI_PROGRAM_NOT_AUTHORIZED"))
    );
    assert_eq!(
        stack.counter("commit").await,
        commits,
        "WeChat was not asked"
    );
}

#[tokio::test]
async fn concurrent_releases_of_one_mini_program_commit_once_and_the_rest_are_409() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("racer")).await;
    let (commits, submits) = (
        stack.counter("commit").await,
        stack.counter("submit_audit").await,
    );
    let body = json!({"maAppId": appid, "userVersion": "2.0.0"});
    let answers =
        futures::future::join_all((0..5).map(|_| stack.post("/code/release", &token, &body))).await;
    let codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == 200).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == 409).count(),
        4,
        "{answers:?}"
    );
    assert_eq!(
        stack.counter("commit").await,
        commits + 1,
        "exactly one commit reached WeChat"
    );
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
        .sandbox(
            "/control/faults",
            json!({"endpoint": "commit", "errcode": 85013, "appid": appid}),
        )
        .await;
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 502, "{out}");
    assert_eq!(stack.release_state(&token, &appid).await, "saved");
    // The commit succeeds but the QR code fails: the next try resumes from the commit (WeChat holds that code).
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "get_qrcode", "httpStatus": 500, "appid": appid, "times": -1}),
        )
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
    assert_eq!(
        stack.counter("commit").await,
        commits + 1,
        "no second commit of the same code"
    );
    assert_eq!(out["codeCommitInfo"]["userVersion"], "3.0.0");
}

#[tokio::test]
async fn a_save_from_a_stale_read_never_undoes_a_pipeline_step() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("saver")).await;
    let component = stack.component_appid();
    let table = wxtpl::store::Table {
        client: wxtpl::aws::LazyClient::ready(stack.dynamo.clone()),
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
        ext: None,
        pages: &pages,
        removed_pages: &[],
        previous: Some((&stale, stale.version)),
        now: wxtpl::clock::now_secs(),
    };
    assert!(
        ut::save(&table, &plan).await.unwrap(),
        "the version still matches"
    );
    let now = ut::get(&table, &component, &appid).await.unwrap().unwrap();
    assert_eq!(now.config["theme"], "late");
    assert_eq!(
        now.release_state, "auditing",
        "the save did not revert the step"
    );
    assert_eq!(now.audit_id, out["auditId"].as_i64());
    let open = stack
        .item(&format!("COMP#{component}"), &format!("UT#{appid}"))
        .await
        .unwrap();
    assert!(
        stack_tests::s(&open, "GSI1PK").is_some_and(|p| p.starts_with("RELEASEOPEN#")),
        "still in the sweep's index"
    );
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
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "pass"}),
        )
        .await;
    assert_eq!(decided["delivered"], true, "{decided}");
    assert_eq!(stack.release_state(&token, &appid).await, "passed");
    let submitted = stack.events_of(&appid, "AuditSubmitted", 1).await;
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
    let (pk, sk) = (
        format!("COMP#{}", stack.component_appid()),
        format!("UT#{appid}"),
    );
    let started = wxtpl::clock::now_millis() - 120_000;
    stack
        .set_number(&pk, &sk, "intent_started_ms", started)
        .await;
    let summary = stack.invoke("release-sweep").await;
    assert_eq!(summary["intentsReconciled"], 1, "{summary}");
    assert_eq!(stack.release_state(&token, &appid).await, "auditing");
    let decided = stack
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "fail", "reason": "blurry logo"}),
        )
        .await;
    assert_eq!(decided["delivered"], true, "{decided}");
    assert_eq!(stack.release_state(&token, &appid).await, "rejected");

    // A commit intent whose holder died before WeChat got the commit goes back to where it started (written as
    // records were before the index was sharded: the sweep still reads that partition).
    let item = stack.item(&pk, &sk).await.unwrap();
    let before = stack_tests::s(&item, "release_state").unwrap();
    stack
        .set_string(&pk, &sk, "release_state", "committing")
        .await;
    stack.set_string(&pk, &sk, "GSI1PK", "RELEASEOPEN").await;
    let open_ref = format!("{}#{appid}", stack.component_appid());
    stack.set_string(&pk, &sk, "GSI1SK", &open_ref).await;
    stack.set_string(&pk, &sk, "intent_back_to", &before).await;
    stack
        .set_string(
            &pk,
            &sk,
            "intent_commit_info",
            &json!({"userVersion": "never-committed"}).to_string(),
        )
        .await;
    stack
        .set_number(&pk, &sk, "intent_started_ms", started)
        .await;
    let summary = stack.invoke("release-sweep").await;
    assert_eq!(summary["intentsReconciled"], 1, "{summary}");
    assert_eq!(stack.release_state(&token, &appid).await, before);
}

/// A user created by the admin of the stack's tenant; returns the account name.
async fn user(stack: &Stack, prefix: &str, password: &str, role: &str) -> String {
    let account = format!("{}@trust.test", unique(prefix));
    let body = json!({"account": account, "password": password, "role": role,
                      "components": [stack.component_appid()]});
    let (code, out) = stack
        .post("/user/create", &stack.token(Role::Admin), &body)
        .await;
    assert_eq!(code, 201, "{out}");
    account
}

async fn parallel_guesses(stack: &Stack, source: [u8; 4], account: &str) -> Vec<(u16, Value)> {
    futures::future::join_all((0..20).map(|_| stack.login_from(source, account, "a wrong guess!")))
        .await
}

#[tokio::test]
async fn parallel_guesses_reach_the_hash_five_times_and_known_and_unknown_accounts_look_alike() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let known = user(&stack, "guessed", "the right password", "operator").await;
    let unknown = format!("{}@trust.test", unique("nobody"));
    let mut seen = Vec::new();
    for account in [&known, &unknown] {
        let answers = parallel_guesses(&stack, [127, 0, 0, 21], account).await;
        let refused: Vec<&Value> = answers
            .iter()
            .filter(|(c, _)| *c == 401)
            .map(|(_, b)| b)
            .collect();
        let braked: Vec<&Value> = answers
            .iter()
            .filter(|(c, _)| *c == 429)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(
            (refused.len(), braked.len()),
            (5, 15),
            "{account}: {answers:?}"
        );
        assert_eq!(braked[0]["error"]["code"], "TOO_MANY_ATTEMPTS");
        seen.push((refused[0].clone(), braked[0]["error"]["code"].clone()));
    }
    assert_eq!(
        seen[0], seen[1],
        "a known and an unknown account answer alike"
    );
    // Locked: even the right password does not reach the hash.
    let (code, body) = stack
        .login_from([127, 0, 0, 21], &known, "the right password")
        .await;
    assert_eq!(code, 429, "{body}");

    // One at a time: five 401s then 429, for both.
    let other_known = user(&stack, "guessed-slowly", "the right password", "operator").await;
    let other_unknown = format!("{}@trust.test", unique("nobody-slowly"));
    let mut sequences = Vec::new();
    for account in [&other_known, &other_unknown] {
        let mut codes = Vec::new();
        for _ in 0..6 {
            codes.push(
                stack
                    .login_from([127, 0, 0, 22], account, "a wrong guess!")
                    .await
                    .0,
            );
        }
        sequences.push(codes);
    }
    assert_eq!(sequences[0], vec![401, 401, 401, 401, 401, 429]);
    assert_eq!(sequences[0], sequences[1]);
}

#[tokio::test]
async fn one_source_spraying_many_accounts_is_stopped_and_others_are_not() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let sprayer = [127, 0, 0, 23];
    let mut codes = Vec::new();
    for i in 0..24 {
        let account = format!("{}@trust.test", unique(&format!("sprayed{i}")));
        codes.push(stack.login_from(sprayer, &account, "Winter2026!!").await.0);
    }
    assert_eq!(codes[..20], [401; 20]);
    assert_eq!(codes[20..], [429; 4]);
    let account = user(&stack, "bystander", "the right password", "operator").await;
    assert_eq!(
        stack
            .login_from(sprayer, &account, "the right password")
            .await
            .0,
        429
    );
    let (code, body) = stack
        .login_from([127, 0, 0, 24], &account, "the right password")
        .await;
    assert_eq!(code, 200, "another source logs in: {body}");
}

#[tokio::test]
async fn malformed_logins_are_400_and_do_not_count() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let account = user(&stack, "careful", "the right password", "operator").await;
    let long_account = "a".repeat(1000);
    let long_password = "p".repeat(10_000);
    for (who, password) in [
        (long_account.as_str(), "whatever password"),
        ("two words", "whatever password"),
        ("", "whatever password"),
        (account.as_str(), long_password.as_str()),
        (account.as_str(), ""),
    ] {
        let (code, body) = stack.login_from([127, 0, 0, 25], who, password).await;
        assert_eq!(code, 400, "{who:.20}: {body}");
        assert_eq!(body["error"]["code"], "BAD_REQUEST");
    }
    for _ in 0..3 {
        assert_eq!(
            stack
                .login_from([127, 0, 0, 25], &account, "malformed?")
                .await
                .0,
            401
        );
    }
    assert_eq!(
        stack
            .login_from([127, 0, 0, 25], &account, "the right password")
            .await
            .0,
        200,
        "five malformed and three wrong attempts did not lock the account"
    );
}

/// Polls a route with `token` until it answers 401 (the session ended), for at most 20 s.
async fn until_refused(stack: &Stack, token: &str) -> u16 {
    let mut code = 0;
    for _ in 0..40 {
        code = stack.get("/component/status", token).await.0;
        if code == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    code
}

#[tokio::test]
async fn a_role_change_a_disable_and_a_password_change_end_existing_sessions() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let admin = stack.token(Role::Admin);
    let account = user(&stack, "session", "the first password", "operator").await;
    let login = |password: &'static str| {
        let (stack, account) = (&stack, account.clone());
        async move { stack.login_from([127, 0, 0, 26], &account, password).await }
    };
    let (code, body) = login("the first password").await;
    assert_eq!(code, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(stack.get("/component/status", &token).await.0, 200);

    // Refusals first: nothing changes.
    let change = json!({"account": account, "role": "developer"});
    assert_eq!(stack.post("/user/role", &token, &change).await.0, 403);
    let stranger = stack.token_for(Role::Admin, "another-tenant", None);
    assert_eq!(stack.post("/user/role", &stranger, &change).await.0, 404);
    for bad in [
        json!({"account": account, "role": "root"}),
        json!({"account": account}),
        json!({"account": 5}),
    ] {
        assert_eq!(stack.post("/user/role", &admin, &bad).await.0, 400, "{bad}");
    }
    assert_eq!(
        stack
            .post("/user/disable", &admin, &json!({"account": "no such user"}))
            .await
            .0,
        400
    );
    assert_eq!(
        stack
            .post("/user/disable", &admin, &json!({"account": "nosuchuser@x"}))
            .await
            .0,
        404
    );
    assert_eq!(
        stack.get("/component/status", &token).await.0,
        200,
        "the session survived refusals"
    );

    // A role change ends it; the next login carries the new role.
    let (code, out) = stack.post("/user/role", &admin, &change).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(until_refused(&stack, &token).await, 401);
    let (code, body) = login("the first password").await;
    assert_eq!(
        (code, body["role"].as_str()),
        (200, Some("developer")),
        "{body}"
    );
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(stack.get("/component/status", &token).await.0, 200);

    // Disabled: the session ends and logins are refused like a wrong password; enabled: back in.
    assert_eq!(
        stack
            .post("/user/disable", &admin, &json!({"account": account}))
            .await
            .0,
        200
    );
    assert_eq!(until_refused(&stack, &token).await, 401);
    let (code, body) = login("the first password").await;
    assert_eq!(code, 401, "{body}");
    assert_eq!(body["error"]["message"], "account or password is wrong");
    assert_eq!(
        stack
            .post("/user/enable", &admin, &json!({"account": account}))
            .await
            .0,
        200
    );
    let (code, body) = login("the first password").await;
    assert_eq!(code, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();

    // The user's own password change ends the other sessions too.
    let (code, out) = stack
        .post(
            "/user/password",
            &token,
            &json!({"currentPassword": "the first password", "newPassword": "the second password"}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(until_refused(&stack, &token).await, 401);
    assert_eq!(login("the second password").await.0, 200);
}

#[tokio::test]
async fn a_push_whose_handler_died_after_the_exchange_is_completed_by_wechats_retry() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    // The handler exchanges the code, then waits on WeChat for the account's details; it crashes there.
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "api_get_authorizer_info", "latencyMs": 3000, "times": 1}),
        )
        .await;
    let exchanges = stack.counter("api_query_auth").await;
    let sandbox = stack.sandbox_url().to_owned();
    let client = stack.http.clone();
    let authorize = tokio::spawn(async move {
        client
            .post(format!("{sandbox}/control/authorize"))
            .json(&json!({"nickName": "Crash Cafe"}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let crashed: Value = stack
        .http
        .post(format!(
            "{}/_local/crash/wechat-auth-event",
            stack.api_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(crashed["killed"].as_i64().unwrap() >= 1, "{crashed}");
    let out = authorize.await.unwrap();
    let attempts = out["delivery"]["attempts"].as_array().unwrap();
    assert_eq!(out["delivery"]["delivered"], true, "{out}");
    assert!(attempts.len() >= 2, "{out}");
    assert_ne!(attempts[0]["reply"], "success");
    // The retry finished the dead handler's work from the exchange it kept: the code was exchanged once.
    assert_eq!(stack.counter("api_query_auth").await, exchanges + 1);
    let appid = out["authorizerAppid"].as_str().unwrap();
    let (code, info) = stack
        .get(
            &format!("/authorizer/info?authorizerAppid={appid}"),
            &stack.token(Role::Admin),
        )
        .await;
    assert_eq!(code, 200, "{info}");
    assert_eq!(info["authorizer"]["status"], "authorized", "{info}");
    assert_eq!(
        stack
            .events_of(appid, "MiniProgramAuthorized", 1)
            .await
            .len(),
        1
    );
}

/// A plain text message addressed to `to_user`, as WeChat forwards it to the message URL.
fn text_message(to_user: &str, msg_id: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><FromUserName><![CDATA[o_customer]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content>\
         <MsgId>{msg_id}</MsgId></xml>",
        wxtpl::clock::now_secs()
    )
}

#[tokio::test]
async fn a_stale_push_is_refused_and_recorded_while_wechats_retries_pass() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let gh = stack.user_name(&appid).await;
    let path = format!("/wechat/{}/{appid}/callback", stack.component_appid());
    let now = wxtpl::clock::now_secs();
    let msg_id = now * 10;
    let (query, body) = stack.seal_at(&text_message(&gh, msg_id), now - 400);
    let (code, reply) = stack.push_raw(&path, &query, body).await;
    assert_eq!(code, 403, "{reply}");
    let (_, records) = stack
        .get(
            &format!("/callback/records?appid={appid}"),
            &stack.token(Role::Admin),
        )
        .await;
    let stale: Vec<&Value> = records["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "refused_stale")
        .collect();
    assert_eq!(stale.len(), 1, "{records}");
    // Sent a minute ago (a retry of WeChat's, which keeps its first timestamp): accepted.
    let (query, body) = stack.seal_at(&text_message(&gh, msg_id + 1), now - 60);
    let (code, reply) = stack.push_raw(&path, &query, body).await;
    assert_eq!((code, reply.as_str()), (200, "success"));
}

#[tokio::test]
async fn a_message_push_must_be_addressed_to_the_mini_program_its_url_names() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (a, b) = (stack.authorize_new().await, stack.authorize_new().await);
    let gh_b = stack.user_name(&b).await;
    let comp = stack.component_appid();
    let msg_id = wxtpl::clock::now_millis();
    for path in [
        format!("/wechat/{comp}/{a}/callback"),
        format!("/wechat/{comp}/wxunknown00000000/callback"),
    ] {
        let (query, body) = stack.seal(&text_message(&gh_b, msg_id));
        let (code, reply) = stack.push_raw(&path, &query, body).await;
        assert_eq!(code, 403, "{path}: {reply}");
    }
    let (query, body) = stack.seal(&text_message(&gh_b, msg_id));
    let (code, reply) = stack
        .push_raw(&format!("/wechat/{comp}/{b}/callback"), &query, body)
        .await;
    assert_eq!((code, reply.as_str()), (200, "success"));
}

#[tokio::test]
async fn a_rotated_component_secret_reaches_warm_functions() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let original = stack.component.clone();
    let admin = stack.token(Role::Admin);
    // Warm: the instances have the current keys cached.
    assert_eq!(
        stack.sandbox("/control/ticket/push", json!({})).await["delivered"],
        true
    );
    let rotate = |token: String, aes: String| {
        let body = json!({"appid": original["appid"], "appsecret": original["appsecret"],
                          "token": token, "encodingAesKey": aes});
        let keys = json!({"token": body["token"], "encodingAesKey": body["encodingAesKey"]});
        (body, keys)
    };
    let new_aes: String = (0..43)
        .map(|i| char::from(b'a' + ((wxtpl::clock::now_millis() as u64 + i) % 26) as u8))
        .collect();
    for (token, aes) in [
        ("rotatedtoken".to_owned(), new_aes),
        (
            original["token"].as_str().unwrap().to_owned(),
            original["encodingAesKey"].as_str().unwrap().to_owned(),
        ),
    ] {
        // Past the re-read brake of the instances that just read the keys.
        tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
        let (register, keys) = rotate(token, aes);
        let (code, out) = stack.post("/component/register", &admin, &register).await;
        assert!(code == 200 || code == 201, "{out}");
        stack.sandbox("/control/component/keys", keys).await;
        let delivery = stack.sandbox("/control/ticket/push", json!({})).await;
        let attempts = delivery["attempts"].as_array().unwrap();
        assert_eq!(delivery["delivered"], true, "{delivery}");
        assert_eq!(
            attempts.len(),
            1,
            "accepted at once by a warm instance: {delivery}"
        );
    }
}

async fn counted(stack: &Stack, pk: &str, sk: &str) -> i64 {
    let item = stack.item(pk, sk).await.unwrap_or_default();
    item.get("count")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn one_merchant_cannot_use_up_the_wechat_quotas_all_merchants_share() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = unique("hungry");
    let (token, appid) = stack.decorated(&merchant).await;
    let pk = format!("COMP#{}", stack.component_appid());
    let day = wxtpl::services::quotas::day_of(wxtpl::clock::now_secs());
    let used = |kind: &str| format!("QUOTA#{merchant}#{kind}#{day}");
    let limited = |(code, body): (u16, Value)| {
        assert_eq!(code, 429, "{body}");
        assert_eq!(body["error"]["code"], "MERCHANT_DAILY_LIMIT", "{body}");
    };

    // Authorization links: today's 20 are used; another merchant still gets one.
    stack.set_number(&pk, &used("authlink"), "count", 20).await;
    let preauth = stack.counter("api_create_preauthcode").await;
    limited(stack.get("/auth/link?kind=pc", &token).await);
    assert_eq!(
        stack.counter("api_create_preauthcode").await,
        preauth,
        "WeChat was not asked"
    );
    let other = stack.token_for_user(Role::Merchant, &unique("modest"));
    assert_eq!(stack.get("/auth/link?kind=pc", &other).await.0, 200);

    // Audit submissions: at the limit nothing is committed; a release that fails gives its unit back.
    stack.set_number(&pk, &used("audit"), "count", 10).await;
    let commits = stack.counter("commit").await;
    let body = json!({"maAppId": appid});
    limited(stack.post("/code/release", &token, &body).await);
    assert_eq!(stack.counter("commit").await, commits);
    assert_eq!(stack.release_state(&token, &appid).await, "saved");
    stack.set_number(&pk, &used("audit"), "count", 9).await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "commit", "errcode": 85013, "appid": appid}),
        )
        .await;
    assert_eq!(stack.post("/code/release", &token, &body).await.0, 502);
    assert_eq!(counted(&stack, &pk, &used("audit")).await, 9, "given back");
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(counted(&stack, &pk, &used("audit")).await, 10);

    // Undo and speed-up of the open audit.
    stack.set_number(&pk, &used("speedup"), "count", 2).await;
    limited(stack.post("/code/audit/speedup", &token, &body).await);
    stack.set_number(&pk, &used("undo"), "count", 10).await;
    let undos = stack.counter("undocodeaudit").await;
    limited(stack.post("/code/audit/undo", &token, &body).await);
    assert_eq!(stack.counter("undocodeaudit").await, undos);
    assert_eq!(stack.release_state(&token, &appid).await, "auditing");
    stack.set_number(&pk, &used("undo"), "count", 9).await;
    assert_eq!(stack.post("/code/audit/undo", &token, &body).await.0, 200);
}

#[tokio::test]
async fn malformed_ids_are_400_invalid_id_never_500() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("typo"));
    let admin = stack.token(Role::Admin);
    let long = "w".repeat(3000);
    let invalid = |(code, body): (u16, Value)| {
        assert_eq!(code, 400, "{body}");
        assert_eq!(body["error"]["code"], "INVALID_ID", "{body}");
    };
    invalid(
        stack
            .get(&format!("/config/query?maAppId={long}"), &merchant)
            .await,
    );
    invalid(stack.get("/config/query?maAppId=wx1%23SK", &merchant).await);
    invalid(
        stack
            .get(
                &format!("/page/query?maAppId=wx1&pageKey={long}"),
                &merchant,
            )
            .await,
    );
    invalid(
        stack
            .get(&format!("/code/versions?maAppId={long}"), &merchant)
            .await,
    );
    invalid(
        stack
            .post("/code/release", &merchant, &json!({"maAppId": long}))
            .await,
    );
    invalid(
        stack
            .post("/miniprogram/unlink", &admin, &json!({"maAppId": "a b"}))
            .await,
    );
    invalid(
        stack
            .get(&format!("/authorizer/info?authorizerAppid={long}"), &admin)
            .await,
    );
    invalid(
        stack
            .get("/authorizer/list?cursor=not%20a%20cursor", &admin)
            .await,
    );
    invalid(
        stack
            .get(
                &format!("/authorizer/list?cursor={}", "A".repeat(2000)),
                &admin,
            )
            .await,
    );
    invalid(
        stack
            .get(&format!("/template/detail?id={long}"), &admin)
            .await,
    );
    invalid(
        stack
            .get(&format!("/callback/records?type={long}"), &admin)
            .await,
    );
    invalid(
        stack
            .get("/component/status?componentAppid=a%2Fb", &admin)
            .await,
    );
    let save = json!({"maAppId": "wx1", "templateId": long, "config": {}, "pages": []});
    let (code, body) = stack.post("/config/save", &merchant, &save).await;
    assert!(code == 400 || code == 404, "{body}");
    let (code, reply) = stack
        .push_raw(
            &format!("/wechat/{long}/auth-event"),
            "timestamp=1&nonce=1&msg_signature=x",
            "<xml/>".into(),
        )
        .await;
    assert_eq!(code, 400, "{reply}");
}

#[tokio::test]
async fn a_login_flood_is_throttled_at_the_edge_before_any_function_runs() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let malformed = json!({"account": "x"});
    let flood =
        futures::future::join_all((0..120).map(|_| stack.post("/auth/login", "", &malformed)))
            .await;
    let throttled = flood
        .iter()
        .filter(|(c, b)| *c == 429 && b["message"] == "Too Many Requests")
        .count();
    assert!(throttled > 0, "the route's burst limit held nothing back");
    assert!(
        flood.iter().all(|(c, _)| *c == 400 || *c == 429),
        "{flood:?}"
    );
    // Other routes have their own limits.
    assert_eq!(
        stack
            .get("/component/status", &stack.token(Role::Admin))
            .await
            .0,
        200
    );
    // The bucket refills (20 a second) before the next test logs in.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
}

/// The sandbox's view of one mini-program: (audit status, online version).
async fn at_wechat(stack: &Stack, appid: &str) -> (Value, Value) {
    let state = stack.sandbox_get("/control/state").await;
    let a = state["authorizers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appid"] == appid)
        .cloned()
        .unwrap();
    (a["auditStatus"].clone(), a["releaseVersion"].clone())
}

/// Makes the intent the record holds look a minute old, as when its holder died.
async fn age_intent(stack: &Stack, appid: &str) {
    let (pk, sk) = (
        format!("COMP#{}", stack.component_appid()),
        format!("UT#{appid}"),
    );
    stack
        .set_number(
            &pk,
            &sk,
            "intent_started_ms",
            wxtpl::clock::now_millis() - 120_000,
        )
        .await;
}

/// Releases `version`; the sandbox's reviewers then decide its audit, if `decision` says how.
async fn released(stack: &Stack, token: &str, appid: &str, version: &str, decision: Option<&str>) {
    let body = json!({"maAppId": appid, "userVersion": version});
    let (code, out) = stack.post("/code/release", token, &body).await;
    assert_eq!(code, 200, "{out}");
    if let Some(result) = decision {
        let decided = stack
            .sandbox(
                "/control/audit/decide",
                json!({"appid": appid, "result": result}),
            )
            .await;
        assert_eq!(decided["delivered"], true, "{decided}");
    }
}

#[tokio::test]
async fn publish_undo_and_rollback_whose_answers_were_lost_are_reconciled_by_the_sweep() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("lost-steps")).await;
    let body = json!({"maAppId": appid});
    let lose = |endpoint: &str| json!({"endpoint": endpoint, "appid": appid, "applied": true, "times": -1});
    let sweep_reconciles = |n: i64| {
        let stack = &stack;
        async move {
            let summary = stack.invoke("release-sweep").await;
            assert_eq!(summary["intentsReconciled"], n, "{summary}");
        }
    };

    // Release 1.0.0 and pass it; the publish is done at WeChat but its answer is lost.
    released(&stack, &token, &appid, "1.0.0", Some("pass")).await;
    stack.sandbox("/control/faults", lose("release")).await;
    assert_eq!(stack.post("/code/publish", &token, &body).await.0, 502);
    stack.clear_faults().await;
    assert_eq!(stack.release_state(&token, &appid).await, "releasing");
    assert_eq!(at_wechat(&stack, &appid).await.1, "1.0.0");
    assert_eq!(
        stack.post("/code/publish", &token, &body).await.0,
        409,
        "one step at a time"
    );
    age_intent(&stack, &appid).await;
    sweep_reconciles(1).await;
    assert_eq!(stack.release_state(&token, &appid).await, "released");
    assert_eq!(stack.events_of(&appid, "CodeReleased", 1).await.len(), 1);

    // Version 2.0.0: its audit is withdrawn at WeChat, the answer lost.
    released(&stack, &token, &appid, "2.0.0", None).await;
    stack
        .sandbox("/control/faults", lose("undocodeaudit"))
        .await;
    assert_eq!(stack.post("/code/audit/undo", &token, &body).await.0, 502);
    stack.clear_faults().await;
    assert_eq!(stack.release_state(&token, &appid).await, "withdrawing");
    age_intent(&stack, &appid).await;
    sweep_reconciles(1).await;
    assert_eq!(stack.release_state(&token, &appid).await, "withdrawn");
    assert_eq!(stack.events_of(&appid, "AuditWithdrawn", 1).await.len(), 1);

    // Version 3.0.0 goes online; rolled back at WeChat (to 1.0.0), the answer lost.
    released(&stack, &token, &appid, "3.0.0", Some("pass")).await;
    assert_eq!(stack.post("/code/publish", &token, &body).await.0, 200);
    stack
        .sandbox("/control/faults", lose("revertcoderelease"))
        .await;
    assert_eq!(stack.post("/code/rollback", &token, &body).await.0, 502);
    stack.clear_faults().await;
    assert_eq!(stack.release_state(&token, &appid).await, "rolling_back");
    assert_eq!(at_wechat(&stack, &appid).await.1, "1.0.0");
    age_intent(&stack, &appid).await;
    sweep_reconciles(1).await;
    assert_eq!(stack.release_state(&token, &appid).await, "released");
    let (_, versions) = stack
        .get(&format!("/code/versions?maAppId={appid}"), &token)
        .await;
    assert_eq!(versions["online"]["release_version"], "1.0.0", "{versions}");
    let rolled = stack.events_of(&appid, "CodeRolledBack", 1).await;
    assert_eq!(
        rolled[0]["detail"]["data"]["to"]["release_version"],
        "1.0.0"
    );
}

#[tokio::test]
async fn an_undo_racing_the_sweeps_submit_ends_in_one_state_wechat_agrees_with() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    for round in 0..3 {
        let (token, appid) = stack
            .decorated(&unique(&format!("racing-undo-{round}")))
            .await;
        // WeChat's privacy scan runs: the release waits as submit_pending for the sweep.
        stack
            .sandbox(
                "/control/faults",
                json!({"endpoint": "submit_audit", "errcode": 61039, "appid": appid}),
            )
            .await;
        let (code, out) = stack
            .post("/code/release", &token, &json!({"maAppId": appid}))
            .await;
        assert_eq!(
            (code, out["state"].as_str()),
            (200, Some("submit_pending")),
            "{out}"
        );
        let body = json!({"maAppId": appid});
        let (undo, _) = futures::join!(
            stack.post("/code/audit/undo", &token, &body),
            stack.invoke("release-sweep")
        );
        let state = stack.release_state(&token, &appid).await;
        let (audit, _) = at_wechat(&stack, &appid).await;
        match (undo.0, state.as_str()) {
            // Undone first (the sweep then found nothing to submit), or undone at WeChat after the submit.
            (200, "withdrawn") => assert!(audit.is_null() || audit == 3, "{audit}"),
            // The sweep's submission was under way: the undo was refused and the audit runs.
            (409, "auditing") => assert_eq!(audit, 2),
            other => panic!(
                "inconsistent: {other:?} with WeChat's audit {audit}: {}",
                undo.1
            ),
        }
    }
}

#[tokio::test]
async fn transient_wechat_failures_are_retried_within_the_request_and_commit_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("flaky")).await;
    // Every step of the release meets WeChat busy (-1) or a 5xx once.
    for (endpoint, fault) in [
        ("commit", json!({"errcode": -1})),
        ("get_qrcode", json!({"httpStatus": 503})),
        ("get_page", json!({"errcode": -1})),
        ("get_category", json!({"httpStatus": 500})),
        ("submit_audit", json!({"errcode": -1})),
    ] {
        let mut f = fault;
        f["endpoint"] = json!(endpoint);
        f["appid"] = json!(appid);
        stack.sandbox("/control/faults", f).await;
    }
    let (code, out) = stack
        .post("/code/release", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "auditing");
    assert_eq!(stack.events_of(&appid, "CodeCommitted", 1).await.len(), 1);
    assert_eq!(
        at_wechat(&stack, &appid).await.0,
        2,
        "the audit runs at WeChat"
    );
}

#[tokio::test]
async fn a_rotated_appsecret_is_re_read_when_wechat_refuses_the_cached_one_with_40125() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let original = stack.component.clone();
    let (admin, dev) = (stack.token(Role::Admin), stack.token(Role::Developer));
    let revoke = || stack.sandbox("/control/tokens/revoke", json!({"kind": "component"}));
    // A warm instance fetches a component token with the appsecret it caches.
    revoke().await;
    assert_eq!(stack.get("/draft/list", &dev).await.0, 200);
    for secret in [
        "arotatedappsecret0123456789".to_owned(),
        original["appsecret"].as_str().unwrap().to_owned(),
    ] {
        // Past the re-read brake, the secret changes at WeChat and here; the token must be fetched again.
        tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
        let register = json!({"appid": original["appid"], "appsecret": secret,
                              "token": original["token"], "encodingAesKey": original["encodingAesKey"]});
        let (code, out) = stack.post("/component/register", &admin, &register).await;
        assert!(code == 200 || code == 201, "{out}");
        stack
            .sandbox("/control/component/keys", json!({"appsecret": secret}))
            .await;
        revoke().await;
        let (code, out) = stack.get("/draft/list", &dev).await;
        assert_eq!(
            code, 200,
            "the warm instance re-read the secret after 40125: {out}"
        );
    }
}
