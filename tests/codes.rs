//! Mini-program codes, black-box: `POST /wxacode` makes each of WeChat's three kinds, keeps the image in S3 and answers
//! it again without WeChat; WeChat's refusals (a page not released, the 100,000 cap, a quota) are clear errors and
//! leave nothing stored; wrong roles, other merchants' mini-programs and bad input are refused before WeChat.
use serde_json::json;
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

#[tokio::test]
async fn codes_are_made_kept_and_reused_and_wechats_refusals_store_nothing() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("coder")).await;
    let table = json!({"maAppId": appid, "scene": "table=7", "page": "pages/home/index"});

    // Nothing is released yet: WeChat refuses the page, and no image is kept.
    let (code, out) = stack.post("/wxacode", &token, &table).await;
    assert_refused(code, &out, 409, "PAGE_NOT_RELEASED", "released version");
    assert!(stack.codes_made(&appid).await.is_empty());

    // Unreleased pages are allowed when asked for; the image is a real PNG behind the presigned URL.
    let mut unchecked = table.clone();
    unchecked["checkPath"] = json!(false);
    let (code, first) = stack.post("/wxacode", &token, &unchecked).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(
        (first["kind"].as_str(), first["reused"].as_bool()),
        (Some("unlimited"), Some(false))
    );
    let png = stack.download(&first).await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(png.len() as i64, first["size"].as_i64().unwrap());

    // Asked again, alone and twice at once: the kept image, and WeChat is not asked.
    let (code, again) = stack.post("/wxacode", &token, &unchecked).await;
    assert_eq!(
        (code, again["reused"].as_bool()),
        (200, Some(true)),
        "{again}"
    );
    let (a, b) = tokio::join!(
        stack.post("/wxacode", &token, &unchecked),
        stack.post("/wxacode", &token, &unchecked)
    );
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!(stack.download(&a.1).await, png);
    assert_eq!(stack.codes_made(&appid).await.len(), 1);

    // Once released, the checked page is made; a different scene is a different code.
    stack.published_release(&token, &appid).await;
    let (code, out) = stack.post("/wxacode", &token, &table).await;
    assert_eq!((code, out["reused"].as_bool()), (200, Some(false)), "{out}");
    let mut other_table = table.clone();
    other_table["scene"] = json!("table=8");
    let (code, other) = stack.post("/wxacode", &token, &other_table).await;
    assert_eq!(code, 200, "{other}");
    assert_ne!(stack.download(&other).await, stack.download(&out).await);

    // A path with its query makes a limited code; kind qrcode the ordinary QR code. Each is counted by WeChat.
    let limited = json!({"maAppId": appid, "path": "pages/home/index?table=7"});
    let (code, out) = stack.post("/wxacode", &token, &limited).await;
    assert_eq!(
        (code, out["kind"].as_str()),
        (200, Some("limited")),
        "{out}"
    );
    let (code, out) = stack
        .post(
            "/wxacode",
            &token,
            &json!({"maAppId": appid, "kind": "qrcode", "path": "pages/home/index?table=7", "width": 280}),
        )
        .await;
    assert_eq!((code, out["kind"].as_str()), (200, Some("qrcode")), "{out}");
    let kinds: Vec<String> = stack
        .codes_made(&appid)
        .await
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["unlimited", "unlimited", "unlimited", "limited", "qrcode"]
    );

    // The 100,000 limited codes are used up: a clear 429, nothing kept; the unlimited kind still works.
    stack
        .sandbox("/control/codes", json!({"appid": appid, "used": 100_000}))
        .await;
    let new_path = json!({"maAppId": appid, "path": "pages/home/index?table=9"});
    let (code, out) = stack.post("/wxacode", &token, &new_path).await;
    assert_refused(code, &out, 429, "CODE_LIMIT_REACHED", "100,000");
    let (code, out) = stack.post("/wxacode", &token, &new_path).await;
    assert_eq!(code, 429, "still asks WeChat, nothing was kept: {out}");
    stack
        .sandbox("/control/codes", json!({"appid": appid, "used": 0}))
        .await;

    // WeChat's daily quota answered in place of an image: 429, and the next request makes the code afresh.
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "getwxacode", "appid": appid, "errcode": 45009, "times": 1}),
        )
        .await;
    let (code, out) = stack.post("/wxacode", &token, &new_path).await;
    assert_refused(code, &out, 429, "WECHAT_QUOTA_EXCEEDED", "45009");
    let (code, out) = stack.post("/wxacode", &token, &new_path).await;
    assert_eq!((code, out["reused"].as_bool()), (200, Some(false)), "{out}");

    // The component's operator may ask for the merchant's mini-program; the code it gets is the kept one.
    let (code, out) = stack
        .post("/wxacode", &stack.token(Role::Operator), &table)
        .await;
    assert_eq!((code, out["reused"].as_bool()), (200, Some(true)), "{out}");
}

#[tokio::test]
async fn code_requests_are_refused_for_bad_input_wrong_roles_and_other_merchants_before_wechat() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("coder-refused")).await;
    let bad = [
        (json!({"maAppId": appid, "scene": "x".repeat(33)}), "scene"),
        (json!({"maAppId": appid, "scene": "桌7"}), "scene"),
        (
            json!({"maAppId": appid, "scene": "t", "page": "/pages/home/index"}),
            "page",
        ),
        (
            json!({"maAppId": appid, "scene": "t", "page": "pages/a?x=1"}),
            "query",
        ),
        (
            json!({"maAppId": appid, "scene": "t", "width": 100}),
            "width",
        ),
        (
            json!({"maAppId": appid, "scene": "t", "envVersion": "beta"}),
            "envVersion",
        ),
        (json!({"maAppId": appid}), "path is required"),
        (
            json!({"maAppId": appid, "kind": "qrcode", "path": "p", "isHyaline": true}),
            "QR code",
        ),
        (
            json!({"maAppId": appid, "path": "p", "colour": "red"}),
            "unknown field",
        ),
        (json!({"maAppId": "not an appid", "path": "p"}), "maAppId"),
    ];
    for (body, mentions) in bad {
        let (code, out) = stack.post("/wxacode", &token, &body).await;
        assert_eq!(code, 400, "{body}: {out}");
        assert!(
            out["error"]["message"].as_str().unwrap().contains(mentions),
            "{body}: {out}"
        );
    }
    let big = json!({"maAppId": appid, "path": "x".repeat(70 * 1024)});
    assert_eq!(stack.post("/wxacode", &token, &big).await.0, 413);

    let ok = json!({"maAppId": appid, "path": "pages/home/index?t=1"});
    for role in [Role::Developer, Role::Admin] {
        let (code, out) = stack.post("/wxacode", &stack.token(role), &ok).await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let stranger = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let (code, out) = stack.post("/wxacode", &stranger, &ok).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    let (_, other_admin) = stack.signed_up_tenant("Code Thief").await;
    let (code, out) = stack
        .post(
            &format!("/wxacode?componentAppid={}", stack.component_appid()),
            &other_admin,
            &ok,
        )
        .await;
    assert_eq!(code, 403, "{out}");
    assert!(
        stack.codes_made(&appid).await.is_empty(),
        "WeChat never asked"
    );
}
