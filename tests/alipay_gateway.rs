//! Alipay's gateway as the product's client meets it, black-box against the local Alipay sandbox: every request
//! signed RSA2 by the provider's application and checked there, every answer signed by the sandbox and checked
//! here; a merchant's authorization exchanged and refreshed; a version built, tried, rejected, sent back to
//! development, passed, grayed, put online, rolled back and taken offline; and the refusals on the way.
use serde_json::{json, Value};
use stack_tests::{serial, Stack};
use wxtpl::alipay::client::{AlipayApp, AlipayClient, AlipayError, Grant, VersionMethod};

struct Alipay {
    client: AlipayClient,
    app: AlipayApp,
    control: String,
    http: reqwest::Client,
}

impl Alipay {
    fn connect(stack: &Stack) -> Self {
        let keys: Value =
            serde_json::from_str(&std::fs::read_to_string(&stack.env["ALIPAY_APP_FILE"]).unwrap())
                .unwrap();
        let text = |k: &str| keys[k].as_str().unwrap().to_owned();
        Alipay {
            client: AlipayClient::new(&stack.env["ALIPAY_GATEWAY"]),
            app: AlipayApp::new(
                &text("appId"),
                &text("privateKey"),
                &text("alipayPublicKey"),
            )
            .unwrap(),
            control: stack.env["ALIPAY_SANDBOX_URL"].clone(),
            http: reqwest::Client::new(),
        }
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.control))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// A merchant mini-program that authorized the application: (its id, its app_auth_token).
    async fn merchant(&self) -> (String, String) {
        let made = self.control("/control/app/create", json!({})).await;
        let code = made["appAuthCode"].as_str().unwrap();
        let tokens = self
            .client
            .token_app(&self.app, Grant::AuthorizationCode(code))
            .await
            .unwrap();
        assert_eq!(tokens["auth_app_id"], made["miniAppId"], "{tokens}");
        (
            made["miniAppId"].as_str().unwrap().to_owned(),
            tokens["app_auth_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn template(&self) -> String {
        let id = format!("2021{:012}", wxtpl::clock::now_millis() % 1_000_000_000_000);
        self.control(
            "/control/template",
            json!({"templateId": id, "version": "0.0.1"}),
        )
        .await;
        id
    }

    async fn status(&self, token: &str, version: &str) -> String {
        let detail = self
            .client
            .version(&self.app, token, VersionMethod::DetailQuery, version)
            .await
            .unwrap();
        detail["status"].as_str().unwrap().to_owned()
    }

    /// Uploads `version` and waits for its build to succeed.
    async fn built(&self, token: &str, template: &str, version: &str) {
        let ext = json!({"extEnable": true, "ext": {"shopId": "1", "theme": "sea"}});
        let out = self
            .client
            .version_upload(&self.app, token, version, template, None, &ext)
            .await
            .unwrap();
        assert_eq!(out["build_status"], "1", "the build runs on: {out}");
        for _ in 0..50 {
            let build = self
                .client
                .version(&self.app, token, VersionMethod::BuildQuery, version)
                .await
                .unwrap();
            if build["build_status"] == "2" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("version {version} did not build");
    }

    async fn apply(&self, token: &str, version: &str) -> Result<Value, AlipayError> {
        let fields = [
            ("app_version", version.to_owned()),
            (
                "version_desc",
                "首个版本：门店展示与下单，适配模板配置。".to_owned(),
            ),
            ("region_type", "CHINA".to_owned()),
            ("service_phone", "0571-88888888".to_owned()),
        ];
        self.client
            .audit_apply(&self.app, token, &fields, &[])
            .await
    }
}

fn sub_code(r: Result<Value, AlipayError>) -> String {
    match r {
        Err(e) => e
            .sub_code()
            .unwrap_or_else(|| panic!("not a refusal: {e}"))
            .to_owned(),
        Ok(v) => panic!("expected a refusal, got {v}"),
    }
}

#[tokio::test]
async fn a_version_goes_from_template_to_online_and_back_through_the_signed_gateway() {
    // Serial: the other test makes the sandbox tamper with the next answer, whoever asks.
    let _g = serial().await;
    let stack = Stack::connect().await;
    let alipay = Alipay::connect(&stack);
    let template = alipay.template().await;
    let (mine, token) = alipay.merchant().await;
    let (client, app) = (&alipay.client, &alipay.app);
    let v = |m| client.version(app, &token, m, "1.0.0");

    // Nothing can be done with a version before its build ends.
    let ext = json!({"extEnable": true, "ext": {"shopId": "1"}});
    client
        .version_upload(app, &token, "1.0.0", &template, None, &ext)
        .await
        .unwrap();
    assert_eq!(
        sub_code(v(VersionMethod::ExperienceCreate).await),
        "MINI_APP_PACKAGE_INFO_NOT_EXIST"
    );
    for _ in 0..50 {
        if v(VersionMethod::BuildQuery).await.unwrap()["build_status"] == "2" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(alipay.status(&token, "1.0.0").await, "INIT");
    // A version must be higher than the latest.
    for lower in ["1.0.0", "0.9.9"] {
        let again = client
            .version_upload(app, &token, lower, &template, None, &ext)
            .await;
        assert_eq!(sub_code(again), "VERSION_HAS_EXISTED");
    }

    // Experience version and its QR code.
    v(VersionMethod::ExperienceCreate).await.unwrap();
    let exp = v(VersionMethod::ExperienceQuery).await.unwrap();
    assert_eq!(exp["status"], "expVersionPackaged", "{exp}");
    assert!(exp["exp_qr_code_url"].as_str().unwrap().ends_with(".png"));

    // Submit, rejected with a reason; a rejected version goes back to development before it is sent again.
    let blank = client
        .audit_apply(app, &token, &[("app_version", "1.0.0".to_owned())], &[])
        .await;
    assert_eq!(sub_code(blank), "VERSION_DESC_IS_BLANK");
    alipay.apply(&token, "1.0.0").await.unwrap();
    assert_eq!(alipay.status(&token, "1.0.0").await, "AUDITING");
    alipay
        .control(
            "/control/audit/decide",
            json!({"miniAppId": mine, "result": "reject", "reason": "首页缺少客服入口"}),
        )
        .await;
    let detail = v(VersionMethod::DetailQuery).await.unwrap();
    assert_eq!(
        (&detail["status"], &detail["reject_reason"]),
        (&json!("AUDIT_REJECT"), &json!("首页缺少客服入口"))
    );
    assert_eq!(
        sub_code(alipay.apply(&token, "1.0.0").await),
        "CAN_NOT_SUBMIT_WITH_AUDIT_GRAY"
    );
    v(VersionMethod::AuditedCancel).await.unwrap();
    assert_eq!(alipay.status(&token, "1.0.0").await, "INIT");
    alipay.apply(&token, "1.0.0").await.unwrap();
    alipay
        .control(
            "/control/audit/decide",
            json!({"miniAppId": mine, "result": "pass"}),
        )
        .await;
    assert_eq!(alipay.status(&token, "1.0.0").await, "WAIT_RELEASE");

    // Gray, then online.
    let bad = client.gray_online(app, &token, "1.0.0", "p20").await;
    assert_eq!(sub_code(bad), "GRAY_STRATEGY_IS_INVALID");
    client
        .gray_online(app, &token, "1.0.0", "p10")
        .await
        .unwrap();
    assert_eq!(alipay.status(&token, "1.0.0").await, "GRAY");
    v(VersionMethod::Online).await.unwrap();
    assert_eq!(alipay.status(&token, "1.0.0").await, "RELEASE");

    // A second version replaces it; rolling back brings the first back; then offline.
    alipay.built(&token, &template, "1.1.0").await;
    alipay.apply(&token, "1.1.0").await.unwrap();
    alipay
        .control(
            "/control/audit/decide",
            json!({"miniAppId": mine, "result": "pass"}),
        )
        .await;
    client
        .version(app, &token, VersionMethod::Online, "1.1.0")
        .await
        .unwrap();
    assert_eq!(alipay.status(&token, "1.0.0").await, "OFFLINE");
    client
        .version(app, &token, VersionMethod::Rollback, "1.1.0")
        .await
        .unwrap();
    assert_eq!(
        (
            alipay.status(&token, "1.0.0").await,
            alipay.status(&token, "1.1.0").await
        ),
        ("RELEASE".to_owned(), "OFFLINE".to_owned())
    );
    v(VersionMethod::Offline).await.unwrap();
    assert_eq!(alipay.status(&token, "1.0.0").await, "OFFLINE");

    // The list says nothing unless asked for states.
    let none = client.version_list(app, &token, &[]).await.unwrap();
    assert_eq!(none["app_version_infos"], json!([]));
    let listed = client
        .version_list(app, &token, &["OFFLINE", "RELEASE"])
        .await
        .unwrap();
    let versions: Vec<&str> = listed["app_version_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["app_version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.1.0", "1.0.0"], "newest first");
}

#[tokio::test]
async fn forged_tampered_and_foreign_calls_are_refused_and_tokens_refresh() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let alipay = Alipay::connect(&stack);
    let template = alipay.template().await;
    let (_, token) = alipay.merchant().await;
    let (client, app) = (&alipay.client, &alipay.app);
    alipay.built(&token, &template, "1.0.0").await;

    // An answer whose signature does not match its text is not believed.
    alipay.control("/control/tamper", json!({"times": 1})).await;
    let tampered = client
        .version(app, &token, VersionMethod::DetailQuery, "1.0.0")
        .await;
    assert!(
        matches!(tampered, Err(AlipayError::Signature(_))),
        "{tampered:?}"
    );
    // A request signed with another key is refused by the gateway (and its refusal is signed).
    let stranger_key = include_str!("fixtures/alipay-stranger-key.pem");
    let keys: Value =
        serde_json::from_str(&std::fs::read_to_string(&stack.env["ALIPAY_APP_FILE"]).unwrap())
            .unwrap();
    let forged = AlipayApp::new(
        keys["appId"].as_str().unwrap(),
        stranger_key,
        keys["alipayPublicKey"].as_str().unwrap(),
    )
    .unwrap();
    let out = client
        .version(&forged, &token, VersionMethod::DetailQuery, "1.0.0")
        .await;
    assert_eq!(sub_code(out), "isv.invalid-signature");
    // Without the merchant's token, with an unknown one, or with another merchant's: nothing of this version.
    let none = client
        .call(
            app,
            VersionMethod::DetailQuery.method(),
            None,
            Some(&json!({"app_version": "1.0.0"})),
            &[],
        )
        .await;
    assert_eq!(sub_code(none), "isv.self-invoke-forbidden");
    let unknown = client
        .version(app, "202notatoken", VersionMethod::DetailQuery, "1.0.0")
        .await;
    assert_eq!(sub_code(unknown), "aop.invalid-app-auth-token");
    let (_, other) = alipay.merchant().await;
    let foreign = client
        .version(app, &other, VersionMethod::DetailQuery, "1.0.0")
        .await;
    assert_eq!(sub_code(foreign), "MINI_APP_VERSION_NOT_EXIST");

    // A code is used once; a refresh gives new tokens and the old token stops working.
    let made = alipay.control("/control/app/create", json!({})).await;
    let code = made["appAuthCode"].as_str().unwrap();
    let first = client
        .token_app(app, Grant::AuthorizationCode(code))
        .await
        .unwrap();
    let again = client.token_app(app, Grant::AuthorizationCode(code)).await;
    assert_eq!(sub_code(again), "isv.app-auth-code-used");
    let refreshed = client
        .token_app(
            app,
            Grant::RefreshToken(first["app_refresh_token"].as_str().unwrap()),
        )
        .await
        .unwrap();
    assert_ne!(refreshed["app_auth_token"], first["app_auth_token"]);
    let old = first["app_auth_token"].as_str().unwrap();
    let stale = client.version_list(app, old, &["INIT"]).await;
    assert_eq!(sub_code(stale), "aop.invalid-app-auth-token");
    client
        .version_list(
            app,
            refreshed["app_auth_token"].as_str().unwrap(),
            &["INIT"],
        )
        .await
        .unwrap();

    // Alipay busy: a refusal the caller may retry.
    alipay
        .control(
            "/control/faults",
            json!({"method": "alipay.open.mini.version.detail.query", "code": "20000",
                   "subCode": "isp.unknow-error", "times": 1}),
        )
        .await;
    let busy = client
        .version(app, &token, VersionMethod::DetailQuery, "1.0.0")
        .await
        .unwrap_err();
    assert!(busy.is_transient(), "{busy}");
    client
        .version(app, &token, VersionMethod::DetailQuery, "1.0.0")
        .await
        .unwrap();
}
