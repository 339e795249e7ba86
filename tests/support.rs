//! Helpers for black-box tests against the local stack started by `make up` (read from `.local/stack.env`).
use std::collections::HashMap;
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use wxtpl::http::auth::{sign, Claims, Role};
use wxtpl::wechat::crypto::MsgCrypt;

pub struct Stack {
    pub env: HashMap<String, String>,
    pub http: reqwest::Client,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub jwt_key: Vec<u8>,
    pub component: Value,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// Tests share one sandbox and its call counters, so they run one at a time.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}

fn local_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".local")
}

impl Stack {
    pub async fn connect() -> Self {
        let path = local_dir().join("stack.env");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} not found: start the local stack with `make up`",
                path.display()
            )
        });
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&env["AWS_ENDPOINT_URL"])
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "local",
            ))
            .load()
            .await;
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        let jwt_key = secrets
            .get_secret_value()
            .secret_id(&env["JWT_SECRET_ID"])
            .send()
            .await
            .expect("JWT key readable")
            .secret_string
            .expect("string secret")
            .into_bytes();
        let component: Value = serde_json::from_str(
            &std::fs::read_to_string(local_dir().join("sandbox-component.json")).unwrap(),
        )
        .unwrap();
        Self {
            env,
            http: reqwest::Client::new(),
            dynamo: aws_sdk_dynamodb::Client::new(&aws),
            jwt_key,
            component,
            secrets,
        }
    }

    /// The stored secret of a component (appsecret, token, encodingAesKey), or None.
    pub async fn component_secret(&self, appid: &str) -> Option<Value> {
        let name = format!("{}{appid}", self.env["COMPONENT_SECRET_PREFIX"]);
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .ok()?;
        serde_json::from_str(out.secret_string()?).ok()
    }

    pub fn api_url(&self) -> &str {
        &self.env["API_URL"]
    }

    pub fn sandbox_url(&self) -> &str {
        &self.env["SANDBOX_URL"]
    }

    /// Writes a raw item (strings and integers only), as an earlier or interrupted writer would have left it.
    pub async fn put_item(&self, item: Value) {
        let attrs: HashMap<String, AttributeValue> = item
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let a = match v {
                    Value::Number(n) => AttributeValue::N(n.to_string()),
                    Value::String(s) => AttributeValue::S(s.clone()),
                    other => AttributeValue::S(other.to_string()),
                };
                (k.clone(), a)
            })
            .collect();
        self.dynamo
            .put_item()
            .table_name(&self.env["TABLE_NAME"])
            .set_item(Some(attrs))
            .send()
            .await
            .unwrap();
    }

    pub fn component_appid(&self) -> String {
        self.env["COMPONENT_APPID"].clone()
    }

    pub fn token_for(&self, role: Role, tenant: &str, component: Option<&str>) -> String {
        self.token_as(role, &format!("test-{role:?}"), tenant, component)
    }

    /// A token for the person `sub` of any tenant and component (or none).
    pub fn token_as(&self, role: Role, sub: &str, tenant: &str, component: Option<&str>) -> String {
        let now = wxtpl::clock::now_secs();
        let claims = Claims {
            sub: sub.to_owned(),
            role,
            tenant: tenant.to_owned(),
            component: component.map(str::to_owned),
            iat: now,
            nbf: None,
            exp: now + 3600,
        };
        sign(&claims, &self.jwt_key)
    }

    /// A token for a named person of the local tenant and component (merchants are told apart by `sub`).
    pub fn token_for_user(&self, role: Role, sub: &str) -> String {
        let now = wxtpl::clock::now_secs();
        let claims = Claims {
            sub: sub.to_owned(),
            role,
            tenant: self.env["TENANT"].clone(),
            component: Some(self.component_appid()),
            iat: now,
            nbf: None,
            exp: now + 3600,
        };
        sign(&claims, &self.jwt_key)
    }

    pub async fn pushes(&self) -> Vec<Value> {
        let resp = self
            .http
            .get(format!("{}/control/pushes", self.env["SANDBOX_URL"]))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        body["pushes"].as_array().cloned().unwrap_or_default()
    }

    pub fn token(&self, role: Role) -> String {
        self.token_for(role, &self.env["TENANT"], Some(&self.component_appid()))
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.api_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.api_url()))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Alipay's versions of a mini-program as the Alipay sandbox holds them: version → {status, ext, ...}.
    pub async fn alipay_versions(&self, mini_app_id: &str) -> Value {
        let state = self
            .control_get("ALIPAY_SANDBOX_URL", "/control/state")
            .await;
        state["apps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["miniAppId"] == mini_app_id)
            .map(|a| a["versions"].clone())
            .unwrap_or(Value::Null)
    }

    /// The merchant opens its Alipay consent link and the sandbox's consent page authorizes a new Alipay
    /// mini-program to it: (the link, the mini-program's id).
    pub async fn alipay_consent(&self, merchant: &str) -> (String, String) {
        let (code, link) = self.get("/alipay/auth/link", merchant).await;
        assert_eq!(code, 200, "{link}");
        let url = link["url"].as_str().unwrap().to_owned();
        let page: Value = self
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mini_app_id = page["frontend"]["maAppId"]
            .as_str()
            .unwrap_or_else(|| panic!("authorized: {page}"))
            .to_owned();
        (url, mini_app_id)
    }

    /// A `wx.login` code of user `user` in mini-program `appid` (the WeChat sandbox plays WeChat's client).
    pub async fn js_code(&self, appid: &str, user: &str) -> String {
        self.sandbox("/control/jscode", json!({"appid": appid, "user": user}))
            .await["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `POST /app/login` of user `user` in mini-program `appid` with a fresh code, and `extra` fields (uid, pid...).
    pub async fn customer_login(&self, appid: &str, user: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({"componentAppid": self.component_appid(), "appid": appid,
                              "code": self.js_code(appid, user).await});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.post_anonymous("/app/login", &body).await
    }

    /// A customer session of user `user` in mini-program `appid`.
    pub async fn customer_session(&self, appid: &str, user: &str) -> String {
        let (status, out) = self.customer_login(appid, user, json!({})).await;
        assert_eq!(status, 200, "{out}");
        out["session"].as_str().unwrap().to_owned()
    }

    /// A POST without any token (what a mini-program sends to log in).
    pub async fn post_anonymous(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.api_url()))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A merchant with its own mini-program and one staff card on it: (merchant token, appid, staff id).
    pub async fn staffed_shop(&self, merchant: &str, staff: &str) -> (String, String, String) {
        let token = self.token_for_user(Role::Merchant, &unique(merchant));
        let appid = self.own_mini_program(&token).await;
        let (code, out) = self
            .post(
                "/app/staff/save",
                &token,
                &json!({"maAppId": appid, "card": staff_card(staff)}),
            )
            .await;
        assert_eq!(code, 201, "{out}");
        assert_eq!(out["version"], 1, "{out}");
        (token, appid, out["id"].as_str().unwrap().to_owned())
    }

    /// The codes the WeChat sandbox made for one mini-program, oldest first.
    pub async fn codes_made(&self, appid: &str) -> Vec<Value> {
        let state = self.sandbox_get("/control/state").await;
        state["authorizers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["appid"] == appid)
            .map(|a| a["codes"].as_array().unwrap().clone())
            .unwrap_or_default()
    }

    /// The bytes behind an answer's presigned `url`.
    pub async fn download(&self, answer: &Value) -> Vec<u8> {
        let resp = self
            .http
            .get(answer["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap().to_vec()
    }

    /// A control read of the sandbox whose URL is `env[url_var]`; it must succeed.
    async fn control_get(&self, url_var: &str, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.env[url_var]))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{url_var} {path} failed");
        resp.json().await.unwrap()
    }

    pub async fn sandbox_get(&self, path: &str) -> Value {
        self.control_get("SANDBOX_URL", path).await
    }

    pub async fn pay_sandbox_get(&self, path: &str) -> Value {
        self.control_get("PAY_SANDBOX_URL", path).await
    }

    /// The mini-program's original id (gh_…) as the sandbox issued it: pushes to its message URL are addressed to it.
    pub async fn user_name(&self, appid: &str) -> String {
        let state = self.sandbox_get("/control/state").await;
        state["authorizers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["appid"] == appid)
            .expect("a sandbox mini-program")["userName"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The stack's made-up Alipay application: `appId`, `privateKey`, `alipayPublicKey` (what `make up` wrote).
    pub fn alipay_app(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.env["ALIPAY_APP_FILE"]).unwrap())
            .unwrap()
    }

    /// A control call to the Alipay sandbox (it must succeed).
    /// A control call to the sandbox whose URL is `env[url_var]`; it must succeed.
    async fn control(&self, url_var: &str, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.env[url_var]))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "{url_var} {path} failed: {}",
            resp.status()
        );
        resp.json().await.unwrap()
    }

    pub async fn alipay_sandbox(&self, path: &str, body: Value) -> Value {
        self.control("ALIPAY_SANDBOX_URL", path, body).await
    }

    pub async fn sandbox(&self, path: &str, body: Value) -> Value {
        self.control("SANDBOX_URL", path, body).await
    }

    /// A control call to the WeChat Pay sandbox.
    pub async fn pay_sandbox(&self, path: &str, body: Value) -> Value {
        self.control("PAY_SANDBOX_URL", path, body).await
    }

    pub async fn counter(&self, endpoint: &str) -> i64 {
        let resp = self
            .http
            .get(format!("{}/control/counters", self.env["SANDBOX_URL"]))
            .send()
            .await
            .unwrap();
        let counters: Value = resp.json().await.unwrap();
        counters.get(endpoint).and_then(Value::as_i64).unwrap_or(0)
    }

    pub async fn clear_faults(&self) {
        self.http
            .delete(format!("{}/control/faults", self.env["SANDBOX_URL"]))
            .send()
            .await
            .unwrap();
    }

    /// Authorizes a new sandbox mini-program through the pushed `authorized` event and waits until it is stored.
    pub async fn authorize_new(&self) -> String {
        let out = self.sandbox("/control/authorize", json!({})).await;
        assert_eq!(
            out["delivery"]["delivered"], true,
            "authorized push not accepted: {out}"
        );
        out["authorizerAppid"].as_str().unwrap().to_owned()
    }

    pub fn crypt(&self) -> MsgCrypt {
        MsgCrypt::new(
            self.component["token"].as_str().unwrap(),
            self.component["encodingAesKey"].as_str().unwrap(),
            self.component["appid"].as_str().unwrap(),
        )
        .unwrap()
    }

    /// Encrypts and signs a push exactly as WeChat does; returns (query string, body).
    pub fn seal(&self, plaintext: &str) -> (String, String) {
        self.seal_at(plaintext, wxtpl::clock::now_secs())
    }

    /// `seal` with the signed timestamp WeChat would have put on a push sent at `timestamp`.
    pub fn seal_at(&self, plaintext: &str, timestamp: i64) -> (String, String) {
        let crypt = self.crypt();
        let encrypted = crypt.encrypt(plaintext);
        let (ts, nonce) = (timestamp.to_string(), "12345".to_owned());
        let sig = crypt.msg_signature(&ts, &nonce, &encrypted);
        let query = format!("timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sig}");
        let body = format!(
            "<xml><AppId><![CDATA[{}]]></AppId><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>",
            self.component_appid()
        );
        (query, body)
    }

    pub async fn push_raw(&self, path: &str, query: &str, body: String) -> (u16, String) {
        let resp = self
            .http
            .post(format!("{}{path}?{query}", self.api_url()))
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub async fn item(&self, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamo
            .get_item()
            .table_name(&self.env["TABLE_NAME"])
            .key("PK", AttributeValue::S(pk.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    pub async fn partition_items(&self, pk: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.env["TABLE_NAME"])
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            out.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return out;
            }
        }
    }

    /// Sets one attribute of a stored record, to put it in a state a test needs.
    pub async fn set_attribute(&self, pk: &str, sk: &str, attr: &str, value: AttributeValue) {
        self.dynamo
            .update_item()
            .table_name(&self.env["TABLE_NAME"])
            .key("PK", AttributeValue::S(pk.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":v", value)
            .send()
            .await
            .unwrap();
    }

    pub async fn set_number(&self, pk: &str, sk: &str, attr: &str, value: i64) {
        self.set_attribute(pk, sk, attr, AttributeValue::N(value.to_string()))
            .await
    }

    pub async fn set_string(&self, pk: &str, sk: &str, attr: &str, value: &str) {
        self.set_attribute(pk, sk, attr, AttributeValue::S(value.into()))
            .await
    }

    pub async fn remove_attribute(&self, pk: &str, sk: &str, attr: &str) {
        self.dynamo
            .update_item()
            .table_name(&self.env["TABLE_NAME"])
            .key("PK", AttributeValue::S(pk.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .update_expression("REMOVE #a")
            .expression_attribute_names("#a", attr)
            .send()
            .await
            .unwrap();
    }

    /// Runs the scheduled token refresh now, through the local Lambda Invoke API.
    pub async fn invoke_token_refresh(&self) -> Value {
        self.invoke("token-refresh").await
    }

    /// Runs a scheduled function now, through the local Lambda Invoke API; panics if it failed.
    pub async fn invoke(&self, function: &str) -> Value {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.api_url()
        );
        let resp = self
            .http
            .post(url)
            .json(&json!({"source": "aws.scheduler"}))
            .send()
            .await
            .unwrap();
        let failed = resp.headers().get("x-amz-function-error").is_some();
        let body: Value = resp.json().await.unwrap();
        assert!(!failed, "{function} failed: {body}");
        body
    }

    /// The events the bus delivered for one mini-program (read from its log group in the emulator), oldest first.
    pub async fn events(&self, ma_app_id: &str) -> Vec<Value> {
        let url = format!(
            "{}/_local/events?limit=1000&maAppId={ma_app_id}",
            self.api_url()
        );
        let body: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["events"].as_array().cloned().unwrap_or_default()
    }

    /// The delivered events of one kind for a mini-program, waiting briefly (up to 4 s) for `at_least` of them.
    pub async fn events_of(&self, appid: &str, kind: &str, at_least: usize) -> Vec<Value> {
        let mut found = Vec::new();
        for _ in 0..40 {
            found = self
                .events(appid)
                .await
                .into_iter()
                .filter(|e| e["detail-type"] == kind)
                .collect();
            if found.len() >= at_least {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        found
    }

    /// The maAppIds `/miniprogram/list` shows the caller.
    pub async fn mini_programs(&self, token: &str) -> Vec<String> {
        let (code, body) = self.get("/miniprogram/list", token).await;
        assert_eq!(code, 200, "{body}");
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["maAppId"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A batch's status with every target (all pages): the view and the targets by maAppId.
    pub async fn batch_status(&self, batch: &str) -> (Value, HashMap<String, Value>) {
        let ops = self.token(Role::Operator);
        let mut targets = HashMap::new();
        let mut cursor = String::new();
        loop {
            let path = if cursor.is_empty() {
                format!("/batch/status?batchId={batch}")
            } else {
                format!("/batch/status?batchId={batch}&cursor={cursor}")
            };
            let (code, out) = self.get(&path, &ops).await;
            assert_eq!(code, 200, "{out}");
            for t in out["targets"].as_array().unwrap() {
                targets.insert(t["maAppId"].as_str().unwrap().to_owned(), t.clone());
            }
            match out["nextCursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => return (out, targets),
            }
        }
    }

    /// Polls a batch until `done` holds (panics with the last status after `secs`).
    pub async fn wait_for_batch(
        &self,
        batch: &str,
        secs: u64,
        done: impl Fn(&Value, &HashMap<String, Value>) -> bool,
    ) -> (Value, HashMap<String, Value>) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let (view, targets) = self.batch_status(batch).await;
            if done(&view, &targets) {
                return (view, targets);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "batch {batch} did not get there in {secs} s: {view}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    /// The `detail-type`s of those events, in order.
    pub async fn event_types(&self, ma_app_id: &str) -> Vec<String> {
        self.events(ma_app_id)
            .await
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// A published industry template with pages home and menu; returns its id.
    pub async fn published_template(&self) -> String {
        let (dev, ops) = (self.token(Role::Developer), self.token(Role::Operator));
        let draft = self.sandbox("/control/drafts", json!({})).await["draft_id"]
            .as_i64()
            .unwrap();
        let body = json!({"draftId": draft, "industryId": "retail", "industryName": "Retail", "config": {"theme": "blue"},
            "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": true}}, {"pageKey": "menu", "name": "Menu", "config": {}}]});
        let (code, out) = self.post("/draft/release", &dev, &body).await;
        assert_eq!(code, 201, "{out}");
        let id = out["template"]["id"].as_str().unwrap().to_owned();
        let (code, out) = self
            .post("/template/handover", &dev, &json!({"id": id, "version": 1}))
            .await;
        assert_eq!(code, 200, "{out}");
        let (code, out) = self
            .post("/template/release", &ops, &json!({"id": id, "version": 2}))
            .await;
        assert_eq!(code, 200, "{out}");
        id
    }

    /// A mini-program authorized by the merchant holding `token`, through the consent link.
    /// The merchant's consent link, opened: the sandbox's consent page authorizes a new mini-program, or the
    /// existing `appid`, and sends the browser back; what the stand-in front end was told.
    pub async fn consent(&self, token: &str, appid: Option<&str>) -> Value {
        let (code, link) = self.get("/auth/link?kind=pc", token).await;
        assert_eq!(code, 200, "{link}");
        let mut url = link["url"].as_str().unwrap().to_owned();
        if let Some(a) = appid {
            url.push_str(&format!("&sandbox_appid={a}"));
        }
        let resp = self.http.get(&url).send().await.unwrap();
        resp.json::<Value>().await.unwrap()["frontend"].clone()
    }

    pub async fn own_mini_program(&self, token: &str) -> String {
        let (_, link) = self.get("/auth/link?kind=pc", token).await;
        let resp = self
            .http
            .get(link["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let page: Value = resp.json().await.unwrap();
        page["frontend"]["maAppId"]
            .as_str()
            .expect("authorized")
            .to_owned()
    }

    /// A merchant with an authorized mini-program that has a saved config on a published template:
    /// (the merchant's token, the mini-program's appid).
    pub async fn decorated(&self, merchant: &str) -> (String, String) {
        let token = self.token_for_user(Role::Merchant, merchant);
        let template = self.published_template().await;
        let appid = self.own_mini_program(&token).await;
        let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "green"},
            "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": true}}]});
        let (code, out) = self.post("/config/save", &token, &save).await;
        assert_eq!(code, 200, "{out}");
        self.privacy_contact(&token, &appid).await;
        (token, appid)
    }

    /// Releases version 1.0.0 of the merchant's mini-program, has the sandbox pass its audit and publishes it.
    pub async fn published_release(&self, token: &str, appid: &str) {
        let body = json!({"maAppId": appid, "userVersion": "1.0.0"});
        let (code, out) = self.post("/code/release", token, &body).await;
        assert_eq!(code, 200, "{out}");
        self.sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "pass"}),
        )
        .await;
        let (code, out) = self
            .post("/code/publish", token, &json!({"maAppId": appid}))
            .await;
        assert_eq!(code, 200, "{out}");
    }

    /// The merchant (or an operator) gives the privacy guide's owner contact: a real account cannot be audited
    /// without it.
    pub async fn privacy_contact(&self, token: &str, appid: &str) {
        let body = json!({"maAppId": appid, "ownerSetting": {"contactEmail": "owner@shop.example.com",
                                                             "noticeMethod": "弹窗"}});
        let (code, out) = self.post("/miniprogram/privacy", token, &body).await;
        assert_eq!(code, 200, "{out}");
    }

    /// A guide the mini-program already has at WeChat (set before it came to the platform).
    pub async fn existing_privacy_guide(&self, appid: &str) {
        self.sandbox(
            "/control/privacy",
            json!({"appid": appid, "ownerSetting": {"contact_phone": "13800000000", "notice_method": "公告"}}),
        )
        .await;
    }

    /// Where the mini-program's code stands in the release pipeline, as its merchant sees it.
    pub async fn release_state(&self, token: &str, appid: &str) -> String {
        let (_, now) = self
            .get(&format!("/config/query?maAppId={appid}"), token)
            .await;
        now["userTemplate"]["releaseState"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The users `make up` seeded, one per role: (account, password).
    pub fn seeded_user(&self, role: &str) -> (String, String) {
        let users: Value =
            serde_json::from_str(&std::fs::read_to_string(local_dir().join("users.json")).unwrap())
                .unwrap();
        let user = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["role"] == role)
            .expect("seeded role");
        (
            user["account"].as_str().unwrap().to_owned(),
            user["password"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn login(&self, account: &str, password: &str) -> (u16, Value) {
        self.post(
            "/auth/login",
            "",
            &json!({"account": account, "password": password}),
        )
        .await
    }

    /// A login from another loopback address, so tests of the per-source limit do not share one.
    pub async fn login_from(&self, source: [u8; 4], account: &str, password: &str) -> (u16, Value) {
        self.post_from(
            source,
            "/auth/login",
            "",
            &json!({"account": account, "password": password}),
        )
        .await
    }

    /// A POST from another loopback address: the per-source brakes of the public routes see a new caller.
    pub async fn post_from(
        &self,
        source: [u8; 4],
        path: &str,
        token: &str,
        body: &Value,
    ) -> (u16, Value) {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(source))
            .build()
            .unwrap();
        let resp = client
            .post(format!("{}{path}", self.api_url()))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Signs up a new tenant from a loopback address of its own; returns (tenant, admin token).
    pub async fn signed_up_tenant(&self, name: &str) -> (String, String) {
        let account = unique(&format!("{}-admin", name.to_lowercase().replace(' ', "-")));
        let password = "tenant-admin-password";
        let (code, out) = self
            .post_from(
                fresh_source(),
                "/tenant/signup",
                "",
                &json!({"name": name, "account": account, "password": password}),
            )
            .await;
        assert_eq!(code, 201, "{out}");
        let (code, session) = self.login_from(fresh_source(), &account, password).await;
        assert_eq!(code, 200, "{session}");
        (
            out["tenant"].as_str().unwrap().to_owned(),
            session["token"].as_str().unwrap().to_owned(),
        )
    }

    pub fn logs(&self) -> String {
        let dir = std::path::PathBuf::from(&self.env["LOG_DIR"]);
        let mut all = String::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
        }
        all
    }
}

/// A random loopback address (127.x.y.z): the per-source brakes see a caller no other call of this or an earlier
/// run was likely to be.
pub fn fresh_source() -> [u8; 4] {
    let bytes = u32::from_str_radix(&wxtpl::random::hex(3), 16).unwrap();
    [
        127,
        (bytes >> 16) as u8,
        (bytes >> 8) as u8,
        2 + (bytes as u8 % 250),
    ]
}

/// Names made unique per test run, so the tests can run again against the same stack.
/// A staff member's business card with every field filled.
pub fn staff_card(name: &str) -> Value {
    json!({"name": name, "company": "安茶科技", "position": "店长", "phone": "0571-8888 6666",
           "email": "a@example.com", "wechatId": "an-tea", "signature": "好茶，慢慢喝",
           "avatar": "https://img.example.com/a.png"})
}

pub fn unique(name: &str) -> String {
    static RUN: OnceLock<i64> = OnceLock::new();
    format!("{name}-{}", RUN.get_or_init(wxtpl::clock::now_millis))
}

pub fn s(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// Asserts a refusal: its status, its error code, and a message that names `mentions`.
pub fn assert_refused(code: u16, out: &Value, status: u16, error: &str, mentions: &str) {
    assert_eq!(code, status, "{out}");
    assert_eq!(out["error"]["code"], error, "{out}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains(mentions),
        "{out}"
    );
}
