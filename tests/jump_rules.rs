//! Ordinary-QR jump rules, black-box: a merchant adds a rule for the links it already prints, gets the verification
//! file, publishes once the file is served and the code is released; WeChat's limits (a prefix another mini-program
//! holds, 100 publishes a month) are clear errors; roles, other merchants and bad input are refused before WeChat.
use serde_json::{json, Value};
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

async fn rules(stack: &Stack, token: &str, appid: &str) -> Value {
    let (code, out) = stack
        .get(&format!("/qrcodejump/list?maAppId={appid}"), token)
        .await;
    assert_eq!(code, 200, "{out}");
    out
}

#[tokio::test]
async fn a_merchant_adds_publishes_and_deletes_a_jump_rule_within_wechats_limits() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("jumper")).await;
    let host = format!("{}.shop.example.com", unique("t").to_lowercase());
    let prefix = format!("https://{host}/table/");
    let rule = json!({"maAppId": appid, "prefix": prefix, "path": "pages/home/index",
                      "debugUrls": [format!("{prefix}7")]});

    let (code, out) = stack.post("/qrcodejump/add", &token, &rule).await;
    assert_eq!(code, 200, "{out}");
    let listed = rules(&stack, &token, &appid).await;
    assert_eq!(
        listed["rules"],
        json!([{"prefix": prefix, "path": "pages/home/index", "permitSubRule": "exclusive",
                "openVersion": "release", "debugUrls": [format!("{prefix}7")], "state": "unpublished"}])
    );
    assert_eq!(listed["publishesLeftThisMonth"], 100);
    // The same prefix twice is WeChat's 409; an edit changes it.
    let (code, out) = stack.post("/qrcodejump/add", &token, &rule).await;
    assert_refused(code, &out, 409, "WECHAT_STATE_CONFLICT", "85071");
    let mut edit = rule.clone();
    edit["edit"] = json!(true);
    edit["openVersion"] = json!("trial");
    let (code, out) = stack.post("/qrcodejump/add", &token, &edit).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        rules(&stack, &token, &appid).await["rules"][0]["openVersion"],
        "trial"
    );

    // Publishing needs the code released, then the verification file served at the domain's root.
    let publish = json!({"maAppId": appid, "prefix": prefix});
    let (code, out) = stack.post("/qrcodejump/publish", &token, &publish).await;
    assert_refused(code, &out, 409, "WECHAT_STATE_CONFLICT", "released version");
    stack.published_release(&token, &appid).await;
    let (code, out) = stack.post("/qrcodejump/publish", &token, &publish).await;
    assert_refused(code, &out, 409, "VERIFY_FILE_NOT_FOUND", "verify-file");
    let (code, file) = stack
        .get(&format!("/qrcodejump/verify-file?maAppId={appid}"), &token)
        .await;
    assert_eq!(code, 200, "{file}");
    assert!(file["fileName"].as_str().unwrap().ends_with(".txt"));
    assert!(!file["fileContent"].as_str().unwrap().is_empty());
    stack
        .sandbox(
            "/control/qrcodejump",
            json!({"appid": appid, "fileHostedAt": host}),
        )
        .await;
    let (code, out) = stack.post("/qrcodejump/publish", &token, &publish).await;
    assert_eq!(
        (code, out["state"].as_str()),
        (200, Some("published")),
        "{out}"
    );
    let listed = rules(&stack, &token, &appid).await;
    assert_eq!(listed["rules"][0]["state"], "published");
    assert_eq!(listed["publishesLeftThisMonth"], 99);

    // Another mini-program cannot take the prefix while this rule holds it.
    let (_, other) = stack.decorated(&unique("jumper-two")).await;
    let mut theirs = rule.clone();
    theirs["maAppId"] = json!(other);
    theirs["debugUrls"] = json!([]);
    let op = stack.token(Role::Operator);
    let (code, out) = stack.post("/qrcodejump/add", &op, &theirs).await;
    assert_refused(
        code,
        &out,
        409,
        "WECHAT_STATE_CONFLICT",
        "another mini-program",
    );

    // 100 publishes a month.
    stack
        .sandbox(
            "/control/qrcodejump",
            json!({"appid": appid, "publishesThisMonth": 100}),
        )
        .await;
    let (code, out) = stack.post("/qrcodejump/publish", &token, &publish).await;
    assert_refused(
        code,
        &out,
        429,
        "JUMP_PUBLISH_QUOTA_EXCEEDED",
        "100 times a month",
    );

    // Deleted, the prefix is free for the other mini-program (added by the component's operator).
    let (code, out) = stack.post("/qrcodejump/delete", &token, &publish).await;
    assert_eq!((code, out["deleted"].as_bool()), (200, Some(true)), "{out}");
    assert_eq!(rules(&stack, &token, &appid).await["rules"], json!([]));
    let (code, out) = stack.post("/qrcodejump/delete", &token, &publish).await;
    assert_refused(code, &out, 400, "WECHAT_REFUSED_INPUT", "85066");
    let (code, out) = stack.post("/qrcodejump/add", &op, &theirs).await;
    assert_eq!(code, 200, "{out}");
}

#[tokio::test]
async fn jump_rule_requests_are_refused_for_bad_input_wrong_roles_and_other_merchants() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("jump-refused")).await;
    let prefix = "https://refused.shop.example.com/t/";
    let bad = [
        (
            json!({"maAppId": appid, "prefix": "shop.example.com/t/", "path": "pages/a"}),
            "https://",
        ),
        (
            json!({"maAppId": appid, "prefix": prefix, "path": "/pages/a"}),
            "leading /",
        ),
        (
            json!({"maAppId": appid, "prefix": prefix, "path": "pages/a", "openVersion": "x"}),
            "openVersion",
        ),
        (
            json!({"maAppId": appid, "prefix": prefix, "path": "pages/a", "debugUrls": ["https://else.example.com/1"]}),
            "must start with the prefix",
        ),
        (json!({"maAppId": appid, "prefix": prefix}), "path"),
        (
            json!({"maAppId": appid, "prefix": prefix, "path": "pages/a", "extra": 1}),
            "unknown field",
        ),
    ];
    for (body, mentions) in bad {
        let (code, out) = stack.post("/qrcodejump/add", &token, &body).await;
        assert_eq!(code, 400, "{body}: {out}");
        assert!(
            out["error"]["message"].as_str().unwrap().contains(mentions),
            "{body}: {out}"
        );
    }
    let (code, out) = stack
        .post(
            "/qrcodejump/publish",
            &token,
            &json!({"maAppId": appid, "prefix": "nope"}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "prefix");
    let big = json!({"maAppId": appid, "prefix": prefix, "path": "x".repeat(70 * 1024)});
    assert_eq!(stack.post("/qrcodejump/add", &token, &big).await.0, 413);

    let ok = json!({"maAppId": appid, "prefix": prefix, "path": "pages/a"});
    for role in [Role::Developer, Role::Admin] {
        let (code, out) = stack.post("/qrcodejump/add", &stack.token(role), &ok).await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
        let (code, out) = stack
            .get(
                &format!("/qrcodejump/list?maAppId={appid}"),
                &stack.token(role),
            )
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let stranger = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let (code, out) = stack.post("/qrcodejump/add", &stranger, &ok).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    let (code, out) = stack
        .get(
            &format!("/qrcodejump/verify-file?maAppId={appid}"),
            &stranger,
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    // Nothing reached WeChat.
    assert_eq!(rules(&stack, &token, &appid).await["rules"], json!([]));
}
