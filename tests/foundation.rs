//! Foundation, black-box: WeChat pushes, the token store and the admin views, against the local stack.
use serde_json::{json, Value};
use stack_tests::{s, serial, Stack};
use wxtpl::http::auth::Role;

fn pk(component: &str) -> String {
    format!("COMP#{component}")
}

async fn status(stack: &Stack) -> Value {
    let (code, body) = stack
        .get("/component/status", &stack.token(Role::Admin))
        .await;
    assert_eq!(code, 200, "{body}");
    body
}

async fn listed(stack: &Stack, appid: &str) -> Option<Value> {
    let (code, body) = stack
        .get("/authorizer/list?limit=100", &stack.token(Role::Developer))
        .await;
    assert_eq!(code, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authorizerAppid"] == appid)
        .cloned()
}

#[tokio::test]
async fn ticket_push_is_stored_and_yields_a_component_token() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let before = status(&stack).await;
    // Force the next ticket to be the only way to a token.
    stack
        .set_number(
            &pk(&stack.component_appid()),
            "TOKEN#COMPONENT",
            "expires_at",
            0,
        )
        .await;
    let calls = stack.counter("api_component_token").await;
    let delivery = stack.sandbox("/control/ticket/push", json!({})).await;
    assert_eq!(delivery["delivered"], true, "{delivery}");
    let after = status(&stack).await;
    assert!(after["ticket"]["valid"].as_bool().unwrap());
    assert!(after["ticket"]["createTime"].as_i64() >= before["ticket"]["createTime"].as_i64());
    assert_eq!(after["componentToken"]["state"], "valid", "{after}");
    assert_eq!(stack.counter("api_component_token").await, calls + 1);
    // Status never shows the token or ticket values.
    let text = after.to_string();
    let token_item = stack
        .item(&pk(&stack.component_appid()), "TOKEN#COMPONENT")
        .await
        .unwrap();
    assert!(!text.contains(&s(&token_item, "token").unwrap()));
}

#[tokio::test]
async fn authorization_stores_refresh_token_and_lists_the_authorizer() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let listed = listed(&stack, &appid).await.expect("authorizer listed");
    assert_eq!(listed["status"], "authorized");
    assert_eq!(listed["hasRefreshToken"], true);
    assert_eq!(listed["isMiniProgram"], true);
    assert!(listed["userName"].as_str().unwrap().starts_with("gh_"));
    assert_eq!(listed["funcInfo"], json!([17, 18, 19, 25, 30]));
    assert!(
        listed.get("refreshToken").is_none(),
        "refresh token must not be exposed"
    );
    let record = stack
        .item(&pk(&stack.component_appid()), &format!("AUTHZ#{appid}"))
        .await
        .unwrap();
    assert!(s(&record, "refresh_token")
        .unwrap()
        .starts_with("refreshtoken@@@"));
    let token = stack
        .item(
            &pk(&stack.component_appid()),
            &format!("TOKEN#AUTHZ#{appid}"),
        )
        .await
        .unwrap();
    assert!(
        s(&token, "token").is_some(),
        "first authorizer token stored with the authorization"
    );
}

#[tokio::test]
async fn a_push_delivered_three_times_has_one_effect() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let out = stack
        .sandbox("/control/authorize", json!({"push": false}))
        .await;
    let (appid, code) = (
        out["authorizerAppid"].as_str().unwrap(),
        out["authorizationCode"].as_str().unwrap(),
    );
    let plaintext = format!(
        "<xml><AppId>{}</AppId><CreateTime>1800000000</CreateTime><InfoType>authorized</InfoType><AuthorizerAppid>{appid}</AuthorizerAppid><AuthorizationCode>{code}</AuthorizationCode></xml>",
        stack.component_appid()
    );
    let path = format!("/wechat/{}/auth-event", stack.component_appid());
    let calls = stack.counter("api_query_auth").await;
    for delivery in 1..=3 {
        let (query, body) = stack.seal(&plaintext);
        let (code, reply) = stack.push_raw(&path, &query, body).await;
        assert_eq!(
            (code, reply.as_str()),
            (200, "success"),
            "delivery {delivery}"
        );
    }
    assert_eq!(
        stack.counter("api_query_auth").await,
        calls + 1,
        "the code was exchanged once"
    );
    assert!(listed(&stack, appid).await.is_some());
    let (_, records) = stack
        .get(
            &format!("/callback/records?type=authorized&appid={appid}"),
            &stack.token(Role::Admin),
        )
        .await;
    let record = &records["items"][0];
    assert_eq!(record["deliveries"], 3, "{records}");
    assert_eq!(record["outcome"], "processed");
    assert!(
        !record["body"].as_str().unwrap().contains(code),
        "authorization code is redacted"
    );
}

#[tokio::test]
async fn a_push_whose_handler_fails_is_processed_on_retry() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    stack
        .sandbox(
            "/control/faults",
            // Every attempt of the first delivery fails (the handler retries WeChat itself, then gives up).
            json!({"endpoint": "api_query_auth", "httpStatus": 500, "times": 3}),
        )
        .await;
    let out = stack.sandbox("/control/authorize", json!({})).await;
    stack.clear_faults().await;
    let attempts = out["delivery"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{out}");
    assert_ne!(attempts[0]["status"], 200);
    assert_eq!(attempts[1]["reply"], "success");
    let appid = out["authorizerAppid"].as_str().unwrap();
    assert_eq!(
        listed(&stack, appid).await.unwrap()["hasRefreshToken"],
        true
    );
}

#[tokio::test]
async fn fifty_concurrent_requests_with_an_expired_token_refresh_it_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    stack
        .set_number(
            &pk(&stack.component_appid()),
            &format!("TOKEN#AUTHZ#{appid}"),
            "expires_at",
            1,
        )
        .await;
    let calls = stack.counter("api_authorizer_token").await;
    let token = stack.token(Role::Developer);
    let path = format!("/authorizer/info?authorizerAppid={appid}");
    let results = futures::future::join_all((0..50).map(|_| stack.get(&path, &token))).await;
    for (code, body) in &results {
        assert_eq!(*code, 200, "{body}");
        assert_eq!(body["basicInfo"]["appid"], appid.as_str());
    }
    assert_eq!(
        stack.counter("api_authorizer_token").await,
        calls + 1,
        "exactly one upstream refresh"
    );
}

#[tokio::test]
async fn a_token_rejected_with_40001_is_replaced_and_the_call_retried_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let old = s(
        &stack
            .item(
                &pk(&stack.component_appid()),
                &format!("TOKEN#AUTHZ#{appid}"),
            )
            .await
            .unwrap(),
        "token",
    );
    stack
        .sandbox(
            "/control/tokens/revoke",
            json!({"kind": "authorizer", "appid": appid}),
        )
        .await;
    let (calls, info_calls) = (
        stack.counter("api_authorizer_token").await,
        stack.counter("getaccountbasicinfo").await,
    );
    let (code, body) = stack
        .get(
            &format!("/authorizer/info?authorizerAppid={appid}"),
            &stack.token(Role::Developer),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(stack.counter("api_authorizer_token").await, calls + 1);
    assert_eq!(
        stack.counter("getaccountbasicinfo").await,
        info_calls + 2,
        "one rejected call, one retry"
    );
    let new = s(
        &stack
            .item(
                &pk(&stack.component_appid()),
                &format!("TOKEN#AUTHZ#{appid}"),
            )
            .await
            .unwrap(),
        "token",
    );
    assert_ne!(old, new);
}

#[tokio::test]
async fn a_refused_refresh_token_61023_is_surfaced_not_silent() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    stack
        .sandbox("/control/refresh-token/revoke", json!({"appid": appid}))
        .await;
    stack
        .set_number(
            &pk(&stack.component_appid()),
            &format!("TOKEN#AUTHZ#{appid}"),
            "expires_at",
            1,
        )
        .await;
    let (code, body) = stack
        .get(
            &format!("/authorizer/info?authorizerAppid={appid}"),
            &stack.token(Role::Developer),
        )
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"]["code"], "REAUTHORIZATION_REQUIRED");
    let listed = listed(&stack, &appid).await.unwrap();
    assert_eq!(listed["status"], "reauthorization_required");
    assert!(listed["statusReason"].as_str().unwrap().contains("61023"));
    assert_eq!(
        listed["hasRefreshToken"], true,
        "the refresh token is kept for the record"
    );
}

#[tokio::test]
async fn unauthorized_push_marks_the_mini_program_and_drops_its_tokens() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let out = stack
        .sandbox("/control/unauthorize", json!({"appid": appid}))
        .await;
    assert_eq!(out["delivery"]["delivered"], true);
    let listed = listed(&stack, &appid).await.unwrap();
    assert_eq!(listed["status"], "unauthorized");
    assert_eq!(listed["hasRefreshToken"], false);
    assert!(stack
        .item(
            &pk(&stack.component_appid()),
            &format!("TOKEN#AUTHZ#{appid}")
        )
        .await
        .is_none());
}

#[tokio::test]
async fn scheduled_refresh_renews_tokens_near_expiry_and_restores_lost_refresh_tokens() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let comp = pk(&stack.component_appid());
    let soon = wxtpl::clock::now_secs() + 300; // inside the 10-minute rule
    stack
        .set_number(&comp, "TOKEN#COMPONENT", "expires_at", soon)
        .await;
    let token_sk = format!("TOKEN#AUTHZ#{appid}");
    stack.set_number(&comp, &token_sk, "expires_at", soon).await;
    // As time passing would: the expiry index the refresh reads says the same.
    let due = format!("{soon:010}#{}#{appid}", stack.component_appid());
    stack.set_string(&comp, &token_sk, "GSI1SK", &due).await;
    stack
        .remove_attribute(&comp, &format!("AUTHZ#{appid}"), "refresh_token")
        .await;
    let summary = stack.invoke_token_refresh().await;
    assert!(
        summary["componentTokensRefreshed"].as_i64().unwrap() >= 1,
        "{summary}"
    );
    assert!(
        summary["refreshTokensRestored"].as_i64().unwrap() >= 1,
        "{summary}"
    );
    assert!(
        summary["authorizerTokensRefreshed"].as_i64().unwrap() >= 1,
        "{summary}"
    );
    let token = stack
        .item(&comp, &format!("TOKEN#AUTHZ#{appid}"))
        .await
        .unwrap();
    let expires: i64 = token["expires_at"].as_n().unwrap().parse().unwrap();
    assert!(expires > wxtpl::clock::now_secs() + 7000);
    assert_eq!(
        listed(&stack, &appid).await.unwrap()["hasRefreshToken"],
        true
    );

    // A token written before the expiry index existed is indexed by the rolling pass, and then left to the index.
    stack.remove_attribute(&comp, &token_sk, "GSI1PK").await;
    let summary = stack.invoke_token_refresh().await;
    assert!(summary["tokensIndexed"].as_i64().unwrap() >= 1, "{summary}");
    let token = stack.item(&comp, &token_sk).await.unwrap();
    assert!(token.contains_key("GSI1PK"), "indexed again");
    assert_eq!(
        token["expires_at"].as_n().unwrap().parse::<i64>().unwrap(),
        expires,
        "a token far from expiry is not refreshed"
    );
}

#[tokio::test]
async fn hostile_pushes_are_refused_and_write_nothing() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let comp = stack.component_appid();
    let path = format!("/wechat/{comp}/auth-event");
    let plaintext = format!(
        "<xml><AppId>{comp}</AppId><CreateTime>1700000000</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>wx1111111111111111</AuthorizerAppid></xml>"
    );
    let before = stack.partition_items(&pk(&comp)).await.len();

    let (query, body) = stack.seal(&plaintext);
    let tampered = query.replace("msg_signature=", "msg_signature=0");
    assert_eq!(
        stack.push_raw(&path, &tampered, body.clone()).await.0,
        401,
        "bad signature"
    );
    assert_eq!(
        stack
            .push_raw(&path, "timestamp=1&nonce=2", body.clone())
            .await
            .0,
        401,
        "missing signature"
    );

    let crypt = stack.crypt();
    let truncated = "AAAAAAAAAAAAAAAAAAAAAA=="; // 16 bytes of ciphertext: shorter than any message
    let sig = crypt.msg_signature("1", "2", truncated);
    let envelope = format!("<xml><AppId>{comp}</AppId><Encrypt>{truncated}</Encrypt></xml>");
    assert_eq!(
        stack
            .push_raw(
                &path,
                &format!("timestamp=1&nonce=2&msg_signature={sig}"),
                envelope
            )
            .await
            .0,
        400,
        "truncated"
    );

    let encrypted = crypt.encrypt("<xml><AppId>broken");
    let sig = crypt.msg_signature("1", "2", &encrypted);
    let envelope = format!("<xml><AppId>{comp}</AppId><Encrypt>{encrypted}</Encrypt></xml>");
    assert_eq!(
        stack
            .push_raw(
                &path,
                &format!("timestamp=1&nonce=2&msg_signature={sig}"),
                envelope
            )
            .await
            .0,
        400,
        "malformed inner XML"
    );
    assert_eq!(
        stack.push_raw(&path, &query, "<xml><AppId>".into()).await.0,
        400,
        "malformed envelope"
    );

    let huge = format!("<xml><Encrypt>{}</Encrypt></xml>", "A".repeat(200 * 1024));
    assert_eq!(
        stack.push_raw(&path, &query, huge).await.0,
        413,
        "oversized body"
    );

    assert_eq!(
        stack.partition_items(&pk(&comp)).await.len(),
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn unknown_component_is_404_and_url_check_answers() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (query, body) = stack.seal("<xml/>");
    let (code, _) = stack
        .push_raw("/wechat/wx0000000000000000/auth-event", &query, body)
        .await;
    assert_eq!(code, 404);
    // WeChat's GET check with the plain signature returns the echostr.
    let token = stack.component["token"].as_str().unwrap();
    let sig = wxtpl::wechat::crypto::signature(&[token, "1700000000", "42"]);
    let url = format!(
        "{}/wechat/{}/auth-event?signature={sig}&timestamp=1700000000&nonce=42&echostr=hello",
        stack.api_url(),
        stack.component_appid()
    );
    let resp = stack.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "hello");
    let bad = url.replace(&sig, "0000");
    assert_eq!(stack.http.get(&bad).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn audit_events_on_the_message_url_are_recorded_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let gh = stack.user_name(&appid).await;
    let xml = format!("<xml><ToUserName><![CDATA[{gh}]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1800000001</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_fail]]></Event><Reason><![CDATA[page incomplete]]></Reason><FailTime>1800000001</FailTime></xml>");
    for _ in 0..2 {
        let out = stack
            .sandbox(
                "/control/push",
                json!({"urlKind": "message", "authorizerAppid": appid, "xml": xml}),
            )
            .await;
        assert_eq!(out["delivered"], true, "{out}");
    }
    let (_, records) = stack
        .get(
            &format!("/callback/records?type=weapp_audit_fail&appid={appid}"),
            &stack.token(Role::Operator),
        )
        .await;
    let items = records["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{records}");
    assert_eq!(items[0]["deliveries"], 2);
    assert!(items[0]["body"]
        .as_str()
        .unwrap()
        .contains("page incomplete"));
}

#[tokio::test]
async fn routes_refuse_wrong_roles_other_tenants_and_bad_input() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let comp = stack.component_appid();
    // No token, a forged token, a merchant on admin routes.
    assert_eq!(stack.get("/component/status", "").await.0, 401);
    assert_eq!(stack.get("/component/status", "a.b.c").await.0, 401);
    let merchant = stack.token(Role::Merchant);
    assert_eq!(stack.get("/component/status", &merchant).await.0, 403);
    assert_eq!(
        stack
            .post(
                "/component/register",
                &stack.token(Role::Developer),
                &json!({})
            )
            .await
            .0,
        403
    );

    // Another tenant registers its own component; neither side sees the other's.
    let other_appid = format!("wx{:016x}", wxtpl::clock::now_millis());
    let other_admin = stack.token_for(Role::Admin, "other-tenant", None);
    let registration = json!({"appid": other_appid, "appsecret": "0123456789abcdef0123456789abcdef",
                              "token": "othertoken", "encodingAesKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"});
    let (code, body) = stack
        .post("/component/register", &other_admin, &registration)
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(
        body["pushTicket"]["started"], false,
        "the sandbox does not know this appid: reported, not fatal"
    );
    for path in ["/component/status", "/authorizer/list", "/callback/records"] {
        let (code, body) = stack
            .get(&format!("{path}?componentAppid={comp}"), &other_admin)
            .await;
        assert_eq!(code, 404, "{path}: {body}");
        let (code, _) = stack
            .get(
                &format!("{path}?componentAppid={other_appid}"),
                &stack.token(Role::Admin),
            )
            .await;
        assert_eq!(code, 404, "{path}");
    }
    // Another tenant's mini-program cannot be read through its own component either.
    let info = format!("/authorizer/info?authorizerAppid=wx1111111111111111&componentAppid={comp}");
    assert_eq!(stack.get(&info, &other_admin).await.0, 404);
    // Taking over another tenant's appid is refused and leaves its secret alone.
    let takeover = json!({"appid": comp, "appsecret": "ffffffffffffffffffffffffffffffff", "token": "evil",
                          "encodingAesKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"});
    assert_eq!(
        stack
            .post("/component/register", &other_admin, &takeover)
            .await
            .0,
        409
    );
    assert_eq!(status(&stack).await["componentAppid"], comp.as_str());
    let delivery = stack.sandbox("/control/ticket/push", json!({})).await;
    assert_eq!(
        delivery["delivered"], true,
        "pushes still verify with the original secret"
    );

    // Malformed input.
    let admin = stack.token(Role::Admin);
    let resp = stack
        .http
        .post(format!("{}/component/register", stack.api_url()))
        .bearer_auth(&admin)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (code, body) = stack
        .post("/component/register", &admin, &json!({"appid": "wx1"}))
        .await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = stack
        .post(
            "/component/register",
            &admin,
            &json!({"appid": "wx1", "appsecret": "x", "token": "t", "encodingAesKey": "k"}),
        )
        .await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("appid"));
    let big = json!({"appid": "x".repeat(70 * 1024)});
    assert_eq!(stack.post("/component/register", &admin, &big).await.0, 413);
    assert_eq!(stack.get("/authorizer/list?limit=0", &admin).await.0, 400);
    assert_eq!(
        stack
            .get(
                "/authorizer/info?authorizerAppid=wx9999999999999999",
                &admin
            )
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn no_secret_or_token_value_appears_in_any_log() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    stack.authorize_new().await;
    let logs = stack.logs();
    assert!(logs.contains("push processed"), "logs were captured");
    let mut secrets: Vec<String> = ["appsecret", "token", "encodingAesKey"]
        .iter()
        .map(|k| stack.component[k].as_str().unwrap().to_owned())
        .collect();
    for item in stack.partition_items(&pk(&stack.component_appid())).await {
        for attr in ["token", "refresh_token", "ticket"] {
            secrets.extend(s(&item, attr));
        }
    }
    secrets.push(String::from_utf8(stack.jwt_key.clone()).unwrap());
    assert!(secrets.len() > 5);
    for secret in secrets {
        assert!(
            !logs.contains(&secret),
            "a secret value appears in the logs"
        );
    }
}

#[tokio::test]
async fn wechat_quota_45009_is_a_clear_429_and_changes_nothing() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let comp = pk(&stack.component_appid());
    let before = stack
        .item(&comp, &format!("TOKEN#AUTHZ#{appid}"))
        .await
        .unwrap();
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "getaccountbasicinfo", "errcode": 45009, "times": 1}),
        )
        .await;
    let (code, body) = stack
        .get(
            &format!("/authorizer/info?authorizerAppid={appid}"),
            &stack.token(Role::Developer),
        )
        .await;
    stack.clear_faults().await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["error"]["code"], "WECHAT_QUOTA_EXCEEDED");
    assert_eq!(body["error"]["wechatErrcode"], 45009);
    assert_eq!(
        stack
            .item(&comp, &format!("TOKEN#AUTHZ#{appid}"))
            .await
            .unwrap(),
        before,
        "token untouched"
    );
}

#[tokio::test]
async fn an_expired_ticket_61005_is_a_clear_503_and_releases_the_refresh_lease() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let appid = stack.authorize_new().await;
    let comp = pk(&stack.component_appid());
    stack
        .set_number(&comp, "TOKEN#COMPONENT", "expires_at", 1)
        .await;
    stack
        .set_number(&comp, &format!("TOKEN#AUTHZ#{appid}"), "expires_at", 1)
        .await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "api_component_token", "errcode": 61005, "times": 1}),
        )
        .await;
    let path = format!("/authorizer/info?authorizerAppid={appid}");
    let (code, body) = stack.get(&path, &stack.token(Role::Developer)).await;
    stack.clear_faults().await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "VERIFY_TICKET_REJECTED");
    assert_eq!(body["error"]["wechatErrcode"], 61005);
    for sk in ["TOKEN#COMPONENT".to_owned(), format!("TOKEN#AUTHZ#{appid}")] {
        let item = stack.item(&comp, &sk).await.unwrap();
        assert!(
            !item.contains_key("lease_owner"),
            "{sk}: lease released, so the next caller can refresh"
        );
    }
    // With WeChat answering again, the same call succeeds at once.
    let (code, body) = stack.get(&path, &stack.token(Role::Developer)).await;
    assert_eq!(code, 200, "{body}");
}
