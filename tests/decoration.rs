//! Merchant decoration, black-box: defaults from a published template → save → query → page, versions, usage
//! counts, and another merchant's mini-program.
use serde_json::json;
use stack_tests::{assert_refused, serial, Stack};
use wxtpl::http::auth::Role;

fn usage(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> i64 {
    item.get("mini_programs")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_merchant_starts_from_defaults_saves_and_reads_back() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let grace = stack.token_for_user(Role::Merchant, "grace");
    let template = stack.published_template().await;
    let appid = stack.own_mini_program(&grace).await;

    let (code, defaults) = stack
        .get(
            &format!("/config/query?maAppId={appid}&templateId={template}"),
            &grace,
        )
        .await;
    assert_eq!(code, 200, "{defaults}");
    assert_eq!(
        (
            defaults["saved"].as_bool(),
            defaults["config"]["theme"].as_str()
        ),
        (Some(false), Some("blue"))
    );
    assert_eq!(defaults["pages"].as_array().unwrap().len(), 2);

    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "gold", "shopName": "Grace's"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": false}}]});
    let (code, saved) = stack.post("/config/save", &grace, &save).await;
    assert_eq!(code, 200, "{saved}");
    assert_eq!(
        (saved["saved"].as_bool(), saved["version"].as_i64()),
        (Some(true), Some(1))
    );
    assert_eq!(saved["userTemplate"]["sellerId"], "grace");
    let value = saved["pages"][0]["pageValue"].as_str().unwrap().to_owned();
    let tpl = stack
        .item(
            &format!("COMP#{}", stack.component_appid()),
            &format!("TPL#{template}"),
        )
        .await
        .unwrap();
    assert_eq!(usage(&tpl), 1, "the template now has a mini-program on it");

    let (code, again) = stack
        .get(&format!("/config/query?maAppId={appid}"), &grace)
        .await;
    assert_eq!(code, 200);
    assert_eq!(again["config"]["shopName"], "Grace's");
    let (code, page) = stack
        .get(&format!("/page/query?maAppId={appid}&pageKey=home"), &grace)
        .await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(
        (
            page["config"]["banner"].as_bool(),
            page["pageValue"].as_str()
        ),
        (Some(false), Some(value.as_str()))
    );
    assert_eq!(
        stack
            .get(&format!("/page/query?maAppId={appid}&pageKey=menu"), &grace)
            .await
            .0,
        404
    );

    // A second save needs the current version; a stale one is refused and changes nothing.
    let mut second = save.clone();
    second["version"] = json!(1);
    second["config"]["theme"] = json!("black");
    second["pages"] = json!([{"pageKey": "home", "name": "Home", "config": {}}, {"pageKey": "menu", "name": "Menu", "config": {"x": 1}}]);
    let (code, body) = stack.post("/config/save", &grace, &second).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pageKey"] == "home")
            .unwrap()["pageValue"],
        value.as_str(),
        "page values are stable"
    );
    let (code, _) = stack.post("/config/save", &grace, &second).await;
    assert_eq!(code, 409, "version 1 is stale now");
    let mut first_again = save.clone();
    first_again["config"]["theme"] = json!("pink");
    assert_eq!(
        stack.post("/config/save", &grace, &first_again).await.0,
        409,
        "no version once saved"
    );
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &grace)
        .await;
    assert_eq!(
        (now["config"]["theme"].as_str(), now["version"].as_i64()),
        (Some("black"), Some(2))
    );
    // The template cannot be deleted while Grace's mini-program is on it.
    let (_, detail) = stack
        .get(
            &format!("/template/detail?id={template}"),
            &stack.token(Role::Developer),
        )
        .await;
    let version = detail["template"]["version"].as_i64().unwrap();
    assert_eq!(
        stack
            .post(
                "/template/delete",
                &stack.token(Role::Developer),
                &json!({"id": template, "version": version})
            )
            .await
            .0,
        409
    );
}

#[tokio::test]
async fn seed_000_fields_are_shown_beside_todays_and_ext_and_page_status_are_saved() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let ada = stack.token_for_user(Role::Merchant, &stack_tests::unique("ada"));
    let template = stack.published_template().await;
    let appid = stack.own_mini_program(&ada).await;
    let query = format!("/config/query?maAppId={appid}&templateId={template}");

    // Before the first save: the template's defaults, shown pages, visitable, no audit yet.
    let (code, defaults) = stack.get(&query, &ada).await;
    assert_eq!(code, 200, "{defaults}");
    assert_eq!(
        (
            &defaults["appId"],
            &defaults["accessStatus"],
            &defaults["auditStatus"],
            &defaults["ext"]
        ),
        (&json!(appid), &json!(1), &json!(null), &json!({}))
    );
    for page in defaults["pages"].as_array().unwrap() {
        assert!(!page["id"].as_str().unwrap().is_empty(), "{page}");
        assert_eq!((&page["status"], &page["ext"]), (&json!(1), &json!({})));
    }

    // The merchant saves the template's ext and hides a page with its own ext.
    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "teal"}, "ext": {"slogan": "tea"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {}, "status": 0, "ext": {"icon": "leaf"}},
                  {"pageKey": "menu", "name": "Menu", "config": {}}]});
    let (code, saved) = stack.post("/config/save", &ada, &save).await;
    assert_eq!(code, 200, "{saved}");
    assert_eq!(saved["ext"], json!({"slogan": "tea"}));
    assert_eq!(saved["userTemplate"]["ext"], json!({"slogan": "tea"}));
    let page = |view: &serde_json::Value, key: &str| {
        view["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pageKey"] == key)
            .cloned()
            .unwrap()
    };
    let home = page(&saved, "home");
    assert_eq!(
        (&home["status"], &home["ext"]),
        (&json!(0), &json!({"icon": "leaf"}))
    );
    assert_eq!(page(&saved, "menu")["status"], 1);
    let home_id = home["id"].as_str().unwrap().to_owned();
    assert_ne!(home_id, page(&saved, "menu")["id"].as_str().unwrap());

    // Saved again without them: ext, the page's status and ext, and its id stay.
    let again = json!({"maAppId": appid, "templateId": template, "config": {"theme": "teal"}, "version": 1,
        "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": true}}]});
    let (code, saved) = stack.post("/config/save", &ada, &again).await;
    assert_eq!(code, 200, "{saved}");
    let home = page(&saved, "home");
    assert_eq!(
        (&saved["ext"], &home["status"], &home["ext"], &home["id"]),
        (
            &json!({"slogan": "tea"}),
            &json!(0),
            &json!({"icon": "leaf"}),
            &json!(home_id)
        )
    );
    let (code, one) = stack
        .get(&format!("/page/query?maAppId={appid}&pageKey=home"), &ada)
        .await;
    assert_eq!(
        (code, &one["id"], &one["status"]),
        (200, &json!(home_id), &json!(0))
    );

    // Once online and closed, the mini-program is accessStatus 0 in seed 000's words, `close` in today's.
    stack.privacy_contact(&ada, &appid).await;
    stack.published_release(&ada, &appid).await;
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &ada)
        .await;
    assert_eq!(
        (&now["auditStatus"], &now["accessStatus"]),
        (&json!(0), &json!(1)),
        "{now}"
    );
    let (code, out) = stack
        .post(
            "/code/visit-status",
            &ada,
            &json!({"maAppId": appid, "action": "close"}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &ada)
        .await;
    assert_eq!(
        (&now["accessStatus"], &now["userTemplate"]["accessStatus"]),
        (&json!(0), &json!("close"))
    );

    // Refused, and nothing written: a page status other than 0 or 1, an ext that is not an object or too large.
    let big = "x".repeat(40 * 1024);
    for (bad, says) in [
        (
            json!({"pages": [{"pageKey": "home", "name": "Home", "config": {}, "status": 2}]}),
            "status of page home",
        ),
        (json!({"ext": "tea"}), "ext must be a JSON object"),
        (json!({"ext": {"big": big}}), "ext must be a JSON object"),
        (
            json!({"pages": [{"pageKey": "home", "name": "Home", "config": {}, "ext": [1]}]}),
            "ext of page home",
        ),
    ] {
        let mut body = json!({"maAppId": appid, "templateId": template, "config": {}, "version": 2,
            "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
        for (k, v) in bad.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (code, out) = stack.post("/config/save", &ada, &body).await;
        assert_refused(code, &out, 400, "BAD_REQUEST", says);
    }
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &ada)
        .await;
    assert_eq!(
        (&now["version"], &now["config"]["theme"]),
        (&json!(2), &json!("teal"))
    );
    assert_eq!(now["ext"], json!({"slogan": "tea"}));
}

#[tokio::test]
async fn another_merchants_mini_program_is_404_everywhere_and_bad_input_is_refused() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (heidi, ivan) = (
        stack.token_for_user(Role::Merchant, "heidi"),
        stack.token_for_user(Role::Merchant, "ivan"),
    );
    let template = stack.published_template().await;
    let appid = stack.own_mini_program(&heidi).await;
    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "x"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
    assert_eq!(stack.post("/config/save", &heidi, &save).await.0, 200);

    assert_eq!(
        stack
            .get(&format!("/config/query?maAppId={appid}"), &ivan)
            .await
            .0,
        404
    );
    assert_eq!(
        stack
            .get(&format!("/page/query?maAppId={appid}&pageKey=home"), &ivan)
            .await
            .0,
        404
    );
    let mut hijack = save.clone();
    hijack["version"] = json!(1);
    assert_eq!(stack.post("/config/save", &ivan, &hijack).await.0, 404);
    let (_, still) = stack
        .get(&format!("/config/query?maAppId={appid}"), &heidi)
        .await;
    assert_eq!(still["version"], 1, "nothing changed");

    assert_eq!(
        stack
            .get(
                &format!("/config/query?maAppId={appid}"),
                &stack.token(Role::Developer)
            )
            .await
            .0,
        403
    );
    let page = format!("/page/query?maAppId={appid}&pageKey=home");
    assert_eq!(stack.get(&page, &stack.token(Role::Operator)).await.0, 403);
    assert_eq!(
        stack
            .get(&format!("/page/query?maAppId={appid}"), &heidi)
            .await
            .0,
        400
    );
    let mut unknown_page = hijack.clone();
    unknown_page["pages"] = json!([{"pageKey": "checkout", "name": "Checkout", "config": {}}]);
    let (code, body) = stack.post("/config/save", &heidi, &unknown_page).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("checkout"));
    let mut unpublished = hijack.clone();
    unpublished["templateId"] = json!("it_0000000000000000");
    assert_eq!(
        stack.post("/config/save", &heidi, &unpublished).await.0,
        404
    );
    let resp = stack
        .http
        .post(format!("{}/config/save", stack.api_url()))
        .bearer_auth(&heidi)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let mut huge = hijack.clone();
    huge["config"] = json!({"x": "y".repeat(40 * 1024)});
    assert_eq!(stack.post("/config/save", &heidi, &huge).await.0, 400);
    assert_eq!(stack.get("/config/query", &heidi).await.0, 400);
}

#[tokio::test]
async fn a_merchant_releases_the_saved_config_for_audit() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let judy = stack.token_for_user(Role::Merchant, "judy");
    let template = stack.published_template().await;
    let appid = stack.own_mini_program(&judy).await;

    // Nothing saved yet: refused, nothing committed.
    let commits = stack.counter("commit").await;
    let (code, body) = stack
        .post("/code/release", &judy, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(stack.counter("commit").await, commits);

    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "jade"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {"hero": "tea"}}]});
    assert_eq!(stack.post("/config/save", &judy, &save).await.0, 200);
    // A real account needs a privacy guide, and the guide an owner contact: refused before anything is committed.
    let (code, out) = stack
        .post("/code/release", &judy, &json!({"maAppId": appid}))
        .await;
    assert_refused(code, &out, 409, "PRIVACY_REQUIRED", "/miniprogram/privacy");
    assert_eq!(stack.counter("commit").await, commits);
    stack.privacy_contact(&judy, &appid).await;
    let (code, out) = stack
        .post(
            "/code/release",
            &judy,
            &json!({"maAppId": appid, "userVersion": "1.0.0", "userDesc": "first"}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "auditing");
    assert!(out["auditId"].as_i64().unwrap() > 0);
    assert_eq!(out["codeCommitInfo"]["userVersion"], "1.0.0");
    let qr = stack
        .http
        .get(out["qrCodeUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        qr.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the stored QR code is the PNG WeChat returned"
    );
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &judy)
        .await;
    assert_eq!(now["userTemplate"]["releaseState"], "auditing");
    assert_eq!(now["userTemplate"]["auditId"], out["auditId"]);

    // While the audit is open a second release is refused before anything reaches WeChat.
    let commits = stack.counter("commit").await;
    let (code, body) = stack
        .post("/code/release", &judy, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(stack.counter("commit").await, commits);
    // Wrong role and malformed input are refused before anything reaches WeChat.
    assert_eq!(
        stack
            .post(
                "/code/release",
                &stack.token(Role::Developer),
                &json!({"maAppId": appid})
            )
            .await
            .0,
        403
    );
    let resp = stack
        .http
        .post(format!("{}/code/release", stack.api_url()))
        .bearer_auth(&judy)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        stack
            .post(
                "/code/release",
                &judy,
                &json!({"maAppId": appid, "userVersion": "v".repeat(65)})
            )
            .await
            .0,
        400
    );
    assert_eq!(stack.counter("commit").await, commits);
    // Another merchant cannot release it.
    let (code, _) = stack
        .post(
            "/code/release",
            &stack.token_for_user(Role::Merchant, "mallory"),
            &json!({"maAppId": appid}),
        )
        .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn a_privacy_scan_in_progress_61039_leaves_the_release_pending_not_failed() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let kim = stack.token_for_user(Role::Merchant, "kim");
    let template = stack.published_template().await;
    let appid = stack.own_mini_program(&kim).await;
    let save = json!({"maAppId": appid, "templateId": template, "config": {}, "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
    assert_eq!(stack.post("/config/save", &kim, &save).await.0, 200);
    stack.privacy_contact(&kim, &appid).await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "submit_audit", "errcode": 61039, "times": 1}),
        )
        .await;
    let (code, out) = stack
        .post("/code/release", &kim, &json!({"maAppId": appid}))
        .await;
    stack.clear_faults().await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "submit_pending");
    assert!(out["auditId"].is_null());
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={appid}"), &kim)
        .await;
    assert_eq!(now["userTemplate"]["releaseState"], "submit_pending");
    assert!(
        now["userTemplate"]["codeCommitInfo"]["commitTime"]
            .as_i64()
            .is_some(),
        "the commit is recorded"
    );
}

#[tokio::test]
async fn audit_decisions_pushed_by_wechat_settle_the_open_audit() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let lee = stack.token_for_user(Role::Merchant, "lee");
    let template = stack.published_template().await;
    let appid = stack.own_mini_program(&lee).await;
    let save = json!({"maAppId": appid, "templateId": template, "config": {}, "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
    assert_eq!(stack.post("/config/save", &lee, &save).await.0, 200);
    stack.privacy_contact(&lee, &appid).await;
    let state = || async {
        let (_, now) = stack
            .get(&format!("/config/query?maAppId={appid}"), &lee)
            .await;
        (
            now["userTemplate"]["releaseState"]
                .as_str()
                .unwrap()
                .to_owned(),
            now["userTemplate"]["auditReason"].clone(),
        )
    };
    // Seed 000's names for the same: WeChat's audit code and words, and the reason.
    let seed = || async {
        let (_, now) = stack
            .get(&format!("/config/query?maAppId={appid}"), &lee)
            .await;
        (
            now["auditStatus"].clone(),
            now["auditStatusDesc"].clone(),
            now["reason"].clone(),
        )
    };
    assert_eq!(seed().await, (json!(null), json!(null), json!(null)));
    let decide = |result: &str, reason: &str| {
        stack.sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": result, "reason": reason}),
        )
    };

    assert_eq!(
        stack
            .post("/code/release", &lee, &json!({"maAppId": appid}))
            .await
            .0,
        200
    );
    assert_eq!(
        decide("fail", "missing privacy policy").await["delivered"],
        true
    );
    assert_eq!(
        state().await,
        ("rejected".to_owned(), json!("missing privacy policy"))
    );
    assert_eq!(
        seed().await,
        (
            json!(1),
            json!("审核被拒绝"),
            json!("missing privacy policy")
        )
    );

    // Rejected: the merchant may release again; this time the audit is delayed, then passes.
    assert_eq!(
        stack
            .post("/code/release", &lee, &json!({"maAppId": appid}))
            .await
            .0,
        200
    );
    assert_eq!(state().await.0, "auditing");
    assert_eq!(seed().await.0, json!(2));
    assert_eq!(decide("delay", "queue is long").await["delivered"], true);
    assert_eq!(state().await.0, "delayed");
    assert_eq!(seed().await.0, json!(4));
    assert_eq!(decide("pass", "").await["delivered"], true);
    assert_eq!(state().await.0, "passed");
    assert_eq!(seed().await.0, json!(0));
    assert_eq!(seed().await.1, json!("审核成功"));
    // A stray result with no open audit changes nothing.
    let gh = stack.user_name(&appid).await;
    let stray = format!("<xml><ToUserName>{gh}</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>weapp_audit_fail</Event><Reason>late</Reason></xml>");
    let out = stack
        .sandbox(
            "/control/push",
            json!({"urlKind": "message", "authorizerAppid": appid, "xml": stray}),
        )
        .await;
    assert_eq!(out["delivered"], true);
    assert_eq!(state().await.0, "passed");
}
