//! Basic information, black-box: a merchant reads and changes its mini-program's signature, asks for a new name
//! (WeChat reviews it and pushes the decision) and manages its categories (one needing a qualification goes to
//! review); WeChat's limits are clear errors; operators edit only while the merchant hosts it with the provider.
use serde_json::{json, Value};
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

async fn info(stack: &Stack, token: &str, appid: &str) -> Value {
    let (code, out) = stack
        .get(&format!("/basicinfo?maAppId={appid}"), token)
        .await;
    assert_eq!(code, 200, "{out}");
    out
}

async fn categories(stack: &Stack, token: &str, appid: &str) -> Vec<Value> {
    let (code, out) = stack
        .get(&format!("/category/list?maAppId={appid}"), token)
        .await;
    assert_eq!(code, 200, "{out}");
    out["categories"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_merchant_changes_its_signature_name_and_categories_within_wechats_limits() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("namer")).await;
    let before = info(&stack, &token, &appid).await;
    assert!(
        before["nickname"].as_str().unwrap().starts_with("Shop "),
        "{before}"
    );

    // Signature: WeChat's words and its monthly limit.
    let sig = |s: &str| json!({"maAppId": appid, "signature": s});
    let (code, out) = stack
        .post("/basicinfo/signature", &token, &sig("Tea by the lake"))
        .await;
    assert_eq!(code, 200, "{out}");
    let now = info(&stack, &token, &appid).await;
    assert_eq!(
        (now["signature"].as_str(), &now["signatureChanges"]["used"]),
        (Some("Tea by the lake"), &json!(1))
    );
    let (code, out) = stack
        .post("/basicinfo/signature", &token, &sig("abc"))
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "4 to 120");
    let (code, out) = stack
        .post("/basicinfo/signature", &token, &sig("forbidden words here"))
        .await;
    assert_refused(code, &out, 400, "WECHAT_REFUSED_INPUT", "53201");
    for i in 0..4 {
        let (code, out) = stack
            .post(
                "/basicinfo/signature",
                &token,
                &sig(&format!("Tea, take {i}")),
            )
            .await;
        assert_eq!(code, 200, "{out}");
    }
    let (code, out) = stack
        .post("/basicinfo/signature", &token, &sig("One too many"))
        .await;
    assert_refused(code, &out, 429, "WECHAT_CHANGE_LIMIT", "53200");

    // Name: reviewed by WeChat, one review at a time, settled by its push.
    let name = unique("Lake Tea");
    let (code, asked) = stack
        .post(
            "/basicinfo/nickname",
            &token,
            &json!({"maAppId": appid, "nickname": name}),
        )
        .await;
    assert_eq!(
        (code, asked["state"].as_str()),
        (202, Some("auditing")),
        "{asked}"
    );
    let (code, out) = stack
        .post(
            "/basicinfo/nickname",
            &token,
            &json!({"maAppId": appid, "nickname": unique("Other")}),
        )
        .await;
    assert_refused(code, &out, 409, "WECHAT_STATE_CONFLICT", "91019");
    let decided = stack
        .sandbox(
            "/control/nickname/decide",
            json!({"appid": appid, "result": "pass"}),
        )
        .await;
    assert_eq!(decided["delivered"], true, "{decided}");
    let now = info(&stack, &token, &appid).await;
    assert_eq!(now["nickname"], name.as_str());
    assert_eq!(now["nameChange"]["state"], "approved", "{now}");
    // Another account's name is refused before WeChat's review.
    let (other_token, other) = stack.decorated(&unique("namer-two")).await;
    let taken = info(&stack, &other_token, &other).await["nickname"].clone();
    let (code, out) = stack
        .post(
            "/basicinfo/nickname",
            &token,
            &json!({"maAppId": appid, "nickname": taken}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "verified name");

    // Categories: one that needs a qualification goes to review, cannot be deleted meanwhile, and is settled.
    let first = categories(&stack, &token, &appid).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["state"], "approved");
    let cosmetics = |certs: Value| json!({"maAppId": appid, "categories": [{"first": 304, "second": 306, "certificates": certs}]});
    let (code, out) = stack
        .post("/category/add", &token, &cosmetics(json!([])))
        .await;
    assert_refused(code, &out, 400, "WECHAT_REFUSED_INPUT", "53303");
    let (code, out) = stack
        .post(
            "/category/add",
            &token,
            &cosmetics(json!([{"key": "licence", "value": "media-1"}])),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    let added = out["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["second"] == 306)
        .unwrap()
        .clone();
    assert_eq!(added["state"], "auditing", "{out}");
    let (code, out) = stack
        .post(
            "/category/delete",
            &token,
            &json!({"maAppId": appid, "first": 304, "second": 306}),
        )
        .await;
    assert_refused(code, &out, 409, "WECHAT_STATE_CONFLICT", "53308");
    let pushed = stack
        .sandbox(
            "/control/category/decide",
            json!({"appid": appid, "first": 304, "second": 306, "result": "pass"}),
        )
        .await;
    assert_eq!(pushed["delivered"], true, "{pushed}");
    let now = categories(&stack, &token, &appid).await;
    assert!(
        now.iter()
            .any(|c| c["second"] == 306 && c["state"] == "approved"),
        "{now:?}"
    );
    let (code, out) = stack
        .post(
            "/category/add",
            &token,
            &json!({"maAppId": appid, "categories": [{"first": 220, "second": 221}]}),
        )
        .await;
    assert_refused(code, &out, 409, "WECHAT_STATE_CONFLICT", "53304");
    let (code, out) = stack
        .post(
            "/category/delete",
            &token,
            &json!({"maAppId": appid, "first": 304, "second": 306}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["categories"].as_array().unwrap().len(), 1);

    // Operators edit only a hosted mini-program; other merchants and other roles not at all.
    let op = stack.token(Role::Operator);
    let (code, out) = stack
        .post("/basicinfo/signature", &op, &sig("By the provider"))
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "hosting");
    let (code, _) = stack
        .post("/hosting/start", &token, &json!({"maAppId": appid}))
        .await;
    assert_eq!(code, 200);
    let (code, out) = stack.get(&format!("/basicinfo?maAppId={appid}"), &op).await;
    assert_eq!(code, 200, "{out}");
    let stranger = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let (code, out) = stack
        .get(&format!("/category/list?maAppId={appid}"), &stranger)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    for role in [Role::Developer, Role::Admin] {
        let (code, out) = stack
            .get(&format!("/basicinfo?maAppId={appid}"), &stack.token(role))
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let (code, out) = stack
        .post(
            "/basicinfo/nickname",
            &token,
            &json!({"maAppId": appid, "nickname": "x"}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "2 to 30");
    let (code, out) = stack
        .post(
            "/category/add",
            &token,
            &json!({"maAppId": appid, "categories": []}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "1 to 5");
}

#[tokio::test]
async fn a_new_head_image_goes_through_a_presigned_upload_and_wechats_temporary_media() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("painter")).await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7u8; 300]);

    let upload = |bytes: Vec<u8>| {
        let (stack, token, appid) = (&stack, token.clone(), appid.clone());
        async move {
            let (code, slot) = stack
                .post(
                    "/basicinfo/avatar/upload-url",
                    &token,
                    &json!({"maAppId": appid, "contentType": "image/png", "size": bytes.len()}),
                )
                .await;
            assert_eq!(code, 200, "{slot}");
            let put = stack
                .http
                .put(slot["uploadUrl"].as_str().unwrap())
                .header("Content-Type", "image/png")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert!(put.status().is_success(), "{}", put.status());
            slot["key"].as_str().unwrap().to_owned()
        }
    };
    let key = upload(png.clone()).await;
    let set = json!({"maAppId": appid, "key": key, "crop": [0.0, 0.0, 1.0, 1.0]});
    let (code, out) = stack.post("/basicinfo/avatar", &token, &set).await;
    assert_eq!((code, out["changed"].as_bool()), (200, Some(true)), "{out}");
    let now = info(&stack, &token, &appid).await;
    assert!(
        now["headImageUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{now}"
    );

    // Not an image, nothing uploaded, another mini-program's key, a bad crop: refused before WeChat.
    let text = upload(b"not an image at all".to_vec()).await;
    let (code, out) = stack
        .post(
            "/basicinfo/avatar",
            &token,
            &json!({"maAppId": appid, "key": text}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "not a PNG or JPEG");
    let missing = format!("{}x.png", key.rsplit_once('/').unwrap().0.to_owned() + "/");
    let (code, out) = stack
        .post(
            "/basicinfo/avatar",
            &token,
            &json!({"maAppId": appid, "key": missing}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "nothing was uploaded");
    let (code, out) = stack
        .post(
            "/basicinfo/avatar",
            &token,
            &json!({"maAppId": appid, "key": "avatars/other/wx1/a.png"}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "key must be");
    let (code, out) = stack
        .post(
            "/basicinfo/avatar",
            &token,
            &json!({"maAppId": appid, "key": key, "crop": [0.5, 0.0, 0.2, 1.0]}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "crop");
    let (code, out) = stack
        .post(
            "/basicinfo/avatar/upload-url",
            &token,
            &json!({"maAppId": appid, "contentType": "image/gif", "size": 10}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "contentType");

    // Five changes a year at WeChat: the sixth is a clear 429.
    for _ in 0..4 {
        let (code, out) = stack.post("/basicinfo/avatar", &token, &set).await;
        assert_eq!(code, 200, "{out}");
    }
    let (code, out) = stack.post("/basicinfo/avatar", &token, &set).await;
    assert_refused(code, &out, 429, "WECHAT_CHANGE_LIMIT", "53202");
    let stranger = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let (code, out) = stack.post("/basicinfo/avatar", &stranger, &set).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
}

#[tokio::test]
async fn the_category_catalogue_new_qualifications_and_a_lost_name_push_settled_by_asking_wechat() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("catalogue")).await;
    let (code, all) = stack
        .get(&format!("/category/all?maAppId={appid}"), &token)
        .await;
    assert_eq!(code, 200, "{all}");
    let retail = all["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Retail")
        .expect("Retail is offered")
        .clone();
    let cosmetics = retail["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == 306)
        .unwrap()
        .clone();
    assert_eq!(cosmetics["needsQualification"], true, "{retail}");

    // A rejected category gets new qualifications and goes to review again; an approved one cannot be modified.
    let cert = json!([{"key": "licence", "value": "media-1"}]);
    let (code, out) = stack
        .post("/category/add", &token, &json!({"maAppId": appid, "categories": [{"first": 304, "second": 306, "certificates": cert}]}))
        .await;
    assert_eq!(code, 200, "{out}");
    stack
        .sandbox("/control/category/decide", json!({"appid": appid, "first": 304, "second": 306, "result": "fail", "reason": "blurred"}))
        .await;
    let now = categories(&stack, &token, &appid).await;
    let rejected = now.iter().find(|c| c["second"] == 306).unwrap();
    assert_eq!(
        (rejected["state"].as_str(), rejected["reason"].as_str()),
        (Some("rejected"), Some("blurred"))
    );
    let modify = |second: i64| {
        json!({"maAppId": appid, "first": if second == 306 { 304 } else { 220 }, "second": second,
                                      "certificates": [{"key": "licence", "value": "media-2"}]})
    };
    let (code, out) = stack.post("/category/modify", &token, &modify(221)).await;
    assert_refused(code, &out, 409, "WECHAT_STATE_CONFLICT", "53307");
    let (code, out) = stack.post("/category/modify", &token, &modify(306)).await;
    assert_eq!(code, 200, "{out}");
    let again = out["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["second"] == 306)
        .unwrap()
        .clone();
    assert_eq!(again["state"], "auditing");

    // The name decision's push is lost: asking for the name change settles it from WeChat.
    let name = unique("Quiet Tea");
    let (code, out) = stack
        .post(
            "/basicinfo/nickname",
            &token,
            &json!({"maAppId": appid, "nickname": name}),
        )
        .await;
    assert_eq!(code, 202, "{out}");
    let decided = stack
        .sandbox(
            "/control/nickname/decide",
            json!({"appid": appid, "result": "fail", "reason": "too plain", "push": false}),
        )
        .await;
    assert_eq!(decided["pushed"], false, "{decided}");
    let (code, change) = stack
        .get(&format!("/basicinfo/nickname?maAppId={appid}"), &token)
        .await;
    assert_eq!(code, 200, "{change}");
    assert_eq!(
        (change["state"].as_str(), change["reason"].as_str()),
        (Some("rejected"), Some("too plain"))
    );
    let (code, out) = stack
        .get(
            &format!("/basicinfo/nickname?maAppId={appid}"),
            &stack.token_for_user(Role::Merchant, &unique("x")),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
}
