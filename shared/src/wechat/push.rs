//! Models of what WeChat pushes: the encrypted envelope and the decrypted events.
//! Unknown message types are kept as `Other` (the raw XML is recorded by the caller).

use serde::Deserialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PushError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("required field {0} is missing or empty")]
    MissingField(&'static str),
    #[error("field {0} is not a number")]
    NotANumber(&'static str),
}

/// The POSTed body: `<xml><AppId|ToUserName/><Encrypt/></xml>`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "AppId")]
    pub app_id: Option<String>,
    #[serde(rename = "ToUserName")]
    pub to_user_name: Option<String>,
    #[serde(rename = "Encrypt")]
    pub encrypt: Option<String>,
}

impl Envelope {
    pub fn parse(xml: &str) -> Result<(Self, String), PushError> {
        let env: Envelope =
            quick_xml::de::from_str(xml).map_err(|e| PushError::Malformed(e.to_string()))?;
        let encrypt = env
            .encrypt
            .clone()
            .filter(|e| !e.trim().is_empty())
            .ok_or(PushError::MissingField("Encrypt"))?;
        Ok((env, encrypt))
    }
}

/// Every field any push may carry; which are present depends on the type.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawPush {
    #[serde(rename = "AppId")]
    app_id: Option<String>,
    #[serde(rename = "CreateTime")]
    create_time: Option<String>,
    #[serde(rename = "InfoType")]
    info_type: Option<String>,
    #[serde(rename = "ComponentVerifyTicket")]
    ticket: Option<String>,
    #[serde(rename = "AuthorizerAppid")]
    authorizer_appid: Option<String>,
    #[serde(rename = "AuthorizationCode")]
    authorization_code: Option<String>,
    #[serde(rename = "AuthorizationCodeExpiredTime")]
    authorization_code_expired_time: Option<String>,
    // notify_third_fasteregister uses lower-case names.
    appid: Option<String>,
    status: Option<String>,
    auth_code: Option<String>,
    msg: Option<String>,
    info: Option<FastRegisterInfo>,
    #[serde(rename = "ToUserName")]
    to_user_name: Option<String>,
    #[serde(rename = "FromUserName")]
    from_user_name: Option<String>,
    #[serde(rename = "MsgType")]
    msg_type: Option<String>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "Reason")]
    reason: Option<String>,
    #[serde(rename = "SuccTime")]
    succ_time: Option<String>,
    #[serde(rename = "FailTime")]
    fail_time: Option<String>,
    #[serde(rename = "DelayTime")]
    delay_time: Option<String>,
    #[serde(rename = "ScreenShot")]
    screenshot: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(default)]
pub struct FastRegisterInfo {
    pub name: Option<String>,
    pub code: Option<String>,
    pub code_type: Option<String>,
    pub legal_persona_wechat: Option<String>,
    pub legal_persona_name: Option<String>,
    pub component_phone: Option<String>,
    /// A person's registration names its task (`taskid`), the WeChat id and the name it was asked with.
    pub taskid: Option<String>,
    pub wxuser: Option<String>,
    pub idname: Option<String>,
}

fn required(value: Option<String>, name: &'static str) -> Result<String, PushError> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(PushError::MissingField(name))
}

fn number(value: Option<String>, name: &'static str) -> Result<i64, PushError> {
    required(value, name)?
        .parse()
        .map_err(|_| PushError::NotANumber(name))
}

fn optional_number(value: Option<String>, name: &'static str) -> Result<Option<i64>, PushError> {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| PushError::NotANumber(name)),
        None => Ok(None),
    }
}

fn parse_raw(xml: &str) -> Result<RawPush, PushError> {
    quick_xml::de::from_str(xml).map_err(|e| PushError::Malformed(e.to_string()))
}

/// A push to the authorization event URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthEvent {
    VerifyTicket {
        component_appid: String,
        create_time: i64,
        ticket: String,
    },
    /// `authorized`, or `updateauthorized` when `update` is true.
    Authorized {
        component_appid: String,
        create_time: i64,
        authorizer_appid: String,
        authorization_code: String,
        code_expires_at: Option<i64>,
        update: bool,
    },
    Unauthorized {
        component_appid: String,
        create_time: i64,
        authorizer_appid: String,
    },
    FastRegister {
        component_appid: String,
        create_time: i64,
        appid: Option<String>,
        status: i64,
        auth_code: Option<String>,
        msg: Option<String>,
        info: FastRegisterInfo,
    },
    Other {
        component_appid: String,
        create_time: i64,
        info_type: String,
    },
}

impl AuthEvent {
    pub fn parse(xml: &str) -> Result<Self, PushError> {
        let raw = parse_raw(xml)?;
        let info_type = required(raw.info_type, "InfoType")?;
        let component_appid = required(raw.app_id, "AppId")?;
        let create_time = number(raw.create_time, "CreateTime")?;
        Ok(match info_type.as_str() {
            "component_verify_ticket" => AuthEvent::VerifyTicket {
                component_appid,
                create_time,
                ticket: required(raw.ticket, "ComponentVerifyTicket")?,
            },
            "authorized" | "updateauthorized" => AuthEvent::Authorized {
                component_appid,
                create_time,
                authorizer_appid: required(raw.authorizer_appid, "AuthorizerAppid")?,
                authorization_code: required(raw.authorization_code, "AuthorizationCode")?,
                code_expires_at: optional_number(
                    raw.authorization_code_expired_time,
                    "AuthorizationCodeExpiredTime",
                )?,
                update: info_type == "updateauthorized",
            },
            "unauthorized" => AuthEvent::Unauthorized {
                component_appid,
                create_time,
                authorizer_appid: required(raw.authorizer_appid, "AuthorizerAppid")?,
            },
            "notify_third_fasteregister" => AuthEvent::FastRegister {
                component_appid,
                create_time,
                appid: raw.appid.filter(|a| !a.is_empty()),
                status: number(raw.status, "status")?,
                auth_code: raw.auth_code.filter(|c| !c.is_empty()),
                msg: raw.msg,
                info: raw.info.unwrap_or_default(),
            },
            _ => AuthEvent::Other {
                component_appid,
                create_time,
                info_type,
            },
        })
    }

    pub fn type_name(&self) -> &str {
        match self {
            AuthEvent::VerifyTicket { .. } => "component_verify_ticket",
            AuthEvent::Authorized { update: false, .. } => "authorized",
            AuthEvent::Authorized { update: true, .. } => "updateauthorized",
            AuthEvent::Unauthorized { .. } => "unauthorized",
            AuthEvent::FastRegister { .. } => "notify_third_fasteregister",
            AuthEvent::Other { info_type, .. } => info_type,
        }
    }

    pub fn component_appid(&self) -> &str {
        match self {
            AuthEvent::VerifyTicket {
                component_appid, ..
            }
            | AuthEvent::Authorized {
                component_appid, ..
            }
            | AuthEvent::Unauthorized {
                component_appid, ..
            }
            | AuthEvent::FastRegister {
                component_appid, ..
            }
            | AuthEvent::Other {
                component_appid, ..
            } => component_appid,
        }
    }

    pub fn create_time(&self) -> i64 {
        match self {
            AuthEvent::VerifyTicket { create_time, .. }
            | AuthEvent::Authorized { create_time, .. }
            | AuthEvent::Unauthorized { create_time, .. }
            | AuthEvent::FastRegister { create_time, .. }
            | AuthEvent::Other { create_time, .. } => *create_time,
        }
    }

    /// The mini-program the event is about, where it names one.
    pub fn authorizer_appid(&self) -> Option<&str> {
        match self {
            AuthEvent::Authorized {
                authorizer_appid, ..
            }
            | AuthEvent::Unauthorized {
                authorizer_appid, ..
            } => Some(authorizer_appid),
            AuthEvent::FastRegister { appid, .. } => appid.as_deref(),
            _ => None,
        }
    }

    /// Identifies one push across WeChat's retries (they resend the same content).
    pub fn dedup_key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.type_name(),
            self.create_time(),
            self.authorizer_appid().unwrap_or("-")
        )
    }
}

/// A push to a mini-program's message and event URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageEvent {
    AuditSuccess {
        to_user: String,
        create_time: i64,
        succ_time: Option<i64>,
    },
    AuditFail {
        to_user: String,
        create_time: i64,
        reason: String,
        fail_time: Option<i64>,
        screenshot: Option<String>,
    },
    AuditDelay {
        to_user: String,
        create_time: i64,
        reason: String,
        delay_time: Option<i64>,
    },
    Other {
        to_user: String,
        from_user: Option<String>,
        create_time: i64,
        msg_type: String,
        event: Option<String>,
        msg_id: Option<String>,
    },
}

impl MessageEvent {
    pub fn parse(xml: &str) -> Result<Self, PushError> {
        let raw = parse_raw(xml)?;
        let to_user = required(raw.to_user_name, "ToUserName")?;
        let create_time = number(raw.create_time, "CreateTime")?;
        let msg_type = required(raw.msg_type, "MsgType")?;
        let event = raw
            .event
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        Ok(match (msg_type.as_str(), event.as_deref()) {
            ("event", Some("weapp_audit_success")) => MessageEvent::AuditSuccess {
                to_user,
                create_time,
                succ_time: optional_number(raw.succ_time, "SuccTime")?,
            },
            ("event", Some("weapp_audit_fail")) => MessageEvent::AuditFail {
                to_user,
                create_time,
                reason: raw.reason.unwrap_or_default(),
                fail_time: optional_number(raw.fail_time, "FailTime")?,
                screenshot: raw.screenshot.filter(|s| !s.is_empty()),
            },
            ("event", Some("weapp_audit_delay")) => MessageEvent::AuditDelay {
                to_user,
                create_time,
                reason: raw.reason.unwrap_or_default(),
                delay_time: optional_number(raw.delay_time, "DelayTime")?,
            },
            _ => MessageEvent::Other {
                to_user,
                from_user: raw.from_user_name,
                create_time,
                msg_type,
                event,
                msg_id: raw.msg_id.filter(|m| !m.is_empty()),
            },
        })
    }

    pub fn type_name(&self) -> String {
        match self {
            MessageEvent::AuditSuccess { .. } => "weapp_audit_success".into(),
            MessageEvent::AuditFail { .. } => "weapp_audit_fail".into(),
            MessageEvent::AuditDelay { .. } => "weapp_audit_delay".into(),
            MessageEvent::Other {
                msg_type,
                event: Some(event),
                ..
            } => format!("{msg_type}:{event}"),
            MessageEvent::Other { msg_type, .. } => msg_type.clone(),
        }
    }

    /// The mini-program's original id (gh_…) the push is addressed to.
    pub fn to_user(&self) -> &str {
        match self {
            MessageEvent::AuditSuccess { to_user, .. }
            | MessageEvent::AuditFail { to_user, .. }
            | MessageEvent::AuditDelay { to_user, .. }
            | MessageEvent::Other { to_user, .. } => to_user,
        }
    }

    pub fn create_time(&self) -> i64 {
        match self {
            MessageEvent::AuditSuccess { create_time, .. }
            | MessageEvent::AuditFail { create_time, .. }
            | MessageEvent::AuditDelay { create_time, .. }
            | MessageEvent::Other { create_time, .. } => *create_time,
        }
    }

    /// Audit events carry no MsgId: (ToUserName, Event, CreateTime) identifies them. Messages use MsgId.
    pub fn dedup_key(&self) -> String {
        match self {
            MessageEvent::Other {
                msg_id: Some(id), ..
            } => format!("msg|{id}"),
            MessageEvent::Other {
                to_user,
                from_user,
                create_time,
                ..
            } => {
                format!(
                    "{}|{to_user}|{}|{create_time}",
                    self.type_name(),
                    from_user.as_deref().unwrap_or("-")
                )
            }
            _ => {
                let to_user = match self {
                    MessageEvent::AuditSuccess { to_user, .. }
                    | MessageEvent::AuditFail { to_user, .. }
                    | MessageEvent::AuditDelay { to_user, .. } => to_user,
                    MessageEvent::Other { .. } => unreachable!("handled above"),
                };
                format!("{}|{to_user}|{}", self.type_name(), self.create_time())
            }
        }
    }
}

/// A `wxa_punish_event` push: WeChat warned the mini-program or banned some of its functions for a violation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Punishment {
    pub punish_id: String,
    /// 1 a warning (rectify before a deadline), 2 a ban of functions, other numbers as WeChat adds them.
    pub event_type: i64,
    pub punish_time: i64,
    pub illegal_reason: String,
    pub illegal_content: String,
    pub rule_name: String,
    pub rule_url: String,
    pub adjust_guide_url: String,
    /// WeChat's `detail`, a JSON string (deadline, banned functions and days), kept as sent.
    pub detail: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawPunishment {
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "CreateTime")]
    create_time: Option<String>,
    punish_id: Option<String>,
    event_type: Option<String>,
    punish_time: Option<String>,
    illegal_reason: Option<String>,
    illegal_content: Option<String>,
    rule_name: Option<String>,
    rule_url: Option<String>,
    adjust_guide_url: Option<String>,
    detail: Option<String>,
}

impl Punishment {
    /// The punishment a push carries; None for any other push.
    pub fn parse(xml: &str) -> Result<Option<Self>, PushError> {
        let raw: RawPunishment =
            quick_xml::de::from_str(xml).map_err(|e| PushError::Malformed(e.to_string()))?;
        if raw.event.as_deref().map(str::trim) != Some("wxa_punish_event") {
            return Ok(None);
        }
        let create_time = number(raw.create_time, "CreateTime")?;
        let text = |v: Option<String>| v.map(|t| t.trim().to_owned()).unwrap_or_default();
        Ok(Some(Punishment {
            punish_id: required(raw.punish_id, "punish_id")?,
            event_type: number(raw.event_type, "event_type")?,
            punish_time: optional_number(raw.punish_time, "punish_time")?.unwrap_or(create_time),
            illegal_reason: text(raw.illegal_reason),
            illegal_content: text(raw.illegal_content),
            rule_name: text(raw.rule_name),
            rule_url: text(raw.rule_url),
            adjust_guide_url: text(raw.adjust_guide_url),
            detail: text(raw.detail),
        }))
    }
}

/// A `wxa_nickname_audit` push: WeChat decided a name change (`ret` 3 approved, 2 rejected).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NicknameAudit {
    pub approved: bool,
    pub nickname: String,
    pub reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawNicknameAudit {
    #[serde(rename = "Event")]
    event: Option<String>,
    ret: Option<String>,
    nickname: Option<String>,
    reason: Option<String>,
}

impl NicknameAudit {
    /// The decision a push carries; None for any other push.
    pub fn parse(xml: &str) -> Result<Option<Self>, PushError> {
        let raw: RawNicknameAudit =
            quick_xml::de::from_str(xml).map_err(|e| PushError::Malformed(e.to_string()))?;
        if raw.event.as_deref().map(str::trim) != Some("wxa_nickname_audit") {
            return Ok(None);
        }
        Ok(Some(NicknameAudit {
            approved: number(raw.ret, "ret")? == 3,
            nickname: required(raw.nickname, "nickname")?,
            reason: raw.reason.map(|r| r.trim().to_owned()).unwrap_or_default(),
        }))
    }
}

/// Replaces the text of elements that carry credentials (ticket, authorization codes) before a push is stored.
pub fn redact_credentials(xml: &str) -> String {
    const SENSITIVE: [&str; 3] = ["ComponentVerifyTicket", "AuthorizationCode", "auth_code"];
    let mut out = xml.to_owned();
    for tag in SENSITIVE {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut from = 0;
        while let Some(start) = out[from..].find(&open).map(|i| i + from + open.len()) {
            let Some(end) = out[start..].find(&close).map(|i| i + start) else {
                break;
            };
            out.replace_range(start..end, "***");
            from = start + 3 + close.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelope_with_appid_or_to_user() {
        let (env, enc) = Envelope::parse(
            "<xml><AppId><![CDATA[wx1]]></AppId><Encrypt><![CDATA[abc]]></Encrypt></xml>",
        )
        .unwrap();
        assert_eq!(env.app_id.as_deref(), Some("wx1"));
        assert_eq!(enc, "abc");
        let (env, _) =
            Envelope::parse("<xml><ToUserName>gh_1</ToUserName><Encrypt>x</Encrypt></xml>")
                .unwrap();
        assert_eq!(env.to_user_name.as_deref(), Some("gh_1"));
    }

    #[test]
    fn envelope_without_encrypt_or_malformed_is_rejected() {
        assert_eq!(
            Envelope::parse("<xml><AppId>wx1</AppId></xml>").unwrap_err(),
            PushError::MissingField("Encrypt")
        );
        assert!(matches!(
            Envelope::parse("<xml><Encrypt>abc</Encr"),
            Err(PushError::Malformed(_))
        ));
        assert!(matches!(Envelope::parse("not xml at all"), Err(_)));
    }

    #[test]
    fn parses_verify_ticket() {
        let xml = "<xml><AppId><![CDATA[wxc0]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@abc]]></ComponentVerifyTicket></xml>";
        let ev = AuthEvent::parse(xml).unwrap();
        assert_eq!(
            ev,
            AuthEvent::VerifyTicket {
                component_appid: "wxc0".into(),
                create_time: 1413192605,
                ticket: "ticket@@@abc".into()
            }
        );
        assert_eq!(ev.dedup_key(), "component_verify_ticket|1413192605|-");
    }

    #[test]
    fn parses_authorized_and_updateauthorized() {
        for (info, update) in [("authorized", false), ("updateauthorized", true)] {
            let xml = format!("<xml><AppId>wxc0</AppId><CreateTime>1413192760</CreateTime><InfoType>{info}</InfoType><AuthorizerAppid>wxa1</AuthorizerAppid><AuthorizationCode>code1</AuthorizationCode><AuthorizationCodeExpiredTime>1413196360</AuthorizationCodeExpiredTime><PreAuthCode>pre</PreAuthCode></xml>");
            let ev = AuthEvent::parse(&xml).unwrap();
            assert_eq!(
                ev,
                AuthEvent::Authorized {
                    component_appid: "wxc0".into(),
                    create_time: 1413192760,
                    authorizer_appid: "wxa1".into(),
                    authorization_code: "code1".into(),
                    code_expires_at: Some(1413196360),
                    update,
                }
            );
            assert_eq!(ev.type_name(), info);
        }
    }

    #[test]
    fn parses_unauthorized() {
        let xml = "<xml><AppId>wxc0</AppId><CreateTime>1</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>wxa1</AuthorizerAppid></xml>";
        assert_eq!(
            AuthEvent::parse(xml).unwrap(),
            AuthEvent::Unauthorized {
                component_appid: "wxc0".into(),
                create_time: 1,
                authorizer_appid: "wxa1".into()
            }
        );
    }

    #[test]
    fn parses_fast_register_with_lower_case_fields() {
        let xml = "<xml><AppId><![CDATA[wxc0]]></AppId><CreateTime>1535442403</CreateTime><InfoType><![CDATA[notify_third_fasteregister]]></InfoType><appid>wxnew</appid><status>0</status><auth_code>xxx</auth_code><msg>OK</msg><info><name><![CDATA[shop]]></name><code><![CDATA[123]]></code><code_type>1</code_type><legal_persona_wechat><![CDATA[lp]]></legal_persona_wechat><legal_persona_name><![CDATA[Li]]></legal_persona_name><component_phone><![CDATA[1234]]></component_phone></info></xml>";
        let AuthEvent::FastRegister {
            appid,
            status,
            auth_code,
            info,
            ..
        } = AuthEvent::parse(xml).unwrap()
        else {
            panic!("expected fast register")
        };
        assert_eq!(appid.as_deref(), Some("wxnew"));
        assert_eq!(status, 0);
        assert_eq!(auth_code.as_deref(), Some("xxx"));
        assert_eq!(info.name.as_deref(), Some("shop"));
        assert_eq!(info.code_type.as_deref(), Some("1"));
    }

    #[test]
    fn unknown_info_type_is_other() {
        let xml = "<xml><AppId>wxc0</AppId><CreateTime>5</CreateTime><InfoType>something_new</InfoType><Foo>bar</Foo></xml>";
        assert_eq!(
            AuthEvent::parse(xml).unwrap(),
            AuthEvent::Other {
                component_appid: "wxc0".into(),
                create_time: 5,
                info_type: "something_new".into()
            }
        );
    }

    #[test]
    fn missing_or_bad_fields_are_errors() {
        let no_ticket = "<xml><AppId>wxc0</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType></xml>";
        assert_eq!(
            AuthEvent::parse(no_ticket).unwrap_err(),
            PushError::MissingField("ComponentVerifyTicket")
        );
        let bad_time = "<xml><AppId>wxc0</AppId><CreateTime>soon</CreateTime><InfoType>unauthorized</InfoType></xml>";
        assert_eq!(
            AuthEvent::parse(bad_time).unwrap_err(),
            PushError::NotANumber("CreateTime")
        );
        assert!(AuthEvent::parse("<xml><AppId>wx").is_err());
    }

    #[test]
    fn parses_audit_events() {
        let ok = "<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M-fNQI5Gcq-trm4a7apsU8]]></FromUserName><CreateTime>1488856741</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event><SuccTime>1488856741</SuccTime></xml>";
        let ev = MessageEvent::parse(ok).unwrap();
        assert_eq!(
            ev,
            MessageEvent::AuditSuccess {
                to_user: "gh_fb9688c2a4b2".into(),
                create_time: 1488856741,
                succ_time: Some(1488856741)
            }
        );
        assert_eq!(
            ev.dedup_key(),
            "weapp_audit_success|gh_fb9688c2a4b2|1488856741"
        );

        let fail = "<xml><ToUserName>gh_1</ToUserName><FromUserName>o</FromUserName><CreateTime>2</CreateTime><MsgType>event</MsgType><Event>weapp_audit_fail</Event><Reason><![CDATA[1:bad <b>]]></Reason><FailTime>3</FailTime><ScreenShot>m1|m2</ScreenShot></xml>";
        assert_eq!(
            MessageEvent::parse(fail).unwrap(),
            MessageEvent::AuditFail {
                to_user: "gh_1".into(),
                create_time: 2,
                reason: "1:bad <b>".into(),
                fail_time: Some(3),
                screenshot: Some("m1|m2".into())
            }
        );
        let delay = "<xml><ToUserName>gh_1</ToUserName><CreateTime>2</CreateTime><MsgType>event</MsgType><Event>weapp_audit_delay</Event><Reason>busy</Reason><DelayTime>9</DelayTime></xml>";
        assert!(matches!(
            MessageEvent::parse(delay).unwrap(),
            MessageEvent::AuditDelay {
                delay_time: Some(9),
                ..
            }
        ));
    }

    #[test]
    fn a_punishment_push_is_read_with_its_fields_and_other_pushes_carry_none() {
        let xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName>\
                   <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
                   <Event><![CDATA[wxa_punish_event]]></Event><event_type>2</event_type>\
                   <punish_id><![CDATA[p-77]]></punish_id><appid><![CDATA[wxa]]></appid>\
                   <punish_time>1699999990</punish_time><illegal_reason><![CDATA[虚假宣传]]></illegal_reason>\
                   <illegal_content><![CDATA[page x]]></illegal_content><rule_name><![CDATA[rule 3.1]]></rule_name>\
                   <rule_url><![CDATA[https://example.com/r]]></rule_url>\
                   <adjust_guide_url><![CDATA[https://example.com/g]]></adjust_guide_url>\
                   <detail><![CDATA[{\"banned_days\":7}]]></detail></xml>";
        let p = Punishment::parse(xml).unwrap().unwrap();
        assert_eq!(
            (p.punish_id.as_str(), p.event_type, p.punish_time),
            ("p-77", 2, 1699999990)
        );
        assert_eq!(p.illegal_reason, "虚假宣传");
        assert_eq!(p.detail, "{\"banned_days\":7}");
        assert!(matches!(
            MessageEvent::parse(xml).unwrap(),
            MessageEvent::Other { .. }
        ));
        let ok = "<xml><ToUserName>gh_1</ToUserName><CreateTime>2</CreateTime><MsgType>event</MsgType><Event>weapp_audit_success</Event></xml>";
        assert_eq!(Punishment::parse(ok).unwrap(), None);
        let missing = xml.replace("<punish_id><![CDATA[p-77]]></punish_id>", "");
        assert_eq!(
            Punishment::parse(&missing),
            Err(PushError::MissingField("punish_id"))
        );
    }

    #[test]
    fn ordinary_message_is_other_and_deduplicated_by_msg_id() {
        let xml = "<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>7</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>42</MsgId></xml>";
        let ev = MessageEvent::parse(xml).unwrap();
        assert_eq!(ev.type_name(), "text");
        assert_eq!(ev.dedup_key(), "msg|42");
    }

    #[test]
    fn redacts_credentials() {
        let xml = "<xml><ComponentVerifyTicket><![CDATA[secret-ticket]]></ComponentVerifyTicket><AuthorizationCode>code</AuthorizationCode><auth_code>a</auth_code></xml>";
        let red = redact_credentials(xml);
        assert!(!red.contains("secret-ticket") && !red.contains(">code<") && !red.contains(">a<"));
        assert_eq!(red.matches("***").count(), 3);
    }
}

/// Fuzz-style properties over the whole inbound path: whatever arrives after a valid signature
/// (arbitrary text, XML-like noise, truncated real events) parses to a value or a clean error.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::wechat::crypto::MsgCrypt;
    use proptest::prelude::*;

    const REAL: &str = "<xml><AppId><![CDATA[wx0123456789abcdef]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid>wxa1</AuthorizerAppid><AuthorizationCode>c</AuthorizationCode></xml>";

    fn inbound(plaintext: &str) {
        let crypt = MsgCrypt::new(
            "token",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "wx0123456789abcdef",
        )
        .unwrap();
        let enc = crypt.encrypt(plaintext);
        let envelope = format!(
            "<xml><AppId>wx0123456789abcdef</AppId><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
        );
        let (_, encrypted) = Envelope::parse(&envelope).unwrap();
        let sig = crypt.msg_signature("1", "2", &encrypted);
        let plain = crypt
            .verify_and_decrypt(&sig, "1", "2", &encrypted)
            .unwrap();
        let _ = AuthEvent::parse(&plain);
        let _ = MessageEvent::parse(&plain);
    }

    proptest! {
        #[test]
        fn arbitrary_plaintext_never_panics(text in "\\PC{0,400}") {
            inbound(&text);
        }

        #[test]
        fn xml_like_noise_never_panics(text in "(<[A-Za-z]{1,8}>|</[A-Za-z]{1,8}>|<!\\[CDATA\\[|\\]\\]>|[A-Za-z0-9 &;<>/]){0,60}") {
            inbound(&text);
        }

        #[test]
        fn truncated_real_events_never_panic(cut in 0usize..250) {
            inbound(&REAL[..cut.min(REAL.len())]);
        }

        #[test]
        fn arbitrary_envelopes_never_panic(text in "\\PC{0,300}") {
            let _ = Envelope::parse(&text);
            let _ = redact_credentials(&text);
        }
    }
}
