//! Forwarding (消息转发): rules that send each matching WeChat push, decrypted, as JSON to a tenant's endpoint,
//! signed with the rule's own secret. What a rule matches, what it may point at, how a delivery is signed and when
//! it is tried again — no I/O here.
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::error::{AppError, AppResult};

/// Rules per component.
pub const MAX_RULES: i64 = 20;
/// Tries of one delivery, the first included; after the last it is dead-lettered.
pub const MAX_ATTEMPTS: i64 = 5;
const URL_MAX: usize = 512;
const MATCH_VALUES_MAX: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleRequest {
    pub name: String,
    pub url: String,
    /// Auth-event pushes by `InfoType` (`authorized`, `unauthorized`, ...).
    #[serde(default)]
    pub info_types: Vec<String>,
    /// Message pushes by `MsgType` (`event`, `text`, ...).
    #[serde(default)]
    pub msg_types: Vec<String>,
    /// Message pushes by `Event` (`weapp_audit_success`, `wxa_punish_event`, ...).
    #[serde(default)]
    pub events: Vec<String>,
    /// Only pushes about these mini-programs.
    #[serde(default)]
    pub appids: Vec<String>,
}

/// What a rule matches. An empty list matches anything; a rule with only `infoTypes` matches no message push and
/// one with only `msgTypes`/`events` no auth-event push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    pub info_types: Vec<String>,
    pub msg_types: Vec<String>,
    pub events: Vec<String>,
    pub appids: Vec<String>,
}

/// The facts of one push a rule is matched on.
#[derive(Debug, Default)]
pub struct PushFacts<'a> {
    pub info_type: Option<&'a str>,
    pub msg_type: Option<&'a str>,
    pub event: Option<&'a str>,
    pub appid: Option<&'a str>,
}

fn any_or(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l == v))
}

impl Matcher {
    pub fn matches(&self, push: &PushFacts<'_>) -> bool {
        let auth_only =
            !self.info_types.is_empty() && self.msg_types.is_empty() && self.events.is_empty();
        let message_only =
            self.info_types.is_empty() && (!self.msg_types.is_empty() || !self.events.is_empty());
        let kind_ok = match push.info_type {
            Some(_) => !message_only && any_or(&self.info_types, push.info_type),
            None => {
                !auth_only
                    && any_or(&self.msg_types, push.msg_type)
                    && any_or(&self.events, push.event)
            }
        };
        kind_ok && any_or(&self.appids, push.appid)
    }
}

fn check_values(field: &str, values: &[String]) -> AppResult<()> {
    if values.len() > MATCH_VALUES_MAX {
        return Err(AppError::BadRequest(format!(
            "{field} takes at most {MATCH_VALUES_MAX} values"
        )));
    }
    if let Some(v) = values.iter().find(|v| {
        v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) {
        return Err(AppError::BadRequest(format!(
            "{field}: {v:?} is not a WeChat name (letters, digits, _)"
        )));
    }
    Ok(())
}

/// Where forwards may go: https to a host with a dot that is not an address of this network; plain http or a
/// loopback address only where the deployment allows it (the local stack's test receivers).
pub fn check_url(url: &str, allow_loopback: bool) -> AppResult<()> {
    let bad = |why: &str| AppError::BadRequest(format!("url {why}"));
    if url.len() > URL_MAX || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(&format!(
            "must be at most {URL_MAX} characters, without spaces"
        )));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("must start with https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("must not carry credentials"));
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    if allow_loopback && loopback && matches!(scheme, "http" | "https") {
        return Ok(());
    }
    if scheme != "https" {
        return Err(bad("must start with https://"));
    }
    let ip_like = host.starts_with('[') || host.chars().all(|c| c.is_ascii_digit() || c == '.');
    if loopback
        || ip_like
        || !host.contains('.')
        || host.ends_with(".internal")
        || host.ends_with(".local")
    {
        return Err(bad("must name a public host, not an address"));
    }
    Ok(())
}

impl RuleRequest {
    pub fn validate(&self, allow_loopback: bool) -> AppResult<Matcher> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(AppError::BadRequest(
                "name must be 1 to 64 characters".into(),
            ));
        }
        check_url(&self.url, allow_loopback)?;
        check_values("infoTypes", &self.info_types)?;
        check_values("msgTypes", &self.msg_types)?;
        check_values("events", &self.events)?;
        if self.appids.len() > MATCH_VALUES_MAX {
            return Err(AppError::BadRequest(format!(
                "appids takes at most {MATCH_VALUES_MAX} values"
            )));
        }
        for appid in &self.appids {
            crate::domain::ids::check("appids", appid)?;
        }
        Ok(Matcher {
            info_types: self.info_types.clone(),
            msg_types: self.msg_types.clone(),
            events: self.events.clone(),
            appids: self.appids.clone(),
        })
    }
}

/// `X-Signature`: `sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}` under the rule's secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "sha256={}",
        crate::domain::ids::hex_lower(&mac.finalize().into_bytes())
    )
}

/// Seconds before try `attempt + 1` after try `attempt` failed: `base`, then doubling, at most 15 minutes.
pub fn retry_delay(base: i64, attempt: i64) -> i64 {
    (base.max(1) << (attempt - 1).clamp(0, 20)).min(900)
}

/// A push's decrypted XML as JSON: each element of `<xml>` by its name, text as a string, nested elements as an
/// object. Elements that carry credentials (tickets, authorization codes) are left out.
pub fn push_as_json(xml: &str) -> Result<Value, String> {
    use quick_xml::events::Event;
    const LEFT_OUT: [&str; 3] = ["ComponentVerifyTicket", "AuthorizationCode", "auth_code"];
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root: Option<Map<String, Value>> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let name = e.name().0.to_owned();
                stack.push((name, Map::new(), String::new()));
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.into_inner());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(ch) => ch,
                    None => match &*r.into_inner() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.2.push(ch);
                }
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().ok_or("unbalanced XML")?;
                let value = if children.is_empty() {
                    Value::String(text.trim().to_owned())
                } else {
                    Value::Object(children)
                };
                match stack.last_mut() {
                    Some(parent) if !LEFT_OUT.contains(&name.as_str()) => {
                        parent.1.insert(name, value);
                    }
                    Some(_) => {}
                    None => {
                        root = Some(match value {
                            Value::Object(m) => m,
                            _ => Map::new(),
                        })
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.map(Value::Object)
        .ok_or_else(|| "no <xml> element".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matcher(info: &[&str], msg: &[&str], events: &[&str], appids: &[&str]) -> Matcher {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Matcher {
            info_types: v(info),
            msg_types: v(msg),
            events: v(events),
            appids: v(appids),
        }
    }

    #[test]
    fn a_rule_matches_by_info_type_msg_type_event_and_appid() {
        let authorized = PushFacts {
            info_type: Some("authorized"),
            appid: Some("wxa"),
            ..Default::default()
        };
        let audit = PushFacts {
            msg_type: Some("event"),
            event: Some("weapp_audit_success"),
            appid: Some("wxa"),
            ..Default::default()
        };
        let everything = matcher(&[], &[], &[], &[]);
        assert!(everything.matches(&authorized) && everything.matches(&audit));
        let auth_only = matcher(&["authorized"], &[], &[], &[]);
        assert!(auth_only.matches(&authorized) && !auth_only.matches(&audit));
        let audits = matcher(&[], &["event"], &["weapp_audit_success"], &[]);
        assert!(audits.matches(&audit) && !audits.matches(&authorized));
        assert!(!matcher(&[], &[], &["weapp_audit_fail"], &[]).matches(&audit));
        assert!(!matcher(&[], &[], &[], &["wxb"]).matches(&audit));
        assert!(matcher(&[], &[], &[], &["wxb", "wxa"]).matches(&audit));
    }

    #[test]
    fn forwards_go_to_public_https_hosts_only_unless_loopback_is_allowed() {
        assert!(check_url("https://hooks.example.com/wechat?x=1", false).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "https://127.0.0.1/",
            "https://localhost:8443/",
            "https://10.0.0.7/x",
            "https://169.254.169.254/latest",
            "https://[::1]/",
            "https://metadata.internal/",
            "https://user:pw@hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://intranet/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:40123/hook", true).is_ok());
        assert!(check_url("http://10.0.0.7/x", true).is_err());
    }

    #[test]
    fn a_delivery_is_signed_over_its_timestamp_and_body_and_retried_with_back_off() {
        let sig = signature("s3cret", 1_700_000_000, "{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert_ne!(sig, signature("other", 1_700_000_000, "{\"a\":1}"));
        assert_ne!(sig, signature("s3cret", 1_700_000_001, "{\"a\":1}"));
        assert_eq!(
            (1..=5).map(|a| retry_delay(2, a)).collect::<Vec<_>>(),
            vec![2, 4, 8, 16, 32]
        );
        assert_eq!(retry_delay(60, 10), 900);
    }

    #[test]
    fn a_push_becomes_json_without_its_credentials() {
        let xml = "<xml><AppId><![CDATA[wxc]]></AppId><CreateTime>17</CreateTime><InfoType><![CDATA[authorized]]></InfoType>\
                   <AuthorizationCode><![CDATA[queryauthcode@@@secret]]></AuthorizationCode>\
                   <info><name>Tom &amp; Jerry&#33;</name></info></xml>";
        let v = push_as_json(xml).unwrap();
        assert_eq!(
            v,
            json!({"AppId": "wxc", "CreateTime": "17", "InfoType": "authorized", "info": {"name": "Tom & Jerry!"}})
        );
        assert!(push_as_json("").is_err(), "no <xml> element");
    }
}
