//! Alipay for a provider, black-box: the admin registers the workspace's Alipay application, a merchant (or staff
//! for a merchant) gets a consent link, the sandbox's consent page sends the browser back through our redirect, and
//! the merchant's tokens are kept — usable at the gateway, never replaced by a replay; and every refusal on the way.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, unique, Stack};
use wxtpl::alipay::client::{AlipayApp, AlipayClient};
use wxtpl::http::auth::Role;

/// The stack's made-up application, registered for the local component (idempotent).
async fn registered(stack: &Stack) -> Value {
    let keys = stack.alipay_app();
    let (code, out) = stack
        .post("/alipay/app/register", &stack.token(Role::Admin), &keys)
        .await;
    assert!(code == 200 || code == 201, "{out}");
    assert_eq!(out["appId"], keys["appId"]);
    keys
}

/// Follows a consent link like a browser: Alipay's page → our redirect → the front end, which shows the outcome.
async fn follow(stack: &Stack, url: &str) -> Value {
    let resp = stack.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "final page of {url}");
    resp.json::<Value>().await.unwrap()["frontend"].clone()
}

async fn link(stack: &Stack, token: &str, query: &str) -> String {
    let (code, out) = stack.get(&format!("/alipay/auth/link{query}"), token).await;
    assert_eq!(code, 200, "{out}");
    out["url"].as_str().unwrap().to_owned()
}

/// What our redirect did with a consent: the URL of the consent page's redirect, without following it further.
async fn consent_redirect(stack: &Stack, url: &str) -> String {
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_follow.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302, "{url}");
    let _ = stack;
    resp.headers()["location"].to_str().unwrap().to_owned()
}

async fn stored(
    stack: &Stack,
    mini_app_id: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let pk = format!("COMP#{}", stack.component_appid());
    stack
        .item(&pk, &format!("ALIPAYAUTH#{mini_app_id}"))
        .await
        .expect("the authorization is stored")
}

#[tokio::test]
async fn a_merchant_authorizes_its_alipay_mini_program_and_its_tokens_are_kept() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let keys = registered(&stack).await;
    // Registering again replaces the keys of the same application.
    let (code, out) = stack
        .post("/alipay/app/register", &stack.token(Role::Admin), &keys)
        .await;
    assert_eq!((code, &out["created"]), (200, &json!(false)), "{out}");

    let account = unique("ali-merchant");
    let merchant = stack.token_for_user(Role::Merchant, &account);
    let url = link(&stack, &merchant, "").await;
    assert!(url.contains("/oauth2/appToAppAuth.htm?app_id="), "{url}");
    assert!(url.contains(keys["appId"].as_str().unwrap()), "{url}");
    let back = consent_redirect(&stack, &url).await;
    let frontend = follow(&stack, &back).await;
    assert_eq!(
        (&frontend["outcome"], &frontend["platform"]),
        (&json!("authorized"), &json!("alipay")),
        "{frontend}"
    );
    let mini_app_id = frontend["maAppId"].as_str().unwrap().to_owned();
    let item = stored(&stack, &mini_app_id).await;
    let s = |k: &str| stack_tests::s(&item, k).unwrap_or_default();
    assert_eq!(s("merchant"), account);
    assert_eq!(s("app_id"), keys["appId"].as_str().unwrap());
    let token = s("app_auth_token");
    // The kept token is the one Alipay issued: it works at the gateway.
    let app = AlipayApp::new(
        keys["appId"].as_str().unwrap(),
        keys["privateKey"].as_str().unwrap(),
        keys["alipayPublicKey"].as_str().unwrap(),
    )
    .unwrap();
    AlipayClient::new(&stack.env["ALIPAY_GATEWAY"])
        .version_list(&app, &token, &["INIT"])
        .await
        .unwrap();
    // No token reaches a log.
    assert!(
        !stack.logs().contains(&token),
        "the app_auth_token was logged"
    );

    // The same redirect again (a reload, a replay): Alipay refuses the used code, and what is kept stays.
    let again = follow(&stack, &back).await;
    assert_eq!(
        (&again["outcome"], &again["status"]),
        (&json!("error"), &json!("422")),
        "{again}"
    );
    assert_eq!(
        stack_tests::s(&stored(&stack, &mini_app_id).await, "app_auth_token").unwrap(),
        token
    );

    // Staff hand a merchant of theirs a link: what it authorizes is that merchant's.
    let handed = unique("ali-handed");
    let body = json!({"account": handed, "password": "long enough 1", "role": "merchant",
                      "components": [stack.component_appid()]});
    let (code, out) = stack
        .post("/user/create", &stack.token(Role::Admin), &body)
        .await;
    assert_eq!(code, 201, "{out}");
    let url = link(
        &stack,
        &stack.token(Role::Operator),
        &format!("?merchant={handed}"),
    )
    .await;
    let frontend = follow(&stack, &url).await;
    let theirs = frontend["maAppId"].as_str().unwrap().to_owned();
    assert_eq!(
        stack_tests::s(&stored(&stack, &theirs).await, "merchant").unwrap(),
        handed
    );
}

#[tokio::test]
async fn registrations_links_and_redirects_refuse_what_they_must() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let keys = registered(&stack).await;
    let admin = stack.token(Role::Admin);

    // Only an admin registers; the id and the keys are checked and never echoed.
    for role in [Role::Operator, Role::Developer, Role::Merchant] {
        let (code, out) = stack
            .post("/alipay/app/register", &stack.token(role), &keys)
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let mut bad = keys.clone();
    bad["appId"] = json!("2021abc");
    let (code, out) = stack.post("/alipay/app/register", &admin, &bad).await;
    assert_refused(code, &out, 400, "INVALID_ID", "appId");
    let mut bad = keys.clone();
    bad["privateKey"] =
        json!("-----BEGIN PRIVATE KEY-----\nc2VjcmV0IG5vdCBhIGtleQ==\n-----END PRIVATE KEY-----");
    let (code, out) = stack.post("/alipay/app/register", &admin, &bad).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "private key");
    assert!(!out.to_string().contains("c2VjcmV0"), "{out}");
    let mut swapped = keys.clone();
    swapped["alipayPublicKey"] = keys["privateKey"].clone();
    let (code, out) = stack.post("/alipay/app/register", &admin, &swapped).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "public key");
    let mut extra = keys.clone();
    extra["appSecret"] = json!("x");
    let (code, _) = stack.post("/alipay/app/register", &admin, &extra).await;
    assert_eq!(code, 400);
    let mut huge = keys.clone();
    huge["privateKey"] = json!("A".repeat(9000));
    let (code, _) = stack.post("/alipay/app/register", &admin, &huge).await;
    assert!(code == 400 || code == 413, "{code}");

    // Another tenant cannot take the application; its workspace has none to link with.
    let (_, other_admin) = stack.signed_up_tenant("Alipay Other").await;
    let theirs = format!("wx{}", wxtpl::random::hex(8));
    let reg = json!({"appid": theirs, "appsecret": "0123456789abcdef0123", "token": "tok123",
                     "encodingAesKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"});
    let (code, out) = stack.post("/component/register", &other_admin, &reg).await;
    assert!(code == 200 || code == 201, "{out}");
    let path = format!("/alipay/app/register?componentAppid={theirs}");
    let (code, out) = stack.post(&path, &other_admin, &keys).await;
    assert_refused(code, &out, 409, "CONFLICT", "another workspace");
    let body = json!({"account": unique("other-ali"), "password": "long enough 1", "role": "merchant",
                      "components": [theirs]});
    let (code, out) = stack.post("/user/create", &other_admin, &body).await;
    assert_eq!(code, 201, "{out}");
    let (code, out) = stack
        .get(
            &format!(
                "/alipay/auth/link?componentAppid={theirs}&merchant={}",
                body["account"].as_str().unwrap()
            ),
            &other_admin,
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "no Alipay application");

    // Links: a merchant only for itself, staff only for their own merchants, developers not at all.
    let merchant = stack.token_for_user(Role::Merchant, &unique("ali-asker"));
    let (code, out) = stack
        .get("/alipay/auth/link?merchant=someone", &merchant)
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "merchant");
    let (code, out) = stack
        .get("/alipay/auth/link", &stack.token(Role::Operator))
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "merchant");
    let (code, out) = stack
        .get(
            &format!(
                "/alipay/auth/link?merchant={}",
                body["account"].as_str().unwrap()
            ),
            &stack.token(Role::Operator),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "merchant");
    let (code, out) = stack
        .get("/alipay/auth/link", &stack.token(Role::Developer))
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");

    // Redirects: a forged state, another application's consent, missing parameters. Nothing is stored.
    let url = link(&stack, &merchant, "").await;
    let back = consent_redirect(&stack, &url).await;
    let forged = back.replace("state=ey", "state=eyX");
    let out = follow(&stack, &forged).await;
    assert_eq!(
        (&out["outcome"], &out["status"]),
        (&json!("error"), &json!("401")),
        "{out}"
    );
    let other_app = back.replace(keys["appId"].as_str().unwrap(), "2021000000000009");
    let out = follow(&stack, &other_app).await;
    assert_eq!(
        (&out["outcome"], &out["status"]),
        (&json!("error"), &json!("400")),
        "{out}"
    );
    let bare = format!("{}/alipay/auth/redirect?app_id=1", stack.env["API_URL"]);
    let out = follow(&stack, &bare).await;
    assert_eq!(
        (&out["outcome"], &out["status"]),
        (&json!("error"), &json!("400")),
        "{out}"
    );
    // The code itself was never spent by those: the genuine redirect still authorizes.
    let out = follow(&stack, &back).await;
    assert_eq!(out["outcome"], "authorized", "{out}");

    // Alipay failing the exchange: a clear status, and the merchant can try again with a new link.
    let url = link(&stack, &merchant, "").await;
    let back = consent_redirect(&stack, &url).await;
    let alipay = stack.env["ALIPAY_SANDBOX_URL"].clone();
    stack
        .http
        .post(format!("{alipay}/control/faults"))
        .json(&json!({"method": "alipay.open.auth.token.app", "code": "20000", "subCode": "isp.unknow-error", "times": 1}))
        .send()
        .await
        .unwrap();
    let out = follow(&stack, &back).await;
    assert_eq!(
        (&out["outcome"], &out["status"]),
        (&json!("error"), &json!("503")),
        "{out}"
    );
    let out = follow(&stack, &back).await;
    assert_eq!(
        out["outcome"], "authorized",
        "the code was not used by the failed exchange: {out}"
    );
}

async fn notify(stack: &Stack, body: Value) -> Value {
    let resp = stack
        .http
        .post(format!(
            "{}/control/notify",
            stack.env["ALIPAY_SANDBOX_URL"]
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn signed_notifications_are_handled_once_and_forged_ones_refused() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let keys = registered(&stack).await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("ali-notified"));
    let url = link(&stack, &merchant, "").await;
    let mini_app_id = follow(&stack, &url).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    let field =
        |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
         k: &str| {
            item.get(k).map(|v| match v {
                aws_sdk_dynamodb::types::AttributeValue::S(s) => s.clone(),
                aws_sdk_dynamodb::types::AttributeValue::N(n) => n.clone(),
                other => format!("{other:?}"),
            })
        };

    // An audit result: answered `success`, recorded; the same notification again changes nothing.
    let out = notify(
        &stack,
        json!({"miniAppId": mini_app_id, "kind": "audit_rejected", "version": "1.0.0", "reason": "缺少客服入口"}),
    )
    .await;
    assert_eq!(
        (&out["status"], &out["body"]),
        (&json!(200), &json!("success")),
        "{out}"
    );
    let first = stored(&stack, &mini_app_id).await;
    assert_eq!(field(&first, "last_audit_passed").as_deref(), Some("0"));
    assert_eq!(
        field(&first, "last_audit_reason").as_deref(),
        Some("缺少客服入口")
    );
    let again = notify(
        &stack,
        json!({"miniAppId": mini_app_id, "kind": "audit_passed", "version": "1.0.0", "notifyId": out["notifyId"]}),
    )
    .await;
    assert_eq!(again["body"], "success", "{again}");
    let after = stored(&stack, &mini_app_id).await;
    assert_eq!(
        field(&after, "last_audit_passed"),
        field(&first, "last_audit_passed"),
        "handled once"
    );
    assert_eq!(
        field(&after, "last_audit_ms"),
        field(&first, "last_audit_ms")
    );

    // Tampered after signing, or not signed: refused, nothing recorded, and Alipay would deliver again.
    for forged in [json!({"tamper": true}), json!({"unsigned": true})] {
        let mut body =
            json!({"miniAppId": mini_app_id, "kind": "audit_passed", "version": "1.0.0"});
        body.as_object_mut()
            .unwrap()
            .extend(forged.as_object().unwrap().clone());
        let out = notify(&stack, body).await;
        assert_eq!(out["status"], 401, "{out}");
        assert_ne!(out["body"], "success");
    }
    let unchanged = stored(&stack, &mini_app_id).await;
    assert_eq!(field(&unchanged, "last_audit_passed").as_deref(), Some("0"));

    // An authorization notified with tokens older than the kept ones does not replace them.
    let token = field(&unchanged, "app_auth_token").unwrap();
    let out = notify(
        &stack,
        json!({"miniAppId": mini_app_id, "kind": "auth", "authTime": 1000}),
    )
    .await;
    assert_eq!(out["body"], "success", "{out}");
    assert_eq!(
        field(&stored(&stack, &mini_app_id).await, "app_auth_token").unwrap(),
        token
    );

    // The merchant withdraws the authorization at Alipay.
    let out = notify(
        &stack,
        json!({"miniAppId": mini_app_id, "kind": "cancelled"}),
    )
    .await;
    assert_eq!(out["body"], "success", "{out}");
    assert_eq!(
        field(&stored(&stack, &mini_app_id).await, "auth_status").as_deref(),
        Some("cancelled")
    );

    // Not an application of ours, or not an application id at all.
    let post = |path: String| {
        let stack = &stack;
        async move {
            let resp = stack
                .http
                .post(format!("{}{path}", stack.env["API_URL"]))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("app_id=1&sign=x")
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let (code, body) = post("/alipay/2021000000000009/notify".into()).await;
    assert_eq!(code, 404, "{body}");
    let (code, body) = post("/alipay/not-an-app/notify".into()).await;
    assert_eq!(code, 400, "{body}");
    // A genuine application, a body signed by nobody.
    let (code, body) = post(format!(
        "/alipay/{}/notify",
        keys["appId"].as_str().unwrap()
    ))
    .await;
    assert_eq!(code, 401, "{body}");
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire_and_a_refused_refresh_needs_a_new_consent() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let keys = registered(&stack).await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("ali-refreshed"));
    let url = link(&stack, &merchant, "").await;
    let mini_app_id = follow(&stack, &url).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (pk, sk) = (
        format!("COMP#{}", stack.component_appid()),
        format!("ALIPAYAUTH#{mini_app_id}"),
    );
    let due_now = format!("0000000001#{}#{mini_app_id}", stack.component_appid());
    let before = stored(&stack, &mini_app_id).await;
    let old_token = stack_tests::s(&before, "app_auth_token").unwrap();
    // Not due yet (a year ahead): a run leaves it alone.
    let out = stack.invoke("alipay-token-refresh").await;
    assert_eq!(
        stack_tests::s(&stored(&stack, &mini_app_id).await, "app_auth_token").unwrap(),
        old_token,
        "{out}"
    );

    // Due: refreshed, the new token works, the old one no longer does, and it is due again a year on.
    stack.set_string(&pk, &sk, "GSI1SK", &due_now).await;
    let out = stack.invoke("alipay-token-refresh").await;
    assert!(out["refreshed"].as_u64().unwrap() >= 1, "{out}");
    let after = stored(&stack, &mini_app_id).await;
    let new_token = stack_tests::s(&after, "app_auth_token").unwrap();
    assert_ne!(new_token, old_token);
    assert!(stack_tests::s(&after, "GSI1SK").unwrap() > due_now);
    assert_eq!(
        stack_tests::s(&after, "merchant"),
        stack_tests::s(&before, "merchant"),
        "the owner stays"
    );
    let app = AlipayApp::new(
        keys["appId"].as_str().unwrap(),
        keys["privateKey"].as_str().unwrap(),
        keys["alipayPublicKey"].as_str().unwrap(),
    )
    .unwrap();
    let client = AlipayClient::new(&stack.env["ALIPAY_GATEWAY"]);
    client
        .version_list(&app, &new_token, &["INIT"])
        .await
        .unwrap();
    let stale = client
        .version_list(&app, &old_token, &["INIT"])
        .await
        .unwrap_err();
    assert_eq!(stale.sub_code(), Some("aop.invalid-app-auth-token"));

    // Alipay refuses the refresh token: out of the index, marked for a new consent; a later run does not retry it.
    stack.set_string(&pk, &sk, "GSI1SK", &due_now).await;
    stack
        .http
        .post(format!(
            "{}/control/faults",
            stack.env["ALIPAY_SANDBOX_URL"]
        ))
        .json(
            &json!({"method": "alipay.open.auth.token.app", "code": "40004",
                      "subCode": "isv.refresh-token-invalid", "times": 1}),
        )
        .send()
        .await
        .unwrap();
    let out = stack.invoke("alipay-token-refresh").await;
    assert!(
        out["reauthorizationRequired"].as_u64().unwrap() >= 1,
        "{out}"
    );
    let marked = stored(&stack, &mini_app_id).await;
    assert_eq!(
        stack_tests::s(&marked, "auth_status").as_deref(),
        Some("reauthorization_required")
    );
    assert!(!marked.contains_key("GSI1SK"), "out of the due index");
    assert_eq!(
        stack_tests::s(&marked, "app_auth_token").unwrap(),
        new_token,
        "nothing lost"
    );

    // Alipay busy: counted as a failure and left due for the next run.
    let url = link(&stack, &merchant, "").await;
    let other = follow(&stack, &url).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    let due_other = format!("0000000001#{}#{other}", stack.component_appid());
    stack
        .set_string(&pk, &format!("ALIPAYAUTH#{other}"), "GSI1SK", &due_other)
        .await;
    stack
        .http
        .post(format!(
            "{}/control/faults",
            stack.env["ALIPAY_SANDBOX_URL"]
        ))
        .json(
            &json!({"method": "alipay.open.auth.token.app", "code": "20000",
                      "subCode": "isp.unknow-error", "times": 1}),
        )
        .send()
        .await
        .unwrap();
    let out = stack.invoke("alipay-token-refresh").await;
    assert!(out["failed"].as_u64().unwrap() >= 1, "{out}");
    assert_eq!(
        stack_tests::s(&stored(&stack, &other).await, "GSI1SK").unwrap(),
        due_other,
        "still due"
    );
    let out = stack.invoke("alipay-token-refresh").await;
    assert!(out["refreshed"].as_u64().unwrap() >= 1, "{out}");
}

async fn counter(stack: &Stack, method: &str) -> u64 {
    let out: Value = reqwest::get(format!(
        "{}/control/counters",
        stack.env["ALIPAY_SANDBOX_URL"]
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    out[method].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_merchant_edits_its_alipay_base_info_within_alipays_rules() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    registered(&stack).await;
    let account = unique("ali-base");
    let merchant = stack.token_for_user(Role::Merchant, &account);
    let url = link(&stack, &merchant, "").await;
    let mini = follow(&stack, &url).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = format!("/alipay/baseinfo?miniAppId={mini}");

    let (code, out) = stack.get(&get, &merchant).await;
    assert_eq!(code, 200, "{out}");
    assert!(
        out["alipay"]["app_name"]
            .as_str()
            .unwrap()
            .starts_with("店铺"),
        "{out}"
    );
    let change = json!({"miniAppId": mini, "appName": "安茶 Tea House", "appSlogan": "湖边的一杯好茶，慢慢喝",
        "appDesc": "西湖边的茶馆：现泡好茶、点心与预约座位，一个小程序都能办。", "appCategoryIds": ["20_21"],
        "servicePhone": "0571-88888888", "serviceEmail": "service@tea.example.com"});
    let (code, out) = stack
        .post("/alipay/baseinfo/modify", &merchant, &change)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        out["modifyStatus"], "SUCCESS",
        "nothing released yet: at once"
    );
    assert_eq!(
        (
            &out["alipay"]["app_name"],
            &out["alipay"]["category_names"],
            &out["alipay"]["service_email"]
        ),
        (
            &json!("安茶 Tea House"),
            &json!("20_21"),
            &json!("service@tea.example.com")
        )
    );
    // The workspace's operator may too.
    let (code, out) = stack.get(&get, &stack.token(Role::Operator)).await;
    assert_eq!(
        (code, &out["alipay"]["app_slogan"]),
        (200, &json!("湖边的一杯好茶，慢慢喝"))
    );

    // What Alipay would refuse is refused here, and Alipay is not asked.
    let modifies = counter(&stack, "alipay.open.mini.baseinfo.modify").await;
    for (bad, says) in [
        (json!({"appName": "茶"}), "appName"),
        (json!({"appSlogan": "short"}), "appSlogan"),
        (json!({"appDesc": "太短"}), "appDesc"),
        (
            json!({"appCategoryIds": ["1_2", "3_4", "5_6", "7_8", "9_10"]}),
            "appCategoryIds",
        ),
        (json!({"servicePhone": "call me maybe"}), "servicePhone"),
        (json!({"serviceEmail": "nobody"}), "serviceEmail"),
        (json!({}), "nothing to change"),
    ] {
        let mut body = bad.clone();
        body["miniAppId"] = json!(mini);
        let (code, out) = stack
            .post("/alipay/baseinfo/modify", &merchant, &body)
            .await;
        assert_refused(code, &out, 400, "BAD_REQUEST", says);
    }
    let (code, _) = stack
        .post(
            "/alipay/baseinfo/modify",
            &merchant,
            &json!({"miniAppId": mini, "logo": "x"}),
        )
        .await;
    assert_eq!(code, 400, "unknown fields are refused");
    assert_eq!(
        counter(&stack, "alipay.open.mini.baseinfo.modify").await,
        modifies
    );

    // Another merchant's, a developer, an id that is not one, one nobody authorized.
    let other = stack.token_for_user(Role::Merchant, &unique("ali-other"));
    let (code, out) = stack.get(&get, &other).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &mini);
    let (code, out) = stack.post("/alipay/baseinfo/modify", &other, &change).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &mini);
    let (code, out) = stack.get(&get, &stack.token(Role::Developer)).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack
        .get("/alipay/baseinfo?miniAppId=wx123", &merchant)
        .await;
    assert_refused(code, &out, 400, "INVALID_ID", "miniAppId");
    let (code, out) = stack
        .get("/alipay/baseinfo?miniAppId=2021009999999999", &merchant)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "2021009999999999");

    // Alipay's own refusal comes back with its sub_code.
    stack
        .http
        .post(format!(
            "{}/control/faults",
            stack.env["ALIPAY_SANDBOX_URL"]
        ))
        .json(
            &json!({"method": "alipay.open.mini.baseinfo.modify", "code": "40004",
                      "subCode": "MINI_APP_NAME_DUPLICATE", "subMsg": "名称已被占用", "times": 1}),
        )
        .send()
        .await
        .unwrap();
    let (code, out) = stack
        .post("/alipay/baseinfo/modify", &merchant, &change)
        .await;
    assert_refused(code, &out, 422, "ALIPAY_REFUSED", "名称已被占用");
    assert_eq!(out["error"]["alipaySubCode"], "MINI_APP_NAME_DUPLICATE");

    // The merchant withdraws the authorization at Alipay: nothing more is done with its token.
    let out = notify(&stack, json!({"miniAppId": mini, "kind": "cancelled"})).await;
    assert_eq!(out["body"], "success");
    let (code, out) = stack.get(&get, &merchant).await;
    assert_refused(code, &out, 409, "MINI_PROGRAM_NOT_AUTHORIZED", "cancelled");
}

#[tokio::test]
async fn members_are_invited_listed_and_removed_within_alipays_limits() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    registered(&stack).await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("ali-team"));
    let url = link(&stack, &merchant, "").await;
    let mini = follow(&stack, &url).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    let add = |logon: &str, role: &str| json!({"miniAppId": mini, "logonId": logon, "role": role});

    let (code, out) = stack
        .post(
            "/alipay/members/add",
            &merchant,
            &add("dev1@tea.example.com", "DEVELOPER"),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["members"].as_array().unwrap().len(), 1, "{out}");
    let user_id = out["members"][0]["user_id"].as_str().unwrap().to_owned();
    let (code, out) = stack
        .post(
            "/alipay/members/add",
            &merchant,
            &add("13800000000", "EXPERIENCER"),
        )
        .await;
    assert_eq!(
        (code, out["role"].as_str()),
        (200, Some("EXPERIENCER")),
        "{out}"
    );
    let (code, out) = stack
        .get(
            &format!("/alipay/members?miniAppId={mini}&role=DEVELOPER"),
            &stack.token(Role::Operator),
        )
        .await;
    assert_eq!(
        (code, out["members"][0]["logon_id"].as_str()),
        (200, Some("dev1@tea.example.com")),
        "{out}"
    );

    // Alipay's refusals, with their sub_code: twice the same, a manager, beyond the 30 developers.
    let (code, out) = stack
        .post(
            "/alipay/members/add",
            &merchant,
            &add("dev1@tea.example.com", "DEVELOPER"),
        )
        .await;
    assert_refused(code, &out, 422, "ALIPAY_REFUSED", "");
    assert_eq!(out["error"]["alipaySubCode"], "DEVELOPER_ALREADY_EXIST");
    let (code, out) = stack
        .post(
            "/alipay/members/add",
            &merchant,
            &add("manager@tea.example.com", "DEVELOPER"),
        )
        .await;
    assert_eq!(
        (code, &out["error"]["alipaySubCode"]),
        (422, &json!("CANNOT_INVITE_MANAGER")),
        "{out}"
    );
    for i in 2..=30 {
        let (code, out) = stack
            .post(
                "/alipay/members/add",
                &merchant,
                &add(&format!("dev{i}@tea.example.com"), "DEVELOPER"),
            )
            .await;
        assert_eq!(code, 200, "{out}");
    }
    let (code, out) = stack
        .post(
            "/alipay/members/add",
            &merchant,
            &add("dev31@tea.example.com", "DEVELOPER"),
        )
        .await;
    assert_eq!(
        (code, &out["error"]["alipaySubCode"]),
        (422, &json!("ROLE_OVER_LIMIT")),
        "{out}"
    );

    // Removed by user id; removing again is Alipay's refusal.
    let remove = json!({"miniAppId": mini, "userId": user_id, "role": "DEVELOPER"});
    let (code, out) = stack
        .post("/alipay/members/remove", &merchant, &remove)
        .await;
    assert_eq!(
        (code, out["members"].as_array().unwrap().len()),
        (200, 29),
        "{out}"
    );
    let (code, out) = stack
        .post("/alipay/members/remove", &merchant, &remove)
        .await;
    assert_eq!(
        (code, &out["error"]["alipaySubCode"]),
        (422, &json!("MEMBER_NOT_EXIST")),
        "{out}"
    );

    // Ours: a role Alipay has not, a login that is not one, a user id that is not one, someone else's, a developer.
    let (code, out) = stack
        .post("/alipay/members/add", &merchant, &add("x@y.com", "OWNER"))
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "role");
    let (code, out) = stack
        .post(
            "/alipay/members/add",
            &merchant,
            &add("two words", "DEVELOPER"),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "logonId");
    let bad = json!({"miniAppId": mini, "userId": "12345", "role": "DEVELOPER"});
    let (code, out) = stack.post("/alipay/members/remove", &merchant, &bad).await;
    assert_refused(code, &out, 400, "INVALID_ID", "userId");
    let other = stack.token_for_user(Role::Merchant, &unique("ali-stranger"));
    let (code, out) = stack
        .get(
            &format!("/alipay/members?miniAppId={mini}&role=DEVELOPER"),
            &other,
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &mini);
    let (code, out) = stack.post("/alipay/members/remove", &other, &remove).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &mini);
    let (code, out) = stack
        .get(
            &format!("/alipay/members?miniAppId={mini}&role=DEVELOPER"),
            &stack.token(Role::Developer),
        )
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack
        .get(&format!("/alipay/members?miniAppId={mini}"), &merchant)
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "role");
}

#[tokio::test]
async fn codes_are_made_once_and_kept_and_qr_rules_bound_within_twenty() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    registered(&stack).await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("ali-codes"));
    let url = link(&stack, &merchant, "").await;
    let mini = follow(&stack, &url).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();

    // A code for a page: made by Alipay once, kept in S3, the same request again costs no Alipay call.
    let code_req =
        json!({"miniAppId": mini, "urlParam": "pages/table/index", "queryParam": "table=7"});
    let made = counter(&stack, "alipay.open.app.qrcode.create").await;
    let (code, first) = stack.post("/alipay/qrcode", &merchant, &code_req).await;
    assert_eq!((code, &first["reused"]), (201, &json!(false)), "{first}");
    let image = stack
        .http
        .get(first["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert!(image.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let (code, again) = stack
        .post("/alipay/qrcode", &stack.token(Role::Operator), &code_req)
        .await;
    assert_eq!((code, &again["reused"]), (200, &json!(true)), "{again}");
    assert_eq!(
        counter(&stack, "alipay.open.app.qrcode.create").await,
        made + 1
    );
    for bad in [
        json!({"urlParam": "/pages/x"}),
        json!({"urlParam": "pages/x", "size": "xl"}),
        json!({"urlParam": ""}),
    ] {
        let mut body = bad.clone();
        body["miniAppId"] = json!(mini);
        let (code, out) = stack.post("/alipay/qrcode", &merchant, &body).await;
        assert_refused(code, &out, 400, "BAD_REQUEST", "");
    }

    // Ordinary QR codes: bound, listed a page at a time, at most 20, unbound.
    let bind = |i: usize| {
        json!({"miniAppId": mini, "routeUrl": format!("https://qr.tea.example.com/t/{i}"), "mode": "EXACT",
               "pageRedirection": "pages/table/index"})
    };
    let (code, out) = stack.post("/alipay/qrcode/bind", &merchant, &bind(1)).await;
    assert_eq!(code, 200, "{out}");
    let group = out["routeGroup"].as_str().unwrap().to_owned();
    let (code, out) = stack.post("/alipay/qrcode/bind", &merchant, &bind(1)).await;
    assert_eq!(
        (code, &out["error"]["alipaySubCode"]),
        (422, &json!("ROUTE_URL_EXISTED")),
        "{out}"
    );
    for i in 2..=20 {
        let (code, out) = stack.post("/alipay/qrcode/bind", &merchant, &bind(i)).await;
        assert_eq!(code, 200, "{out}");
    }
    let (code, out) = stack
        .post("/alipay/qrcode/bind", &merchant, &bind(21))
        .await;
    assert_eq!(
        (code, &out["error"]["alipaySubCode"]),
        (422, &json!("QRCODE_ROUTE_OVER_LIMIT")),
        "{out}"
    );
    let (code, out) = stack
        .get(
            &format!("/alipay/qrcode/rules?miniAppId={mini}&pageNo=2"),
            &merchant,
        )
        .await;
    assert_eq!(
        (code, &out["total"], out["rules"].as_array().unwrap().len()),
        (200, &json!(20), 10),
        "{out}"
    );
    let (code, out) = stack
        .post(
            "/alipay/qrcode/unbind",
            &merchant,
            &json!({"miniAppId": mini, "routeGroup": group}),
        )
        .await;
    assert_eq!((code, &out["unbound"]), (200, &json!(true)), "{out}");
    let (_, out) = stack
        .get(&format!("/alipay/qrcode/rules?miniAppId={mini}"), &merchant)
        .await;
    assert_eq!(out["total"], 19);

    // Ours before Alipay's: not an address, not a mode, not a group id; someone else's mini-program.
    let mut bad = bind(30);
    bad["routeUrl"] = json!("javascript:alert(1)");
    let (code, out) = stack.post("/alipay/qrcode/bind", &merchant, &bad).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "routeUrl");
    let mut bad = bind(30);
    bad["mode"] = json!("PATTERN");
    let (code, out) = stack.post("/alipay/qrcode/bind", &merchant, &bad).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "mode");
    let (code, out) = stack
        .post(
            "/alipay/qrcode/unbind",
            &merchant,
            &json!({"miniAppId": mini, "routeGroup": "../x"}),
        )
        .await;
    assert_refused(code, &out, 400, "INVALID_ID", "routeGroup");
    let other = stack.token_for_user(Role::Merchant, &unique("ali-qr-stranger"));
    let (code, out) = stack.post("/alipay/qrcode", &other, &code_req).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &mini);
    let (code, out) = stack.post("/alipay/qrcode/bind", &other, &bind(40)).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &mini);
    let (code, out) = stack
        .get(&format!("/alipay/qrcode/rules?miniAppId={mini}"), &other)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &mini);
}

#[tokio::test]
async fn the_listing_shows_a_merchant_its_own_alipay_mini_programs_and_never_a_token() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    registered(&stack).await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("ali-lister"));
    let mut mine = Vec::new();
    for _ in 0..3 {
        let url = link(&stack, &merchant, "").await;
        mine.push(
            follow(&stack, &url).await["maAppId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // A page of two, then the rest after its cursor: all three, in id order, none twice.
    let (code, first) = stack
        .get("/alipay/miniprogram/list?limit=2", &merchant)
        .await;
    assert_eq!(code, 200, "{first}");
    let mut listed: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["miniAppId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 2, "{first}");
    let mut cursor = first["nextCursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (code, page) = stack
            .get(
                &format!("/alipay/miniprogram/list?limit=2&cursor={c}"),
                &merchant,
            )
            .await;
        assert_eq!(code, 200, "{page}");
        listed.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["miniAppId"].as_str().unwrap().to_owned()),
        );
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(listed, mine, "the merchant's own, in id order");
    let token = stack_tests::s(&stored(&stack, &mine[0]).await, "app_auth_token").unwrap();
    assert!(!first.to_string().contains(&token), "no token in a listing");
    assert_eq!(first["items"][0]["status"], "authorized");

    // The workspace's operator sees them among all; another merchant sees none of them; a developer nothing.
    let (code, all) = stack
        .get(
            "/alipay/miniprogram/list?limit=500",
            &stack.token(Role::Operator),
        )
        .await;
    assert_eq!(code, 200, "{all}");
    let every: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["miniAppId"].as_str().unwrap())
        .collect();
    assert!(mine.iter().all(|m| every.contains(&m.as_str())), "{all}");
    let other = stack.token_for_user(Role::Merchant, &unique("ali-lister-other"));
    let (code, theirs) = stack.get("/alipay/miniprogram/list", &other).await;
    assert_eq!((code, &theirs["items"]), (200, &json!([])), "{theirs}");
    let (code, out) = stack
        .get("/alipay/miniprogram/list", &stack.token(Role::Developer))
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack
        .get("/alipay/miniprogram/list?limit=9999", &merchant)
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "limit");
}
