//! WeChat API client: one method per endpoint, WeChat's field names, errcodes surfaced as `WechatError::Api`.
//! URLs carry tokens, so transport errors are stripped of their URL before they can reach a log.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

use super::errcode;

#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    #[error("WeChat errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    #[error("WeChat unreachable: {0}")]
    Transport(String),
    #[error("WeChat answered HTTP {0}")]
    Status(u16),
    #[error("unexpected WeChat response: {0}")]
    Decode(String),
}

impl WechatError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// WeChat was busy (-1), failed (5xx) or did not answer: the same call may succeed if tried again.
    pub fn is_transient(&self) -> bool {
        match self {
            WechatError::Api { errcode, .. } => *errcode == errcode::BUSY,
            WechatError::Transport(_) => true,
            WechatError::Status(status) => *status >= 500,
            WechatError::Decode(_) => false,
        }
    }

    /// The call may have taken effect at WeChat although we got no answer (a timeout, a 5xx): a side effect
    /// must be checked against WeChat's state before it is recorded as not done.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, WechatError::Transport(_))
            || matches!(self, WechatError::Status(status) if *status >= 500)
    }

    /// The token used was rejected (stale, revoked or expired): refresh and retry once.
    pub fn is_token_rejected(&self) -> bool {
        matches!(
            self.errcode(),
            Some(errcode::INVALID_CREDENTIAL | errcode::INVALID_TOKEN | errcode::TOKEN_EXPIRED)
        )
    }
}

#[derive(Clone)]
pub struct WechatClient {
    /// Built on first use: many functions never call WeChat.
    http: std::sync::OnceLock<reqwest::Client>,
    base: String,
}

#[derive(Debug, Deserialize)]
pub struct ComponentToken {
    pub component_access_token: String,
    pub expires_in: i64,
}

#[derive(Debug, Deserialize)]
pub struct PreAuthCode {
    pub pre_auth_code: String,
    pub expires_in: i64,
}

#[derive(Debug, Deserialize, serde::Serialize, Clone)]
pub struct FuncScope {
    pub funcscope_category: FuncScopeCategory,
}

#[derive(Debug, Deserialize, serde::Serialize, Clone)]
pub struct FuncScopeCategory {
    pub id: i64,
}

/// What an authorization code is exchanged for; kept (with the code's record) until it is stored for good.
#[derive(Debug, Deserialize, serde::Serialize, Clone)]
pub struct AuthorizationInfo {
    pub authorizer_appid: String,
    pub authorizer_access_token: String,
    pub expires_in: i64,
    pub authorizer_refresh_token: String,
    #[serde(default)]
    pub func_info: Vec<FuncScope>,
}

#[derive(Debug, Deserialize)]
struct QueryAuthResponse {
    authorization_info: AuthorizationInfo,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizerToken {
    pub authorizer_access_token: String,
    pub expires_in: i64,
    pub authorizer_refresh_token: String,
}

#[derive(Debug, Deserialize, Default, Clone)]
pub struct AuthorizerInfo {
    #[serde(default)]
    pub nick_name: String,
    #[serde(default)]
    pub head_img: String,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub principal_name: String,
    #[serde(rename = "MiniProgramInfo", default)]
    pub mini_program_info: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct AuthorizerInfoResponse {
    authorizer_info: AuthorizerInfo,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizerListPage {
    pub total_count: i64,
    #[serde(default)]
    pub list: Vec<AuthorizerListItem>,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizerListItem {
    pub authorizer_appid: String,
    pub refresh_token: String,
    #[serde(default)]
    pub auth_time: i64,
}

#[derive(Debug, Deserialize, Clone, serde::Serialize)]
pub struct Draft {
    pub draft_id: i64,
    #[serde(default)]
    pub user_version: String,
    #[serde(default)]
    pub user_desc: String,
    #[serde(default)]
    pub create_time: i64,
    #[serde(default)]
    pub source_miniprogram_appid: String,
    #[serde(default)]
    pub source_miniprogram: String,
    #[serde(default)]
    pub developer: String,
}

#[derive(Debug, Deserialize)]
struct DraftList {
    #[serde(default)]
    draft_list: Vec<Draft>,
}

/// A user's phone number as WeChat tells it (WeChat's field names), with the watermark naming the mini-program.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneInfo {
    pub phone_number: String,
    pub pure_phone_number: String,
    pub country_code: String,
    pub watermark: Watermark,
}

#[derive(Debug, Deserialize)]
pub struct Watermark {
    pub appid: String,
    #[serde(default)]
    pub timestamp: i64,
}

/// Who logged in: the user's openid in that mini-program, the session key (kept server-side only: never logged or
/// answered, hence no `Debug`), and the unionid when the mini-program is bound to an open-platform account.
#[derive(Deserialize)]
pub struct CodeSession {
    pub openid: String,
    pub session_key: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

#[derive(Debug, Deserialize, serde::Serialize, Clone)]
pub struct CodeTemplate {
    pub template_id: i64,
    pub draft_id: i64,
    #[serde(default)]
    pub user_version: String,
    #[serde(default)]
    pub create_time: i64,
    #[serde(default)]
    pub source_miniprogram_appid: String,
}

#[derive(Debug, Deserialize)]
struct TemplateList {
    #[serde(default)]
    template_list: Vec<CodeTemplate>,
}

impl WechatClient {
    pub fn new(base: &str) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        self.http
            .get_or_init(|| crate::tls_roots::https_client(Duration::from_secs(5)))
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<T, WechatError> {
        let req = self
            .http()
            .post(format!("{}{path}", self.base))
            .query(query)
            .json(body);
        let started = std::time::Instant::now();
        observed(path, started, Self::decode(req.send().await).await)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, WechatError> {
        let started = std::time::Instant::now();
        let sent = self
            .http()
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await;
        observed(path, started, Self::decode(sent).await)
    }

    async fn decode<T: DeserializeOwned>(
        sent: reqwest::Result<reqwest::Response>,
    ) -> Result<T, WechatError> {
        let resp = sent.map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(WechatError::Status(status.as_u16()));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
        parse_json_response(&bytes)
    }

    pub async fn component_token(
        &self,
        appid: &str,
        secret: &str,
        ticket: &str,
    ) -> Result<ComponentToken, WechatError> {
        let body = json!({"component_appid": appid, "component_appsecret": secret, "component_verify_ticket": ticket});
        self.post("/cgi-bin/component/api_component_token", &[], &body)
            .await
    }

    pub async fn start_push_ticket(&self, appid: &str, secret: &str) -> Result<(), WechatError> {
        let body = json!({"component_appid": appid, "component_secret": secret});
        self.post::<Value>("/cgi-bin/component/api_start_push_ticket", &[], &body)
            .await
            .map(|_| ())
    }

    pub async fn create_preauthcode(
        &self,
        cat: &str,
        appid: &str,
    ) -> Result<PreAuthCode, WechatError> {
        let q = [("component_access_token", cat)];
        self.post(
            "/cgi-bin/component/api_create_preauthcode",
            &q,
            &json!({"component_appid": appid}),
        )
        .await
    }

    pub async fn query_auth(
        &self,
        cat: &str,
        appid: &str,
        code: &str,
    ) -> Result<AuthorizationInfo, WechatError> {
        let q = [("component_access_token", cat)];
        let body = json!({"component_appid": appid, "authorization_code": code});
        let resp: QueryAuthResponse = self
            .post("/cgi-bin/component/api_query_auth", &q, &body)
            .await?;
        Ok(resp.authorization_info)
    }

    pub async fn authorizer_token(
        &self,
        cat: &str,
        appid: &str,
        authorizer_appid: &str,
        refresh_token: &str,
    ) -> Result<AuthorizerToken, WechatError> {
        let q = [("component_access_token", cat)];
        let body = json!({"component_appid": appid, "authorizer_appid": authorizer_appid,
                          "authorizer_refresh_token": refresh_token});
        self.post("/cgi-bin/component/api_authorizer_token", &q, &body)
            .await
    }

    pub async fn authorizer_info(
        &self,
        cat: &str,
        appid: &str,
        authorizer_appid: &str,
    ) -> Result<AuthorizerInfo, WechatError> {
        let q = [("component_access_token", cat)];
        let body = json!({"component_appid": appid, "authorizer_appid": authorizer_appid});
        let resp: AuthorizerInfoResponse = self
            .post("/cgi-bin/component/api_get_authorizer_info", &q, &body)
            .await?;
        Ok(resp.authorizer_info)
    }

    pub async fn authorizer_list(
        &self,
        cat: &str,
        appid: &str,
        offset: i64,
        count: i64,
    ) -> Result<AuthorizerListPage, WechatError> {
        let q = [("component_access_token", cat)];
        let body = json!({"component_appid": appid, "offset": offset, "count": count});
        self.post("/cgi-bin/component/api_get_authorizer_list", &q, &body)
            .await
    }

    /// Basic account information of an authorized mini-program (authorizer token).
    pub async fn account_basic_info(&self, aat: &str) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/account/getaccountbasicinfo",
            &[("access_token", aat)],
            &json!({}),
        )
        .await
    }

    /// The platform's draft box (code uploaded from the developer tool).
    pub async fn template_draft_list(&self, cat: &str) -> Result<Vec<Draft>, WechatError> {
        let resp: DraftList = self
            .get("/wxa/gettemplatedraftlist", &[("access_token", cat)])
            .await?;
        Ok(resp.draft_list)
    }

    /// Turns a draft into a template of the library (type 0: ordinary; type 1 is deprecated).
    pub async fn add_to_template(&self, cat: &str, draft_id: i64) -> Result<(), WechatError> {
        let body = json!({"draft_id": draft_id, "template_type": 0});
        self.post::<Value>("/wxa/addtotemplate", &[("access_token", cat)], &body)
            .await
            .map(|_| ())
    }

    /// The phone number a `getPhoneNumber` button's code stands for (`/wxa/business/getuserphonenumber`); with
    /// `openid`, WeChat checks that the code is that user's.
    pub async fn user_phone_number(
        &self,
        aat: &str,
        code: &str,
        openid: &str,
    ) -> Result<PhoneInfo, WechatError> {
        #[derive(Deserialize)]
        struct Answer {
            phone_info: PhoneInfo,
        }
        let body = json!({"code": code, "openid": openid});
        let answer: Answer = self
            .post(
                "/wxa/business/getuserphonenumber",
                &[("access_token", aat)],
                &body,
            )
            .await?;
        Ok(answer.phone_info)
    }

    /// A subscribe message to one user of the mini-program (`/cgi-bin/message/subscribe/send`); the answer's msgid.
    pub async fn send_subscribe_message(
        &self,
        aat: &str,
        body: &Value,
    ) -> Result<i64, WechatError> {
        let answer: Value = self
            .post(
                "/cgi-bin/message/subscribe/send",
                &[("access_token", aat)],
                body,
            )
            .await?;
        Ok(answer["msgid"].as_i64().unwrap_or(0))
    }

    /// A mini-program user's `wx.login` code exchanged through the component (`/sns/component/jscode2session`).
    pub async fn jscode2session(
        &self,
        cat: &str,
        component: &str,
        appid: &str,
        js_code: &str,
    ) -> Result<CodeSession, WechatError> {
        self.get(
            "/sns/component/jscode2session",
            &[
                ("appid", appid),
                ("js_code", js_code),
                ("grant_type", "authorization_code"),
                ("component_appid", component),
                ("component_access_token", cat),
            ],
        )
        .await
    }

    pub async fn template_list(&self, cat: &str) -> Result<Vec<CodeTemplate>, WechatError> {
        let resp: TemplateList = self
            .get(
                "/wxa/gettemplatelist",
                &[("access_token", cat), ("template_type", "0")],
            )
            .await?;
        Ok(resp.template_list)
    }

    pub async fn commit(
        &self,
        aat: &str,
        template_id: i64,
        ext_json: &str,
        user_version: &str,
        user_desc: &str,
    ) -> Result<(), WechatError> {
        let body = json!({"template_id": template_id, "ext_json": ext_json, "user_version": user_version, "user_desc": user_desc});
        self.post::<Value>("/wxa/commit", &[("access_token", aat)], &body)
            .await
            .map(|_| ())
    }

    /// The trial version's QR code: image bytes and their content type.
    pub async fn trial_qrcode(&self, aat: &str) -> Result<(Vec<u8>, &'static str), WechatError> {
        let started = std::time::Instant::now();
        observed("/wxa/get_qrcode", started, self.fetch_qrcode(aat).await)
    }

    async fn fetch_qrcode(&self, aat: &str) -> Result<(Vec<u8>, &'static str), WechatError> {
        let resp = self
            .http()
            .get(format!("{}/wxa/get_qrcode", self.base))
            .query(&[("access_token", aat)])
            .send()
            .await
            .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(WechatError::Status(resp.status().as_u16()));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
        parse_image_response(&bytes)
    }

    /// A mini-program code (`endpoint`: getwxacodeunlimit, getwxacode or createwxaqrcode): image bytes and their
    /// content type. WeChat answers a refusal as JSON with HTTP 200, which is an error here, never an image.
    pub async fn mini_program_code(
        &self,
        aat: &str,
        endpoint: &str,
        body: &Value,
    ) -> Result<(Vec<u8>, &'static str), WechatError> {
        let started = std::time::Instant::now();
        let fetched = async {
            let resp = self
                .http()
                .post(format!("{}{endpoint}", self.base))
                .query(&[("access_token", aat)])
                .json(body)
                .send()
                .await
                .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
            if !resp.status().is_success() {
                return Err(WechatError::Status(resp.status().as_u16()));
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
            parse_image_response(&bytes)
        };
        observed(endpoint, started, fetched.await)
    }

    /// Ordinary-QR jump rules: `action` is get, download (the verification file), add, publish or delete.
    pub async fn qrcode_jump(
        &self,
        aat: &str,
        action: &str,
        body: &Value,
    ) -> Result<Value, WechatError> {
        self.post(
            &format!("/cgi-bin/wxopen/qrcodejump{action}"),
            &[("access_token", aat)],
            body,
        )
        .await
    }

    /// The mini-program's violation records (`getillegalrecords`; WeChat's default: the last 90 days).
    pub async fn illegal_records(&self, aat: &str, body: &Value) -> Result<Value, WechatError> {
        self.post("/wxa/getillegalrecords", &[("access_token", aat)], body)
            .await
    }

    /// The appeals against one violation record (`getappealrecords`).
    pub async fn appeal_records(&self, aat: &str, record_id: &str) -> Result<Value, WechatError> {
        self.post(
            "/wxa/getappealrecords",
            &[("access_token", aat)],
            &json!({"illegal_record_id": record_id}),
        )
        .await
    }

    /// Fast registration of a company or a person (`endpoint` with its action; `new_version: true` in `body`):
    /// `{taskid, authorize_url, status}`.
    pub async fn fast_register(
        &self,
        cat: &str,
        endpoint: &str,
        body: &Value,
    ) -> Result<Value, WechatError> {
        self.post(endpoint, &[("component_access_token", cat)], body)
            .await
    }

    /// Uploads an image as temporary media (`/cgi-bin/media/upload?type=image`, multipart): its `media_id`.
    pub async fn upload_image(
        &self,
        aat: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<String, WechatError> {
        let boundary = format!("wxtpl{}", crate::random::hex(12));
        let ext = if content_type == "image/png" {
            "png"
        } else {
            "jpg"
        };
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"image.{ext}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .http()
            .post(format!("{}/cgi-bin/media/upload", self.base))
            .query(&[("access_token", aat), ("type", "image")])
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        let started = std::time::Instant::now();
        let got: Value = observed(
            "/cgi-bin/media/upload",
            started,
            Self::decode(req.send().await).await,
        )?;
        got["media_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| WechatError::Decode("no media_id".into()))
    }

    /// `modifyheadimage`: the uploaded image, cropped to the square (x1, y1)–(x2, y2) of fractions.
    pub async fn modify_head_image(
        &self,
        aat: &str,
        media_id: &str,
        crop: [f64; 4],
    ) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/account/modifyheadimage",
            &[("access_token", aat)],
            &json!({"head_img_media_id": media_id, "x1": crop[0], "y1": crop[1], "x2": crop[2], "y2": crop[3]}),
        )
        .await
    }

    pub async fn modify_signature(&self, aat: &str, signature: &str) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/account/modifysignature",
            &[("access_token", aat)],
            &json!({"signature": signature}),
        )
        .await
    }

    /// Whether a name hits another account's verified name (`hit_condition`, `wording`).
    pub async fn check_nickname(&self, aat: &str, nickname: &str) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/wxverify/checkwxverifynickname",
            &[("access_token", aat)],
            &json!({"nick_name": nickname}),
        )
        .await
    }

    /// `setnickname`: `{wording, audit_id}` when the name goes to review.
    pub async fn set_nickname(&self, aat: &str, nickname: &str) -> Result<Value, WechatError> {
        self.post(
            "/wxa/setnickname",
            &[("access_token", aat)],
            &json!({"nick_name": nickname}),
        )
        .await
    }

    /// The account's categories with their review state, and the change quotas (`getcategory`).
    pub async fn account_categories(&self, aat: &str) -> Result<Value, WechatError> {
        self.get("/cgi-bin/wxopen/getcategory", &[("access_token", aat)])
            .await
    }

    pub async fn add_categories(
        &self,
        aat: &str,
        categories: &Value,
    ) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/wxopen/addcategory",
            &[("access_token", aat)],
            &json!({"categories": categories}),
        )
        .await
    }

    /// Every category WeChat offers (`getallcategories`): a flat list of nodes with `level`, `father`, `children`
    /// and whether a qualification is needed (`sensitive_type`).
    pub async fn all_categories(&self, aat: &str) -> Result<Value, WechatError> {
        self.get("/cgi-bin/wxopen/getallcategories", &[("access_token", aat)])
            .await
    }

    /// New qualifications for a category whose review failed (`modifycategory`).
    pub async fn modify_category(&self, aat: &str, category: &Value) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/wxopen/modifycategory",
            &[("access_token", aat)],
            category,
        )
        .await
    }

    /// Where a name change's review stands (`querynickname`: `audit_stat` 1 auditing, 2 rejected, 3 approved).
    pub async fn query_nickname(&self, aat: &str, audit_id: i64) -> Result<Value, WechatError> {
        self.post(
            "/wxa/api_wxa_querynickname",
            &[("access_token", aat)],
            &json!({"audit_id": audit_id}),
        )
        .await
    }

    pub async fn delete_category(
        &self,
        aat: &str,
        first: i64,
        second: i64,
    ) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/wxopen/deletecategory",
            &[("access_token", aat)],
            &json!({"first": first, "second": second}),
        )
        .await
    }

    pub async fn pages(&self, aat: &str) -> Result<Vec<String>, WechatError> {
        let resp: PageList = self.get("/wxa/get_page", &[("access_token", aat)]).await?;
        Ok(resp.page_list)
    }

    pub async fn categories(&self, aat: &str) -> Result<Vec<Category>, WechatError> {
        let resp: CategoryList = self
            .get("/wxa/get_category", &[("access_token", aat)])
            .await?;
        Ok(resp.category_list)
    }

    pub async fn submit_audit(
        &self,
        aat: &str,
        item_list: &Value,
        version_desc: &str,
        privacy_api_not_use: bool,
    ) -> Result<i64, WechatError> {
        let mut body = json!({"item_list": item_list, "version_desc": version_desc});
        if privacy_api_not_use {
            body["privacy_api_not_use"] = json!(true);
        }
        let resp: AuditId = self
            .post("/wxa/submit_audit", &[("access_token", aat)], &body)
            .await?;
        Ok(resp.auditid)
    }

    pub async fn audit_status(&self, aat: &str, audit_id: i64) -> Result<AuditStatus, WechatError> {
        self.post(
            "/wxa/get_auditstatus",
            &[("access_token", aat)],
            &json!({"auditid": audit_id}),
        )
        .await
    }

    /// The newest audit of the mini-program, whatever we recorded: settles an audit whose id we lost.
    pub async fn latest_audit_status(&self, aat: &str) -> Result<LatestAudit, WechatError> {
        self.post(
            "/wxa/get_latest_auditstatus",
            &[("access_token", aat)],
            &json!({}),
        )
        .await
    }

    /// Withdraws the audit under way (5 a day, 10 a month per mini-program: 87013).
    pub async fn undo_audit(&self, aat: &str) -> Result<(), WechatError> {
        self.get::<Value>("/wxa/undocodeaudit", &[("access_token", aat)])
            .await
            .map(|_| ())
    }

    pub async fn speedup_audit(&self, aat: &str, audit_id: i64) -> Result<(), WechatError> {
        self.post::<Value>(
            "/wxa/speedupaudit",
            &[("access_token", aat)],
            &json!({"auditid": audit_id}),
        )
        .await
        .map(|_| ())
    }

    /// The platform's audit quota for the month (shared by all its mini-programs).
    pub async fn audit_quota(&self, aat: &str) -> Result<AuditQuota, WechatError> {
        self.get("/wxa/queryquota", &[("access_token", aat)]).await
    }

    /// Publishes the version that passed its audit.
    pub async fn release(&self, aat: &str) -> Result<(), WechatError> {
        self.post::<Value>("/wxa/release", &[("access_token", aat)], &json!({}))
            .await
            .map(|_| ())
    }

    /// Releases the audited version to `percentage` percent of users (it must grow between calls).
    pub async fn gray_release(&self, aat: &str, percentage: i64) -> Result<(), WechatError> {
        self.post::<Value>(
            "/wxa/grayrelease",
            &[("access_token", aat)],
            &json!({"gray_percentage": percentage}),
        )
        .await
        .map(|_| ())
    }

    /// The gray release plan: `status` (0 init, 1 running, 2 paused, 3 done, 4 deleted), `gray_percentage`, ...
    pub async fn gray_release_plan(&self, aat: &str) -> Result<Value, WechatError> {
        let resp: Value = self
            .get("/wxa/getgrayreleaseplan", &[("access_token", aat)])
            .await?;
        Ok(resp["gray_release_plan"].clone())
    }

    /// Stops the gray release: only the previous online version is served.
    pub async fn revert_gray_release(&self, aat: &str) -> Result<(), WechatError> {
        self.get::<Value>("/wxa/revertgrayrelease", &[("access_token", aat)])
            .await
            .map(|_| ())
    }

    /// Puts the previous online version back.
    pub async fn revert_release(&self, aat: &str) -> Result<(), WechatError> {
        self.get::<Value>("/wxa/revertcoderelease", &[("access_token", aat)])
            .await
            .map(|_| ())
    }

    pub async fn change_visit_status(&self, aat: &str, action: &str) -> Result<(), WechatError> {
        self.post::<Value>(
            "/wxa/change_visitstatus",
            &[("access_token", aat)],
            &json!({"action": action}),
        )
        .await
        .map(|_| ())
    }

    /// The mini-program's ICP filing (`info.status` 6: filed; 1024 and up: not filed).
    pub async fn icp_entrance(&self, aat: &str) -> Result<IcpEntrance, WechatError> {
        let resp: IcpEntranceResponse = self
            .get("/wxa/icp/get_icp_entrance_info", &[("access_token", aat)])
            .await?;
        Ok(resp.info)
    }

    /// The trial (`exp_info`) and online (`release_info`) versions as WeChat knows them.
    pub async fn version_info(&self, aat: &str) -> Result<VersionInfo, WechatError> {
        self.post("/wxa/getversioninfo", &[("access_token", aat)], &json!({}))
            .await
    }

    /// Binds a tester by WeChat id; returns WeChat's opaque `userstr` for them.
    pub async fn bind_tester(&self, aat: &str, wechat_id: &str) -> Result<String, WechatError> {
        let resp: Value = self
            .post(
                "/wxa/bind_tester",
                &[("access_token", aat)],
                &json!({"wechatid": wechat_id}),
            )
            .await?;
        Ok(resp["userstr"].as_str().unwrap_or_default().to_owned())
    }

    /// Unbinds a tester named by WeChat id or by `userstr` (the body names exactly one).
    pub async fn unbind_tester(&self, aat: &str, who: &Value) -> Result<(), WechatError> {
        self.post::<Value>("/wxa/unbind_tester", &[("access_token", aat)], who)
            .await
            .map(|_| ())
    }

    /// The testers' `userstr`s.
    pub async fn testers(&self, aat: &str) -> Result<Vec<String>, WechatError> {
        let resp: Members = self
            .post(
                "/wxa/memberauth",
                &[("access_token", aat)],
                &json!({"action": "get_experiencer"}),
            )
            .await?;
        Ok(resp.members.into_iter().map(|m| m.userstr).collect())
    }

    /// Server domains (`action` add/delete/set/get with the four lists); answers the lists after the change.
    pub async fn modify_domain(&self, aat: &str, body: &Value) -> Result<Value, WechatError> {
        self.post("/wxa/modify_domain", &[("access_token", aat)], body)
            .await
    }

    /// web-view domains (`action` with `webviewdomain`).
    pub async fn set_webview_domain(&self, aat: &str, body: &Value) -> Result<Value, WechatError> {
        self.post("/wxa/setwebviewdomain", &[("access_token", aat)], body)
            .await
    }

    /// The privacy guide (`privacy_ver` 2: the one that goes out with the next release): the keys WeChat detected
    /// in the committed code (`privacy_list`), the `setting_list` and the `owner_setting`.
    pub async fn privacy_setting(&self, aat: &str) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/component/getprivacysetting",
            &[("access_token", aat)],
            &json!({"privacy_ver": 2}),
        )
        .await
    }

    /// Sets the privacy guide; the body is built by `readiness::privacy_setting_body`.
    pub async fn set_privacy_setting(&self, aat: &str, body: &Value) -> Result<(), WechatError> {
        self.post::<Value>(
            "/cgi-bin/component/setprivacysetting",
            &[("access_token", aat)],
            body,
        )
        .await
        .map(|_| ())
    }

    /// What WeChat's privacy scan of the committed code found: 61039 while it still runs.
    pub async fn code_privacy_info(&self, aat: &str) -> Result<CodePrivacyInfo, WechatError> {
        self.get(
            "/wxa/security/get_code_privacy_info",
            &[("access_token", aat)],
        )
        .await
    }

    /// The platform's own server domains (`action` add/delete/set/get, `wxa_server_domain` "a.com;b.com"): every
    /// mini-program domain must be registered here first.
    pub async fn modify_platform_domains(
        &self,
        cat: &str,
        body: &Value,
    ) -> Result<Value, WechatError> {
        self.post(
            "/cgi-bin/component/modify_wxa_server_domain",
            &[("access_token", cat)],
            body,
        )
        .await
    }

    pub async fn delete_template(&self, cat: &str, template_id: i64) -> Result<(), WechatError> {
        let body = json!({"template_id": template_id});
        self.post::<Value>("/wxa/deletetemplate", &[("access_token", cat)], &body)
            .await
            .map(|_| ())
    }
}

#[derive(Debug, Deserialize, serde::Serialize, Clone)]
pub struct Category {
    #[serde(default)]
    pub first_class: String,
    #[serde(default)]
    pub second_class: String,
    #[serde(default)]
    pub first_id: i64,
    #[serde(default)]
    pub second_id: i64,
}

#[derive(Debug, Deserialize)]
struct CategoryList {
    #[serde(default)]
    category_list: Vec<Category>,
}

#[derive(Debug, Deserialize)]
struct PageList {
    #[serde(default)]
    page_list: Vec<String>,
}

/// `get_auditstatus`: 0 passed, 1 rejected, 2 auditing, 3 withdrawn, 4 delayed.
#[derive(Debug, Deserialize)]
pub struct AuditStatus {
    pub status: i64,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize)]
pub struct LatestAudit {
    pub auditid: i64,
    /// 0 passed, 1 rejected, 2 auditing, 3 withdrawn, 4 delayed.
    pub status: i64,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub submit_audit_time: i64,
}

#[derive(Debug, Deserialize, serde::Serialize)]
pub struct AuditQuota {
    pub rest: i64,
    pub limit: i64,
    #[serde(default)]
    pub speedup_rest: i64,
    #[serde(default)]
    pub speedup_limit: i64,
}

/// Privacy APIs the code uses without permission (`without_auth_list`) or without declaring them in
/// `requiredPrivateInfos` (`without_conf_list`).
#[derive(Debug, Deserialize, Default)]
pub struct CodePrivacyInfo {
    #[serde(default)]
    pub without_auth_list: Vec<String>,
    #[serde(default)]
    pub without_conf_list: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct IcpEntranceResponse {
    info: IcpEntrance,
}

#[derive(Debug, Deserialize, serde::Serialize, Clone)]
pub struct IcpEntrance {
    pub status: i64,
    /// 1 while the filing entrance is open.
    #[serde(default)]
    pub available: i64,
}

impl IcpEntrance {
    pub const FILED: i64 = 6;

    pub fn is_filed(&self) -> bool {
        self.status == Self::FILED
    }
}

#[derive(Debug, Deserialize, serde::Serialize, Default)]
pub struct VersionInfo {
    #[serde(default)]
    pub exp_info: Option<Value>,
    #[serde(default)]
    pub release_info: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Members {
    #[serde(default)]
    members: Vec<Member>,
}

#[derive(Debug, Deserialize)]
struct Member {
    userstr: String,
}

#[derive(Debug, Deserialize)]
struct AuditId {
    auditid: i64,
}

/// Image endpoints answer bytes on success and JSON on failure: decide by the first bytes, not the header.
pub fn parse_image_response(bytes: &[u8]) -> Result<(Vec<u8>, &'static str), WechatError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok((bytes.to_vec(), "image/png"));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok((bytes.to_vec(), "image/jpeg"));
    }
    match parse_json_response::<Value>(bytes) {
        Err(e) => Err(e),
        Ok(_) => Err(WechatError::Decode(
            "expected an image, got JSON without an errcode".into(),
        )),
    }
}

/// Every WeChat call is logged and counted: endpoint (the path's last segment), outcome (`ok`, WeChat's errcode,
/// `http_<status>`, `no_answer` or `bad_answer`) and latency. Never its query, which carries the access token.
fn observed<T>(
    path: &str,
    started: std::time::Instant,
    result: Result<T, WechatError>,
) -> Result<T, WechatError> {
    let endpoint = path.rsplit('/').next().unwrap_or(path);
    let outcome = match &result {
        Ok(_) => "ok".to_owned(),
        Err(WechatError::Api { errcode, .. }) => errcode.to_string(),
        Err(WechatError::Status(status)) => format!("http_{status}"),
        Err(WechatError::Transport(_)) => "no_answer".to_owned(),
        Err(WechatError::Decode(_)) => "bad_answer".to_owned(),
    };
    let latency_ms = started.elapsed().as_millis() as i64;
    tracing::info!(endpoint, outcome = %outcome, latency_ms, "wechat call");
    crate::metrics::count(
        "WechatCalls",
        &[("Endpoint", endpoint), ("Outcome", &outcome)],
    );
    crate::metrics::millis("WechatLatency", &[("Endpoint", endpoint)], latency_ms);
    result
}

/// WeChat answers errors as HTTP 200 with `{"errcode": N, "errmsg": ...}`; errcode 0 is success.
pub fn parse_json_response<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WechatError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| WechatError::Decode(e.to_string()))?;
    let errcode = value.get("errcode").and_then(Value::as_i64).unwrap_or(0);
    if errcode != 0 {
        let errmsg = value
            .get("errmsg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        return Err(WechatError::Api { errcode, errmsg });
    }
    serde_json::from_value(value).map_err(|e| WechatError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcode_becomes_api_error() {
        let err = parse_json_response::<ComponentToken>(
            br#"{"errcode":61005,"errmsg":"component ticket is expired"}"#,
        )
        .unwrap_err();
        assert_eq!(err.errcode(), Some(61005));
        assert!(!err.is_token_rejected());
        let err =
            parse_json_response::<Value>(br#"{"errcode":40001,"errmsg":"invalid credential"}"#)
                .unwrap_err();
        assert!(err.is_token_rejected());
    }

    #[test]
    fn success_is_decoded() {
        let t: ComponentToken =
            parse_json_response(br#"{"component_access_token":"abc","expires_in":7200}"#).unwrap();
        assert_eq!(
            (t.component_access_token.as_str(), t.expires_in),
            ("abc", 7200)
        );
        let ok: Value = parse_json_response(br#"{"errcode":0,"errmsg":"ok"}"#).unwrap();
        assert_eq!(ok["errmsg"], "ok");
    }

    #[test]
    fn images_are_told_from_json_errors_by_their_first_bytes() {
        assert_eq!(
            parse_image_response(b"\x89PNG\r\n\x1a\nrest").unwrap().1,
            "image/png"
        );
        assert_eq!(
            parse_image_response(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap().1,
            "image/jpeg"
        );
        let err = parse_image_response(br#"{"errcode":86001,"errmsg":"no code"}"#).unwrap_err();
        assert_eq!(err.errcode(), Some(86001));
        assert!(parse_image_response(b"GIF89a").is_err());
    }

    #[test]
    fn non_json_or_wrong_shape_is_decode_error() {
        assert!(matches!(
            parse_json_response::<Value>(b"\x89PNG"),
            Err(WechatError::Decode(_))
        ));
        assert!(matches!(
            parse_json_response::<ComponentToken>(br#"{"x":1}"#),
            Err(WechatError::Decode(_))
        ));
    }
}
