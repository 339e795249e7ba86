//! Ready for a real account, black-box: the privacy guide, the privacy-API scan and the platform's server domains,
//! each enforced by the sandbox as WeChat does, each refusal a clear error with nothing half-done.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, unique, Stack};
use wxtpl::http::auth::Role;

/// A published template over a sandbox draft whose code uses `Location` and `getLocation`, with the privacy guide
/// and domains given; returns its id.
async fn located_template(stack: &Stack, privacy: Value, domains: Value) -> String {
    let (dev, ops) = (stack.token(Role::Developer), stack.token(Role::Operator));
    let draft = stack
        .sandbox(
            "/control/drafts",
            json!({"privacyKeys": ["Location"], "privacyApis": ["getLocation"]}),
        )
        .await["draft_id"]
        .as_i64()
        .unwrap();
    let body = json!({"draftId": draft, "industryId": "stores", "industryName": "Stores", "config": {},
        "pages": [{"pageKey": "home", "name": "Home", "config": {}}], "privacy": privacy, "domains": domains});
    let (code, out) = stack.post("/draft/release", &dev, &body).await;
    assert_eq!(code, 201, "{out}");
    let id = out["template"]["id"].as_str().unwrap().to_owned();
    let settings = body["privacy"]
        .get("settings")
        .cloned()
        .unwrap_or(json!([]));
    assert_eq!(out["template"]["privacy"]["settings"], settings, "{out}");
    stack
        .post("/template/handover", &dev, &json!({"id": id, "version": 1}))
        .await;
    let (code, out) = stack
        .post("/template/release", &ops, &json!({"id": id, "version": 2}))
        .await;
    assert_eq!(code, 200, "{out}");
    id
}

async fn save_on(stack: &Stack, token: &str, appid: &str, template: &str) {
    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "sea"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
    let (code, out) = stack.post("/config/save", token, &save).await;
    assert_eq!(code, 200, "{out}");
}

async fn side(stack: &Stack, appid: &str) -> Value {
    let state = stack.sandbox_get("/control/state").await;
    state["authorizers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appid"] == appid)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_release_applies_domains_and_the_privacy_guide_and_refuses_what_would_fail_the_audit() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let host = format!("{}.shop.example", unique("api").replace('_', "-"));
    let domains = json!({"requestdomain": [format!("https://{host}")]});
    let settings = json!([{"privacyKey": "Location", "privacyText": "to show the nearest shop"}]);
    // The developer forgot to declare getLocation in requiredPrivateInfos.
    let undeclared = located_template(&stack, json!({"settings": settings}), domains.clone()).await;
    let declared = located_template(
        &stack,
        json!({"settings": settings, "requiredPrivateInfos": ["getLocation"]}),
        domains.clone(),
    )
    .await;

    let merchant = stack.token_for_user(Role::Merchant, &unique("real"));
    let appid = stack.own_mini_program(&merchant).await;
    save_on(&stack, &merchant, &appid, &undeclared).await;
    stack.privacy_contact(&merchant, &appid).await;
    let release = json!({"maAppId": appid, "userVersion": "1.0.0"});

    // 1. The template's domain is not registered on the platform: refused before anything is committed.
    let commits = stack.counter("commit").await;
    let (code, out) = stack.post("/code/release", &merchant, &release).await;
    assert_refused(code, &out, 409, "DOMAIN_NOT_REGISTERED", &host);
    assert_eq!(stack.counter("commit").await, commits);
    let ops = stack.token(Role::Operator);
    let (code, out) = stack
        .post(
            "/component/domains",
            &ops,
            &json!({"action": "add", "domains": [host]}),
        )
        .await;
    assert_eq!(code, 200, "{out}");

    // 2. WeChat's scan finds getLocation undeclared: a clear 409 after the commit, nothing submitted, the commit kept.
    let submits = stack.counter("submit_audit").await;
    let (code, out) = stack.post("/code/release", &merchant, &release).await;
    assert_refused(code, &out, 409, "PRIVACY_REQUIRED", "getLocation");
    assert_eq!(stack.counter("submit_audit").await, submits);
    assert_eq!(stack.release_state(&merchant, &appid).await, "committed");
    let wechat = side(&stack, &appid).await;
    assert_eq!(
        wechat["domains"]["requestdomain"],
        json!([format!("https://{host}")])
    );
    assert_eq!(wechat["submits"], json!([]));

    // 2b. A template whose guide does not explain a privacy key WeChat finds in the code: refused before the submit.
    let unexplained = located_template(
        &stack,
        json!({"requiredPrivateInfos": ["getLocation"]}),
        domains.clone(),
    )
    .await;
    let other = stack.own_mini_program(&merchant).await;
    save_on(&stack, &merchant, &other, &unexplained).await;
    stack.privacy_contact(&merchant, &other).await;
    let (code, out) = stack
        .post("/code/release", &merchant, &json!({"maAppId": other}))
        .await;
    assert_refused(code, &out, 409, "PRIVACY_REQUIRED", "Location");
    assert_eq!(side(&stack, &other).await["submits"], json!([]));

    // 3. On the template that declares it, with WeChat still scanning: pending, then submitted by the sweep with the
    //    guide set from the template's settings and the merchant's contact.
    let appid = stack.own_mini_program(&merchant).await;
    save_on(&stack, &merchant, &appid, &declared).await;
    stack.privacy_contact(&merchant, &appid).await;
    stack
        .sandbox("/control/scan", json!({"seconds": 3600}))
        .await;
    let (code, out) = stack
        .post(
            "/code/release",
            &merchant,
            &json!({"maAppId": appid, "userVersion": "1.0.1"}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "submit_pending", "{out}");
    stack.sandbox("/control/scan", json!({"seconds": 0})).await;
    stack.invoke("release-sweep").await;
    assert_eq!(stack.release_state(&merchant, &appid).await, "auditing");
    let wechat = side(&stack, &appid).await;
    assert_eq!(wechat["submits"], json!(["1.0.1"]));
    assert_eq!(
        wechat["privacyGuide"]["owner_setting"]["contact_email"],
        "owner@shop.example.com"
    );
    assert_eq!(
        wechat["privacyGuide"]["setting_list"],
        json!([{"privacy_key": "Location", "privacy_text": "to show the nearest shop"}])
    );

    // The merchant sees its contact, the template's guide and WeChat's.
    let (code, view) = stack
        .get(&format!("/miniprogram/privacy?maAppId={appid}"), &merchant)
        .await;
    assert_eq!(code, 200, "{view}");
    assert_eq!(
        view["ownerSetting"]["contactEmail"],
        "owner@shop.example.com"
    );
    assert_eq!(
        view["template"]["privacy"]["requiredPrivateInfos"],
        json!(["getLocation"])
    );
    assert_eq!(view["wechat"]["privacy_list"], json!(["Location"]));
    assert_eq!(view["wechat"]["setting_list"][0]["privacy_key"], "Location");

    // A guide WeChat already holds is not set again on the next submission.
    let sets = side(&stack, &appid).await["privacySets"].as_i64().unwrap();
    stack
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "fail", "reason": "menu text"}),
        )
        .await;
    stack.invoke("release-sweep").await;
    let (code, out) = stack
        .post(
            "/code/release",
            &merchant,
            &json!({"maAppId": appid, "userVersion": "1.0.2"}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        side(&stack, &appid).await["privacySets"].as_i64().unwrap(),
        sets
    );
}

#[tokio::test]
async fn privacy_contacts_and_template_requirements_refuse_bad_input_and_strangers() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("careful"));
    let appid = stack.own_mini_program(&merchant).await;
    let stranger = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let good = json!({"maAppId": appid, "ownerSetting": {"contactPhone": "13800000000", "noticeMethod": "弹窗"}});

    let bad_bodies = [
        json!({"maAppId": appid, "ownerSetting": {"noticeMethod": "弹窗"}}),
        json!({"maAppId": appid, "ownerSetting": {"contactEmail": "nobody", "noticeMethod": "弹窗"}}),
        json!({"maAppId": appid, "ownerSetting": {"contactPhone": "13800000000", "noticeMethod": ""}}),
        json!({"maAppId": appid, "ownerSetting": {"contactPhone": "13800000000", "noticeMethod": "弹窗", "x": 1}}),
        json!({"maAppId": appid, "ownerSetting": {"contactWeixin": "w".repeat(65), "noticeMethod": "弹窗"}}),
    ];
    for body in &bad_bodies {
        let (code, out) = stack.post("/miniprogram/privacy", &merchant, body).await;
        assert_eq!(code, 400, "{body}: {out}");
    }
    let (code, _) = stack.post("/miniprogram/privacy", &stranger, &good).await;
    assert_eq!(code, 404);
    let (code, _) = stack
        .get(&format!("/miniprogram/privacy?maAppId={appid}"), &stranger)
        .await;
    assert_eq!(code, 404);
    let (code, _) = stack
        .post("/miniprogram/privacy", &stack.token(Role::Developer), &good)
        .await;
    assert_eq!(code, 403);
    let (_, view) = stack
        .get(&format!("/miniprogram/privacy?maAppId={appid}"), &merchant)
        .await;
    assert!(view["ownerSetting"].is_null(), "{view}");

    // The component's operator may set it for the merchant; the same request twice leaves one contact.
    let ops = stack.token(Role::Operator);
    let (a, b) = tokio::join!(
        stack.post("/miniprogram/privacy", &ops, &good),
        stack.post("/miniprogram/privacy", &ops, &good)
    );
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    let (_, view) = stack
        .get(&format!("/miniprogram/privacy?maAppId={appid}"), &merchant)
        .await;
    assert_eq!(view["ownerSetting"]["contactPhone"], "13800000000");

    // A template's privacy guide and domains are checked when the developer gives them.
    let dev = stack.token(Role::Developer);
    let draft = stack.sandbox("/control/drafts", json!({})).await["draft_id"]
        .as_i64()
        .unwrap();
    let base = json!({"draftId": draft, "industryId": "stores", "industryName": "Stores", "config": {},
        "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
    let refusals = [
        json!({"privacy": {"settings": [{"privacyKey": "Telepathy", "privacyText": "reading minds"}]}}),
        json!({"privacy": {"settings": [{"privacyKey": "Location", "privacyText": "不清楚"}]}}),
        json!({"privacy": {"requiredPrivateInfos": ["getEverything"]}}),
        json!({"domains": {"requestdomain": ["http://plain.example.com"]}}),
        json!({"domains": {"requestdomain": ["https://10.0.0.1"]}}),
        json!({"domains": {"mailserver": ["smtp.example.com"]}}),
    ];
    let templates_before = stack.counter("addtotemplate").await;
    for extra in &refusals {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (code, out) = stack.post("/draft/release", &dev, &body).await;
        assert_eq!(code, 400, "{extra}: {out}");
    }
    assert_eq!(stack.counter("addtotemplate").await, templates_before);
    // Platform domains: operators and admins only, bare hosts only.
    let (code, _) = stack
        .post("/component/domains", &merchant, &json!({"action": "get"}))
        .await;
    assert_eq!(code, 403);
    let (code, out) = stack
        .post("/component/domains", &ops, &json!({"action": "get"}))
        .await;
    assert_eq!(code, 200, "{out}");
    assert!(out["testing"].is_array(), "{out}");
}

#[tokio::test]
async fn a_batch_target_without_a_privacy_contact_fails_with_the_reason_and_the_rest_go_on() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let template = stack.published_template().await;
    let ready = stack.authorize_new().await;
    stack.existing_privacy_guide(&ready).await;
    let bare = stack.authorize_new().await;
    let ops = stack.token(Role::Operator);
    let version = "7.0.0";
    let (code, out) = stack
        .post(
            "/batch/release",
            &ops,
            &json!({"templateId": template, "maAppIds": [ready, bare], "userVersion": version,
                    "until": "submitted"}),
        )
        .await;
    assert_eq!(code, 202, "{out}");
    let batch = out["batchId"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let status = loop {
        let (_, status) = stack
            .get(&format!("/batch/status?batchId={batch}"), &ops)
            .await;
        if status["state"] == "completed" || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(status["state"], "completed", "{status}");
    let target = |appid: &str| {
        status["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["maAppId"] == appid)
            .cloned()
            .unwrap()
    };
    assert_eq!(target(&ready)["state"], "submitted", "{status}");
    let failed = target(&bare);
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .starts_with("PRIVACY_REQUIRED"),
        "{failed}"
    );
    assert_eq!(side(&stack, &bare).await["commits"], json!([]));
}

#[tokio::test]
async fn lost_answers_and_wechat_refusals_of_the_new_calls_leave_nothing_half_done() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let ops = stack.token(Role::Operator);

    // The platform's domains: WeChat adds them but the answer is lost; the same request again answers them once.
    let host = format!("{}.cdn.example", unique("img").replace('_', "-"));
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "modify_wxa_server_domain", "applied": true, "times": -1}),
        )
        .await;
    let add = json!({"action": "add", "domains": [host]});
    let (code, out) = stack.post("/component/domains", &ops, &add).await;
    assert_eq!(code, 502, "{out}");
    stack.clear_faults().await;
    let (code, out) = stack.post("/component/domains", &ops, &add).await;
    assert_eq!(code, 200, "{out}");
    let listed = out["testing"].as_array().unwrap();
    assert_eq!(
        listed.iter().filter(|d| **d == json!(host)).count(),
        1,
        "{out}"
    );

    // The guide is set at WeChat but the answer is lost: nothing was submitted, the commit is kept, and the same
    // release again resumes without committing twice.
    let (token, appid) = stack.decorated(&unique("lost-guide")).await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "setprivacysetting", "appid": appid, "applied": true, "times": -1}),
        )
        .await;
    let release = json!({"maAppId": appid, "userVersion": "2.0.0"});
    let (code, out) = stack.post("/code/release", &token, &release).await;
    assert_eq!(code, 502, "{out}");
    stack.clear_faults().await;
    assert_eq!(stack.release_state(&token, &appid).await, "committed");
    let (code, out) = stack.post("/code/release", &token, &release).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "auditing", "{out}");
    let wechat = side(&stack, &appid).await;
    assert_eq!(wechat["commits"], json!(["2.0.0"]));
    assert_eq!(wechat["submits"], json!(["2.0.0"]));

    // WeChat's own refusals are clear 409s, and the record goes back to where it was.
    let (token, appid) = stack.decorated(&unique("refused-guide")).await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "setprivacysetting", "appid": appid, "errcode": 86069, "times": 1}),
        )
        .await;
    let release = json!({"maAppId": appid, "userVersion": "3.0.0"});
    let (code, out) = stack.post("/code/release", &token, &release).await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(out["error"]["code"], "PRIVACY_REQUIRED", "{out}");
    assert_eq!(out["error"]["wechatErrcode"], 86069, "{out}");
    assert_eq!(stack.release_state(&token, &appid).await, "committed");
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "submit_audit", "appid": appid, "errcode": 61040, "times": 1}),
        )
        .await;
    let (code, out) = stack.post("/code/release", &token, &release).await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(out["error"]["code"], "PRIVACY_REQUIRED", "{out}");
    assert_eq!(stack.release_state(&token, &appid).await, "committed");
    assert_eq!(side(&stack, &appid).await["submits"], json!([]));
    let (code, out) = stack.post("/code/release", &token, &release).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(side(&stack, &appid).await["commits"], json!(["3.0.0"]));
}

fn listed<'a>(page: &'a Value, appid: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["maAppId"] == appid)
        .unwrap_or_else(|| panic!("{appid} not listed: {page}"))
}

#[tokio::test]
async fn readiness_names_each_gap_and_the_listing_shows_shop_privacy_contact_and_icp_filing() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("ready"));
    let appid = stack.own_mini_program(&merchant).await;
    let readiness = format!("/miniprogram/readiness?maAppId={appid}");

    // Before anyone asked: no shop, no contact, the filing unknown.
    let (code, page) = stack.get("/miniprogram/list", &merchant).await;
    assert_eq!(code, 200, "{page}");
    let row = listed(&page, &appid);
    assert_eq!(
        (&row["shopId"], &row["privacyContact"], &row["icpFiled"]),
        (&Value::Null, &json!(false), &Value::Null),
        "{row}"
    );

    // Nothing is ready: no category, no contact, not filed.
    stack
        .sandbox(
            "/control/categories",
            json!({"appid": appid, "categories": []}),
        )
        .await;
    stack
        .sandbox("/control/icp", json!({"appid": appid, "status": 1024}))
        .await;
    let (code, out) = stack.get(&readiness, &merchant).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        out["missing"],
        json!(["category", "privacyContact", "icpFiling"]),
        "{out}"
    );
    assert_eq!(
        (&out["icpStatus"], &out["categories"]),
        (&json!(1024), &json!(0))
    );
    let row_of = |page: &Value| listed(page, &appid).clone();
    let (_, page) = stack.get("/miniprogram/list", &merchant).await;
    let row = row_of(&page);
    assert_eq!(row["icpFiled"], false, "{row}");
    let first_check = row["icpCheckedAt"].as_i64().unwrap();

    // Each gap closed in turn; the listing follows (the shop by its name, renamed too).
    stack
        .sandbox(
            "/control/categories",
            json!({"appid": appid, "categories": [{"first_class": "工具", "second_class": "效率",
                                                   "first_id": 287, "second_id": 612}]}),
        )
        .await;
    stack.privacy_contact(&merchant, &appid).await;
    stack
        .sandbox("/control/icp", json!({"appid": appid, "status": 6}))
        .await;
    let (code, shop) = stack
        .post(
            "/shop/create",
            &merchant,
            &json!({"name": "Ready Tea", "maAppId": appid}),
        )
        .await;
    assert_eq!(code, 201, "{shop}");
    let (code, out) = stack.get(&readiness, &merchant).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (&out["missing"], &out["icpFiled"]),
        (&json!([]), &json!(true)),
        "{out}"
    );
    let rename = json!({"shopId": shop["shopId"], "version": 1, "name": "Ready Teahouse"});
    let (code, out) = stack.post("/shop/update", &merchant, &rename).await;
    assert_eq!(code, 200, "{out}");
    let (_, page) = stack.get("/miniprogram/list", &merchant).await;
    let row = row_of(&page);
    assert_eq!(
        (
            &row["shopId"],
            &row["shopName"],
            &row["privacyContact"],
            &row["icpFiled"]
        ),
        (
            &shop["shopId"],
            &json!("Ready Teahouse"),
            &json!(true),
            &json!(true)
        ),
        "{row}"
    );
    assert!(row["icpCheckedAt"].as_i64().unwrap() >= first_check);

    // WeChat failing the filing question: a clear error, and the last known filing stays.
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "get_icp_entrance_info", "appid": appid, "errcode": 61070, "times": 1}),
        )
        .await;
    let (code, out) = stack.get(&readiness, &merchant).await;
    assert!(code >= 400, "{code} {out}");
    assert_eq!(out["error"]["wechatErrcode"], 61070, "{out}");
    let (_, page) = stack.get("/miniprogram/list", &merchant).await;
    assert_eq!(row_of(&page)["icpFiled"], true);

    // Strangers, wrong roles and bad input.
    let other = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let (code, out) = stack.get(&readiness, &other).await;
    assert_refused(code, &out, 404, "NOT_FOUND", "");
    let (code, out) = stack.get(&readiness, &stack.token(Role::Developer)).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack.get("/miniprogram/readiness", &merchant).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "maAppId");
    let (code, out) = stack
        .get("/miniprogram/readiness?maAppId=not%20an%20appid", &merchant)
        .await;
    assert_refused(code, &out, 400, "INVALID_ID", "maAppId");
}
