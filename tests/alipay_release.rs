//! Seed 004's version management through the product's own routes, black-box against the Alipay sandbox: an Alipay
//! mini-program is decorated and released like a WeChat one (`/config/save`, `/code/*`), the platform chosen by the
//! mini-program. Upload from the template with the saved config as ext, Alipay's build, the experience QR code,
//! audit, a rejection notified with its reason, back to development, resubmission, pass, gray, online, rollback,
//! offline; a lost write reconciled by the sweep; and the refusals.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, unique, Stack};
use wxtpl::http::auth::Role;

/// The stack's Alipay application registered, and a merchant's mini-program authorized through its consent link:
/// (merchant token, mini-program id).
async fn authorized_merchant(stack: &Stack) -> (String, String) {
    let keys = stack.alipay_app();
    let (code, out) = stack
        .post("/alipay/app/register", &stack.token(Role::Admin), &keys)
        .await;
    assert!(code == 200 || code == 201, "{out}");
    let merchant = stack.token_for_user(Role::Merchant, &unique("ali-release"));
    let (_, mini_app_id) = stack.alipay_consent(&merchant).await;
    // Alipay audits only a mini-program with a service phone or e-mail.
    let base = json!({"miniAppId": mini_app_id, "servicePhone": "0571-88886666"});
    let (code, out) = stack
        .post("/alipay/baseinfo/modify", &merchant, &base)
        .await;
    assert_eq!(code, 200, "{out}");
    (merchant, mini_app_id)
}

/// A published industry template whose Alipay mini-programs build from a new sandbox template: (our id, Alipay's).
async fn alipay_template(stack: &Stack, with_alipay: bool) -> (String, String) {
    let (dev, ops) = (stack.token(Role::Developer), stack.token(Role::Operator));
    let alipay_id = format!("2021{:012}", wxtpl::clock::now_millis() % 1_000_000_000_000);
    stack
        .alipay_sandbox(
            "/control/template",
            json!({"templateId": alipay_id, "version": "0.0.1"}),
        )
        .await;
    let draft = stack.sandbox("/control/drafts", json!({})).await["draft_id"]
        .as_i64()
        .unwrap();
    let body = json!({"draftId": draft, "industryId": "retail", "industryName": "Retail", "config": {"theme": "blue"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": true}}]});
    let (code, out) = stack.post("/draft/release", &dev, &body).await;
    assert_eq!(code, 201, "{out}");
    let id = out["template"]["id"].as_str().unwrap().to_owned();
    let mut version = 1;
    if with_alipay {
        let update = json!({"id": id, "version": 1, "alipay": {"templateId": alipay_id}});
        let (code, out) = stack.post("/template/update", &dev, &update).await;
        assert_eq!(code, 200, "{out}");
        assert_eq!(out["template"]["alipay"]["templateId"], alipay_id, "{out}");
        version = 2;
    }
    let (code, out) = stack
        .post(
            "/template/handover",
            &dev,
            &json!({"id": id, "version": version}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = stack
        .post(
            "/template/release",
            &ops,
            &json!({"id": id, "version": version + 1}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    (id, alipay_id)
}

async fn save(stack: &Stack, token: &str, mini_app_id: &str, template: &str, config: Value) {
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={mini_app_id}"), token)
        .await;
    let mut body = json!({"maAppId": mini_app_id, "templateId": template, "config": config,
                          "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": true}}]});
    if let Some(v) = now["userTemplate"]["version"].as_i64() {
        body["version"] = json!(v);
    }
    let (code, out) = stack.post("/config/save", token, &body).await;
    assert_eq!(code, 200, "{out}");
}

/// `/code/release`, then the sweep until the build ended and the version went to audit.
async fn released_for_audit(stack: &Stack, token: &str, mini_app_id: &str, version: &str) -> Value {
    let body = json!({"maAppId": mini_app_id, "userVersion": version});
    let (code, out) = stack.post("/code/release", token, &body).await;
    assert_eq!(code, 200, "{out}");
    if out["state"] == "building" {
        for _ in 0..20 {
            stack.invoke("release-sweep").await;
            if stack.release_state(token, mini_app_id).await == "auditing" {
                return out;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }
    assert_eq!(out["state"], "auditing", "{out}");
    out
}

/// Waits for Alipay's notification to move the release to `state`.
async fn settled(stack: &Stack, token: &str, mini_app_id: &str, state: &str) -> Value {
    for _ in 0..50 {
        let (_, now) = stack
            .get(&format!("/config/query?maAppId={mini_app_id}"), token)
            .await;
        if now["userTemplate"]["releaseState"] == state {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the release of {mini_app_id} never became {state}");
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0D, 0x49, 0x44, 0x41, 0x54,
    0x78, 0xDA, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0, 0x05, 0, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D,
    0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// An image uploaded for the mini-program through its presigned URL: its key.
async fn uploaded(stack: &Stack, token: &str, app: &str, purpose: &str, bytes: &[u8]) -> String {
    let body = json!({"miniAppId": app, "purpose": purpose, "contentType": "image/png", "size": bytes.len()});
    let (code, out) = stack.post("/alipay/image/upload-url", token, &body).await;
    assert_eq!(code, 200, "{out}");
    let put = stack
        .http
        .put(out["uploadUrl"].as_str().unwrap())
        .header("Content-Type", "image/png")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    out["key"].as_str().unwrap().to_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    wxtpl::domain::ids::hex_lower(&Sha256::digest(bytes))
}

fn status_of(versions: &Value, version: &str) -> String {
    versions[version]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn seed_004_versions_go_from_template_to_online_and_back_through_the_release_routes() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app) = authorized_merchant(&stack).await;
    let (template, _) = alipay_template(&stack, true).await;
    save(
        &stack,
        &merchant,
        &app,
        &template,
        json!({"theme": "green"}),
    )
    .await;

    // Upload with the saved config as ext, built, experience QR code kept, submitted.
    // A logo for the base info, and screenshots for the audit, uploaded to S3 and sent on from there.
    let logo = uploaded(&stack, &merchant, &app, "logo", PNG).await;
    let body = json!({"miniAppId": app, "appLogo": logo});
    let (code, out) = stack
        .post("/alipay/baseinfo/modify", &merchant, &body)
        .await;
    assert_eq!(code, 200, "{out}");
    assert!(
        out["alipay"]["app_logo"]
            .as_str()
            .unwrap()
            .contains("/logo/"),
        "{out}"
    );
    let mut second = PNG.to_vec();
    second.extend_from_slice(b"second");
    let shots = [
        uploaded(&stack, &merchant, &app, "screenshot", PNG).await,
        uploaded(&stack, &merchant, &app, "screenshot", &second).await,
    ];

    // Upload with the saved config as ext, built, experience QR code kept, submitted with the screenshots.
    let body = json!({"maAppId": app, "userVersion": "0.0.1",
                      "alipay": {"screenshots": shots, "regionType": "CHINA", "appCategoryIds": ["20_21"]}});
    let (code, out) = stack.post("/code/release", &merchant, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["codeCommitInfo"]["platform"], "alipay", "{out}");
    if out["state"] == "building" {
        stack.invoke("release-sweep").await;
    }
    assert_eq!(stack.release_state(&merchant, &app).await, "auditing");
    let at_alipay = stack.alipay_versions(&app).await;
    assert_eq!(status_of(&at_alipay, "0.0.1"), "AUDITING", "{at_alipay}");
    assert_eq!(
        at_alipay["0.0.1"]["ext"]["ext"]["theme"], "green",
        "{at_alipay}"
    );
    assert!(at_alipay["0.0.1"]["ext"]["extPages"]["pages/home/index"]["banner"] == true);
    assert_eq!(
        at_alipay["0.0.1"]["screenshots"],
        json!([sha256_hex(PNG), sha256_hex(&second)]),
        "{at_alipay}"
    );
    assert_eq!(
        (
            &at_alipay["0.0.1"]["region"],
            &at_alipay["0.0.1"]["categories"]
        ),
        (&json!("CHINA"), &json!("20_21"))
    );
    let (code, qr) = stack
        .get(&format!("/code/qrcode?maAppId={app}"), &merchant)
        .await;
    assert_eq!(code, 200, "{qr}");
    let png = stack
        .http
        .get(qr["qrCodeUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));

    // Alipay rejects with a reason, notified: the audit settles with it.
    stack
        .alipay_sandbox(
            "/control/audit/decide",
            json!({"miniAppId": app, "result": "reject", "reason": "首页截图与描述不符"}),
        )
        .await;
    let now = settled(&stack, &merchant, &app, "rejected").await;
    assert_eq!(
        now["userTemplate"]["auditReason"], "首页截图与描述不符",
        "{now}"
    );
    let (code, versions) = stack
        .get(&format!("/code/versions?maAppId={app}"), &merchant)
        .await;
    assert_eq!(code, 200, "{versions}");
    assert_eq!(
        (
            &versions["trial"]["status"],
            &versions["trial"]["reject_reason"]
        ),
        (&json!("AUDIT_REJECT"), &json!("首页截图与描述不符")),
        "{versions}"
    );

    // Fixed and released again: the rejected version goes back to development first.
    save(&stack, &merchant, &app, &template, json!({"theme": "red"})).await;
    released_for_audit(&stack, &merchant, &app, "0.0.2").await;
    let at_alipay = stack.alipay_versions(&app).await;
    assert_eq!(
        (
            status_of(&at_alipay, "0.0.1"),
            status_of(&at_alipay, "0.0.2")
        ),
        ("INIT".to_owned(), "AUDITING".to_owned()),
        "{at_alipay}"
    );
    assert_eq!(at_alipay["0.0.2"]["ext"]["ext"]["theme"], "red");
    stack
        .alipay_sandbox(
            "/control/audit/decide",
            json!({"miniAppId": app, "result": "pass"}),
        )
        .await;
    settled(&stack, &merchant, &app, "passed").await;

    // Gray: 20 % becomes Alipay's p30; it only grows.
    let (code, out) = stack
        .post(
            "/code/gray",
            &merchant,
            &json!({"maAppId": app, "percentage": 20}),
        )
        .await;
    assert_eq!((code, &out["percentage"]), (200, &json!(30)), "{out}");
    assert_eq!(
        stack.alipay_versions(&app).await["0.0.2"]["grayStrategy"],
        "p30"
    );
    let (code, out) = stack
        .post(
            "/code/gray",
            &merchant,
            &json!({"maAppId": app, "percentage": 10}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "only grow");
    let (code, out) = stack
        .post(
            "/code/gray",
            &merchant,
            &json!({"maAppId": app, "percentage": 80}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "50");

    // Online for everyone.
    let (code, out) = stack
        .post("/code/publish", &merchant, &json!({"maAppId": app}))
        .await;
    assert_eq!((code, &out["state"]), (200, &json!("released")), "{out}");
    assert_eq!(
        status_of(&stack.alipay_versions(&app).await, "0.0.2"),
        "RELEASE"
    );

    // A third version online, then rolled back: 0.0.2 returns.
    save(&stack, &merchant, &app, &template, json!({"theme": "gold"})).await;
    released_for_audit(&stack, &merchant, &app, "0.0.3").await;
    stack
        .alipay_sandbox(
            "/control/audit/decide",
            json!({"miniAppId": app, "result": "pass"}),
        )
        .await;
    settled(&stack, &merchant, &app, "passed").await;
    let (code, out) = stack
        .post("/code/publish", &merchant, &json!({"maAppId": app}))
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = stack
        .post("/code/rollback", &merchant, &json!({"maAppId": app}))
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["releaseInfo"]["release_version"], "0.0.2", "{out}");
    let at_alipay = stack.alipay_versions(&app).await;
    assert_eq!(
        (
            status_of(&at_alipay, "0.0.2"),
            status_of(&at_alipay, "0.0.3")
        ),
        ("RELEASE".to_owned(), "OFFLINE".to_owned())
    );
    let (code, versions) = stack
        .get(&format!("/code/versions?maAppId={app}"), &merchant)
        .await;
    assert_eq!(code, 200, "{versions}");
    assert_eq!(versions["online"]["app_version"], "0.0.2", "{versions}");

    // Offline: visits closed takes the online version off Alipay; it does not come back by opening.
    let body = json!({"maAppId": app, "action": "close"});
    let (code, out) = stack.post("/code/visit-status", &merchant, &body).await;
    assert_eq!(
        (code, &out["accessStatus"]),
        (200, &json!("close")),
        "{out}"
    );
    assert_eq!(
        status_of(&stack.alipay_versions(&app).await, "0.0.2"),
        "OFFLINE"
    );
    let body = json!({"maAppId": app, "action": "open"});
    let (code, out) = stack.post("/code/visit-status", &merchant, &body).await;
    assert_refused(code, &out, 409, "CONFLICT", "release a version");

    // The Alipay listing shows where the release stands.
    let (code, listed) = stack.get("/alipay/miniprogram/list", &merchant).await;
    assert_eq!(code, 200, "{listed}");
    let row = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["miniAppId"] == app)
        .cloned()
        .unwrap();
    assert_eq!(
        (&row["releaseState"], &row["templateId"]),
        (&json!("released"), &json!(template)),
        "{row}"
    );
    assert_eq!(row["trialVersion"], "0.0.3", "{row}");

    // One history, in the same events as WeChat's.
    let kinds = stack.event_types(&app).await;
    for kind in [
        "CodeCommitted",
        "AuditSubmitted",
        "AuditRejected",
        "AuditPassed",
        "CodeGrayReleased",
        "CodeReleased",
        "CodeRolledBack",
        "VisitStatusChanged",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
}

#[tokio::test]
async fn alipay_releases_refuse_strangers_bad_input_twins_and_failed_builds() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app) = authorized_merchant(&stack).await;
    let (template, _) = alipay_template(&stack, true).await;

    // Nothing saved yet.
    let release = json!({"maAppId": app, "userVersion": "1.0.0"});
    let (code, out) = stack.post("/code/release", &merchant, &release).await;
    assert_refused(code, &out, 409, "CONFLICT", "save a config");
    save(&stack, &merchant, &app, &template, json!({"theme": "blue"})).await;

    // Someone else's mini-program is as missing as one that does not exist; operators do not decorate it.
    let stranger = stack.token_for_user(Role::Merchant, &unique("ali-stranger"));
    let (code, out) = stack.post("/code/release", &stranger, &release).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let (code, out) = stack
        .get(&format!("/config/query?maAppId={app}"), &stranger)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let (code, out) = stack
        .get(
            &format!("/config/query?maAppId={app}"),
            &stack.token(Role::Operator),
        )
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "decorated by its merchant");
    let (code, out) = stack
        .post("/code/release", &stack.token(Role::Developer), &release)
        .await;
    assert_eq!(code, 403, "{out}");
    // Images: only PNG or JPEG, within 4 MB, for one's own mini-program; keys of this mini-program, uploaded.
    for (bad, mentions) in [
        (
            json!({"miniAppId": app, "purpose": "banner", "contentType": "image/png", "size": 10}),
            "purpose",
        ),
        (
            json!({"miniAppId": app, "purpose": "logo", "contentType": "image/gif", "size": 10}),
            "contentType",
        ),
        (
            json!({"miniAppId": app, "purpose": "logo", "contentType": "image/png", "size": 5_000_000}),
            "size",
        ),
    ] {
        let (code, out) = stack
            .post("/alipay/image/upload-url", &merchant, &bad)
            .await;
        assert_refused(code, &out, 400, "BAD_REQUEST", mentions);
    }
    let mine = json!({"miniAppId": app, "purpose": "logo", "contentType": "image/png", "size": 10});
    let (code, out) = stack
        .post("/alipay/image/upload-url", &stranger, &mine)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let (code, _) = stack
        .post(
            "/alipay/image/upload-url",
            &stack.token(Role::Developer),
            &mine,
        )
        .await;
    assert_eq!(code, 403);
    let images = format!("alipay-images/{}", stack.component_appid());
    let foreign = format!("{images}/2021009999999999/screenshot/x.png");
    let body =
        json!({"maAppId": app, "userVersion": "1.0.0", "alipay": {"screenshots": [foreign]}});
    let (code, out) = stack.post("/code/release", &merchant, &body).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "screenshot");
    let missing = format!("{images}/{app}/screenshot/never.png");
    let body =
        json!({"maAppId": app, "userVersion": "1.0.0", "alipay": {"screenshots": [missing]}});
    let (code, out) = stack.post("/code/release", &merchant, &body).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "nothing was uploaded");
    let logo = json!({"miniAppId": app, "appLogo": format!("{images}/{app}/screenshot/x.png")});
    let (code, out) = stack
        .post("/alipay/baseinfo/modify", &merchant, &logo)
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "logo");
    assert_eq!(stack.release_state(&merchant, &app).await, "saved");
    let (wx_token, wx_app) = stack.decorated(&unique("wx-shots")).await;
    let body = json!({"maAppId": wx_app, "userVersion": "1.0.0", "alipay": {"screenshots": ["x"]}});
    let (code, out) = stack.post("/code/release", &wx_token, &body).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "WeChat");
    for (bad, mentions) in [
        (json!({"regionType": "LOCATION"}), "regionType"),
        (json!({"appCategoryIds": ["food"]}), "appCategoryIds"),
        (
            json!({"screenshots": ["a", "b", "c", "d", "e", "f"]}),
            "screenshots",
        ),
    ] {
        let body = json!({"maAppId": app, "userVersion": "1.0.0", "alipay": bad});
        let (code, out) = stack.post("/code/release", &merchant, &body).await;
        assert_refused(code, &out, 400, "BAD_REQUEST", mentions);
    }

    // A WeChat-only route says so.
    let (code, out) = stack
        .get(&format!("/tester/list?maAppId={app}"), &merchant)
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "Alipay mini-program");

    // Alipay's version form and description length, checked before anything is sent.
    for (bad, mentions) in [
        (json!({"maAppId": app, "userVersion": "1.0"}), "userVersion"),
        (
            json!({"maAppId": app, "userVersion": "1.0.0", "userDesc": "too short"}),
            "userDesc",
        ),
    ] {
        let (code, out) = stack.post("/code/release", &merchant, &bad).await;
        assert_refused(code, &out, 400, "BAD_REQUEST", mentions);
    }
    assert!(stack
        .alipay_versions(&app)
        .await
        .as_object()
        .is_none_or(|v| v.is_empty()));

    // The same release twice at once: one upload reaches Alipay, the other is told so.
    let (a, b) = tokio::join!(
        stack.post("/code/release", &merchant, &release),
        stack.post("/code/release", &merchant, &release)
    );
    let codes = [a.0, b.0];
    assert!(codes.contains(&200) && codes.contains(&409), "{a:?} {b:?}");
    let at_alipay = stack.alipay_versions(&app).await;
    assert_eq!(at_alipay.as_object().unwrap().len(), 1, "{at_alipay}");
    // No speed-up on Alipay; a second release while the audit runs is refused.
    let (code, out) = stack
        .post("/code/audit/speedup", &merchant, &json!({"maAppId": app}))
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "Alipay");
    // A version in audit is not Alipay's to delete; its experience version can be taken back.
    let version = json!({"miniAppId": app, "appVersion": "1.0.0"});
    let (code, out) = stack
        .post("/alipay/version/delete", &merchant, &version)
        .await;
    assert_refused(code, &out, 422, "ALIPAY_REFUSED", "");
    assert_eq!(
        out["error"]["alipaySubCode"], "MINI_APP_VERSION_STATUS_ERROR",
        "{out}"
    );
    let (code, out) = stack
        .post("/alipay/version/experience/cancel", &merchant, &version)
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = stack
        .post("/alipay/version/experience/cancel", &stranger, &version)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let bad = json!({"miniAppId": app, "appVersion": "1.0"});
    let (code, out) = stack.post("/alipay/version/delete", &merchant, &bad).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "appVersion");
    let again = json!({"maAppId": app, "userVersion": "1.0.1"});
    let (code, out) = stack.post("/code/release", &merchant, &again).await;
    assert_refused(code, &out, 409, "CONFLICT", "audit");
    // Withdrawn: back to development at Alipay.
    let (code, out) = stack
        .post("/code/audit/undo", &merchant, &json!({"maAppId": app}))
        .await;
    assert_eq!((code, &out["state"]), (200, &json!("withdrawn")), "{out}");
    assert_eq!(
        status_of(&stack.alipay_versions(&app).await, "1.0.0"),
        "INIT"
    );

    // A lower version than Alipay's latest is Alipay's refusal, told as such; nothing moved.
    let lower = json!({"maAppId": app, "userVersion": "0.9.0"});
    let (code, out) = stack.post("/code/release", &merchant, &lower).await;
    assert_refused(code, &out, 422, "ALIPAY_REFUSED", "");
    assert_eq!(
        out["error"]["alipaySubCode"], "VERSION_HAS_EXISTED",
        "{out}"
    );
    assert_eq!(stack.release_state(&merchant, &app).await, "withdrawn");

    // A build that fails is reported, recorded, and leaves the release free to go again.
    save(
        &stack,
        &merchant,
        &app,
        &template,
        json!({"sandboxBuild": "fail"}),
    )
    .await;
    let failing = json!({"maAppId": app, "userVersion": "1.1.0"});
    let (code, out) = stack.post("/code/release", &merchant, &failing).await;
    assert_refused(code, &out, 409, "CONFLICT", "build");
    assert_eq!(stack.release_state(&merchant, &app).await, "saved");
    assert!(stack
        .event_types(&app)
        .await
        .iter()
        .any(|k| k == "CodeBuildFailed"));
    // The failed build's version is deleted at Alipay; the release record is not about it any more.
    let failed = json!({"miniAppId": app, "appVersion": "1.1.0"});
    let (code, out) = stack
        .post("/alipay/version/delete", &merchant, &failed)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        status_of(&stack.alipay_versions(&app).await, "1.1.0"),
        "DELETED"
    );

    // A template without an Alipay template cannot build an Alipay mini-program.
    let (wechat_only, _) = alipay_template(&stack, false).await;
    save(
        &stack,
        &merchant,
        &app,
        &wechat_only,
        json!({"theme": "blue"}),
    )
    .await;
    let (code, out) = stack
        .post(
            "/code/release",
            &merchant,
            &json!({"maAppId": app, "userVersion": "1.2.0"}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "no Alipay template");
}

#[tokio::test]
async fn an_online_call_whose_answer_was_lost_is_reconciled_by_the_sweep() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app) = authorized_merchant(&stack).await;
    let (template, _) = alipay_template(&stack, true).await;
    save(&stack, &merchant, &app, &template, json!({"theme": "blue"})).await;
    released_for_audit(&stack, &merchant, &app, "1.9.0").await;
    stack
        .alipay_sandbox(
            "/control/audit/decide",
            json!({"miniAppId": app, "result": "pass"}),
        )
        .await;
    settled(&stack, &merchant, &app, "passed").await;
    // A version that passed can be sent back to development (退回开发) instead of going online.
    let (code, out) = stack
        .post("/code/audit/undo", &merchant, &json!({"maAppId": app}))
        .await;
    assert_eq!((code, &out["state"]), (200, &json!("withdrawn")), "{out}");
    assert_eq!(
        status_of(&stack.alipay_versions(&app).await, "1.9.0"),
        "INIT"
    );
    released_for_audit(&stack, &merchant, &app, "2.0.0").await;
    stack
        .alipay_sandbox(
            "/control/audit/decide",
            json!({"miniAppId": app, "result": "pass"}),
        )
        .await;
    settled(&stack, &merchant, &app, "passed").await;

    // Alipay puts the version online but its answer is lost: the release stays `releasing`, nobody else may step.
    stack.alipay_sandbox("/control/faults",
        json!({"method": "alipay.open.mini.version.online", "appId": app, "applied": true, "times": 1}),
    )
    .await;
    let publish = json!({"maAppId": app});
    let (code, out) = stack.post("/code/publish", &merchant, &publish).await;
    assert!(code >= 500, "{code} {out}");
    assert_eq!(stack.release_state(&merchant, &app).await, "releasing");
    assert_eq!(
        status_of(&stack.alipay_versions(&app).await, "2.0.0"),
        "RELEASE"
    );
    let (code, out) = stack.post("/code/publish", &merchant, &publish).await;
    assert_refused(code, &out, 409, "CONFLICT", "releasing");

    // Once the intent is stale, the sweep asks Alipay and records what it did.
    let pk = format!("COMP#{}", stack.component_appid());
    stack
        .set_number(&pk, &format!("UT#{app}"), "intent_started_ms", 0)
        .await;
    stack.invoke("release-sweep").await;
    assert_eq!(stack.release_state(&merchant, &app).await, "released");
    let (_, now) = stack
        .get(&format!("/config/query?maAppId={app}"), &merchant)
        .await;
    assert_eq!(
        now["userTemplate"]["releaseInfo"]["release_version"], "2.0.0",
        "{now}"
    );
    assert!(stack
        .event_types(&app)
        .await
        .iter()
        .any(|k| k == "CodeReleased"));
}

#[tokio::test]
async fn one_batch_releases_a_template_to_five_wechat_and_five_alipay_mini_programs() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (template, _) = alipay_template(&stack, true).await;
    let mut wechat = Vec::new();
    for _ in 0..5 {
        let appid = stack.authorize_new().await;
        stack.existing_privacy_guide(&appid).await;
        wechat.push(appid);
    }
    let mut alipay = Vec::new();
    for _ in 0..5 {
        alipay.push(authorized_merchant(&stack).await.1);
    }
    stack.clear_faults().await;
    stack.sandbox("/control/quota", json!({"rest": 100})).await;
    let pk = format!("COMP#{}", stack.component_appid());
    stack.set_number(&pk, "AUDITQUOTA", "read_ms", 0).await;
    let targets: Vec<&String> = wechat.iter().chain(&alipay).collect();
    let ops = stack.token(Role::Operator);

    // Alipay wants x.y.z versions: a batch naming Alipay mini-programs says so before anything starts.
    let body = json!({"templateId": template, "maAppIds": targets, "userVersion": "v3", "until": "released"});
    let (code, out) = stack.post("/batch/release", &ops, &body).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "x.y.z");

    let body = json!({"templateId": template, "maAppIds": targets, "userVersion": "3.0.0", "until": "released"});
    let (code, out) = stack.post("/batch/release", &ops, &body).await;
    assert_eq!(code, 202, "{out}");
    let batch = out["batchId"].as_str().unwrap().to_owned();
    let auditing = |v: &Value| v["counts"]["auditing"].as_i64().unwrap_or(0);
    stack
        .wait_for_batch(&batch, 90, |v, _| auditing(v) == 10)
        .await;
    for appid in &wechat {
        stack
            .sandbox(
                "/control/audit/decide",
                json!({"appid": appid, "result": "pass"}),
            )
            .await;
    }
    for (i, app) in alipay.iter().enumerate() {
        let decision = if i == 4 {
            json!({"miniAppId": app, "result": "reject", "reason": "类目资质不全"})
        } else {
            json!({"miniAppId": app, "result": "pass"})
        };
        stack
            .alipay_sandbox("/control/audit/decide", decision)
            .await;
    }
    let (view, seen) = stack
        .wait_for_batch(&batch, 90, |v, _| v["state"] == "completed")
        .await;
    assert_eq!(view["counts"]["released"], 9, "{view}");
    assert_eq!(view["counts"]["rejected"], 1, "{view}");
    // Each platform holds the version the batch released, built from each one's own (default) config.
    let wechat_side = stack.sandbox_get("/control/state").await;
    for appid in &wechat {
        assert_eq!(
            seen[appid.as_str()]["state"],
            "released",
            "{}",
            seen[appid.as_str()]
        );
        let side = wechat_side["authorizers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["appid"] == appid.as_str())
            .unwrap();
        assert_eq!(side["releaseVersion"], "3.0.0", "{side}");
    }
    for app in &alipay[..4] {
        assert_eq!(
            seen[app.as_str()]["state"],
            "released",
            "{}",
            seen[app.as_str()]
        );
        let at_alipay = stack.alipay_versions(app).await;
        assert_eq!(status_of(&at_alipay, "3.0.0"), "RELEASE", "{at_alipay}");
        assert_eq!(
            at_alipay["3.0.0"]["ext"]["ext"]["theme"], "blue",
            "{at_alipay}"
        );
    }
    let rejected = &seen[alipay[4].as_str()];
    assert_eq!(
        (&rejected["state"], &rejected["reason"]),
        (&json!("rejected"), &json!("类目资质不全")),
        "{rejected}"
    );
    // However often a step was delivered or retried, each Alipay mini-program got one upload.
    for app in &alipay {
        assert_eq!(
            stack.alipay_versions(app).await.as_object().unwrap().len(),
            1
        );
    }
}

#[tokio::test]
async fn version_housekeeping_refuses_wrong_roles_bad_bodies_and_the_version_being_released() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app) = authorized_merchant(&stack).await;
    let (template, _) = alipay_template(&stack, true).await;
    save(&stack, &merchant, &app, &template, json!({"theme": "tea"})).await;
    let version = json!({"miniAppId": app, "appVersion": "2.0.0"});
    for path in [
        "/alipay/version/delete",
        "/alipay/version/experience/cancel",
    ] {
        // Developers do not touch merchants' versions; admins of the workspace neither.
        for role in [Role::Developer, Role::Admin] {
            let (code, out) = stack.post(path, &stack.token(role), &version).await;
            assert_refused(code, &out, 403, "FORBIDDEN", "");
        }
        // Malformed bodies: missing fields, unknown fields, a version not x.y.z, an id that is not Alipay's.
        for bad in [
            json!({"miniAppId": app}),
            json!({"miniAppId": app, "appVersion": "2.0.0", "extra": 1}),
            json!({"miniAppId": app, "appVersion": "2.0"}),
            json!({"miniAppId": "wx1234567890abcdef", "appVersion": "2.0.0"}),
            json!("not an object"),
        ] {
            let (code, out) = stack.post(path, &merchant, &bad).await;
            assert_eq!(code, 400, "{path} {bad}: {out}");
        }
    }

    // Alipay's build query fails while the release waits: the record stays `building` for the sweep, and the
    // version in the works is not deleted from under it.
    let fault = json!({"method": "alipay.open.mini.version.build.query", "code": "40004",
                       "subCode": "SANDBOX_FAULT", "times": 1});
    stack.alipay_sandbox("/control/faults", fault).await;
    let release = json!({"maAppId": app, "userVersion": "2.0.0"});
    let (code, out) = stack.post("/code/release", &merchant, &release).await;
    assert_refused(code, &out, 422, "ALIPAY_REFUSED", "");
    assert_eq!(stack.release_state(&merchant, &app).await, "building");
    let (code, out) = stack
        .post("/alipay/version/delete", &merchant, &version)
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "being released");
    let at_alipay = status_of(&stack.alipay_versions(&app).await, "2.0.0");
    assert!(
        ["BUILDING", "INIT"].contains(&at_alipay.as_str()),
        "{at_alipay}"
    );
    // The sweep takes the build up again and submits it.
    for _ in 0..20 {
        stack.invoke("release-sweep").await;
        if stack.release_state(&merchant, &app).await == "auditing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    assert_eq!(stack.release_state(&merchant, &app).await, "auditing");
}
