//! What a real WeChat account needs before an audit can pass, as pure rules: the privacy guide a template's code
//! calls for (its privacy keys, each with a purpose, and the location APIs it declares in `requiredPrivateInfos`),
//! the owner contact a merchant gives for that guide, and the server domains the code talks to.
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::domain::templates::Refusal;

/// WeChat's privacy keys (`setprivacysetting` `setting_list[].privacy_key`).
pub const PRIVACY_KEYS: [&str; 23] = [
    "UserInfo",
    "Location",
    "Address",
    "Invoice",
    "RunData",
    "Record",
    "Album",
    "Camera",
    "PhoneNumber",
    "Contact",
    "DeviceInfo",
    "EXIDNumber",
    "EXOrderInfo",
    "EXUserPublishContent",
    "EXUserFollowAcct",
    "EXUserOpLog",
    "AlbumWriteOnly",
    "LicensePlate",
    "BlueTooth",
    "CalendarWriteOnly",
    "Email",
    "MessageFile",
    "ChooseLocation",
];

/// The location APIs app.json / ext_json declare in `requiredPrivateInfos`.
pub const PRIVATE_INFOS: [&str; 8] = [
    "getFuzzyLocation",
    "getLocation",
    "onLocationChange",
    "startLocationUpdate",
    "startLocationUpdateBackground",
    "chooseLocation",
    "choosePoi",
    "chooseAddress",
];

/// Texts WeChat's audit rejects as placeholders.
const PLACEHOLDERS: [&str; 5] = ["不清楚", "111", "test", "todo", "xxx"];
pub const MAX_PRIVACY_TEXT_CHARS: usize = 200;
pub const MAX_TEMPLATE_DOMAINS: usize = 20;

/// One entry of a privacy guide: what the code collects and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivacySetting {
    pub privacy_key: String,
    pub privacy_text: String,
}

/// A template's privacy needs, fixed by its developer with the code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivacySpec {
    #[serde(default)]
    pub settings: Vec<PrivacySetting>,
    #[serde(default)]
    pub required_private_infos: Vec<String>,
    /// Privacy APIs WeChat's scan finds in the code but the code never calls (`privacy_api_not_use`).
    #[serde(default)]
    pub api_not_use: bool,
}

/// The server domains a template's code talks to (`scheme://host[:port]`), added to each mini-program before its
/// audit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerDomains {
    #[serde(default)]
    pub requestdomain: Vec<String>,
    #[serde(default)]
    pub wsrequestdomain: Vec<String>,
    #[serde(default)]
    pub uploaddomain: Vec<String>,
    #[serde(default)]
    pub downloaddomain: Vec<String>,
}

/// How the merchant can be reached about users' data (`owner_setting`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_qq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_weixin: Option<String>,
    /// How users are told about changes to the guide, e.g. "弹窗".
    pub notice_method: String,
    /// Until when data is kept (unix seconds); absent: as long as the service runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_expire_timestamp: Option<i64>,
}

fn invalid(msg: String) -> Refusal {
    Refusal::Invalid(msg)
}

pub fn validate_privacy(spec: &PrivacySpec) -> Result<(), Refusal> {
    if spec.settings.len() > PRIVACY_KEYS.len() {
        return Err(invalid(format!(
            "privacy.settings holds at most {} entries",
            PRIVACY_KEYS.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for s in &spec.settings {
        if !PRIVACY_KEYS.contains(&s.privacy_key.as_str()) {
            return Err(invalid(format!(
                "privacy key {:?} is not one of WeChat's",
                s.privacy_key
            )));
        }
        if !seen.insert(s.privacy_key.as_str()) {
            return Err(invalid(format!(
                "privacy key {} appears twice",
                s.privacy_key
            )));
        }
        let text = s.privacy_text.trim();
        let chars = text.chars().count();
        if !(2..=MAX_PRIVACY_TEXT_CHARS).contains(&chars) {
            return Err(invalid(format!(
                "the purpose of {} must be 2 to {MAX_PRIVACY_TEXT_CHARS} characters",
                s.privacy_key
            )));
        }
        if PLACEHOLDERS.iter().any(|p| text.eq_ignore_ascii_case(p)) {
            return Err(invalid(format!(
                "the purpose of {} is a placeholder WeChat's audit rejects; say what the data is used for",
                s.privacy_key
            )));
        }
    }
    if let Some(bad) = spec
        .required_private_infos
        .iter()
        .find(|i| !PRIVATE_INFOS.contains(&i.as_str()))
    {
        return Err(invalid(format!(
            "requiredPrivateInfos: {bad:?} is not one of {}",
            PRIVATE_INFOS.join(", ")
        )));
    }
    Ok(())
}

/// `scheme://host[:port]`, nothing after the host.
pub fn valid_domain(entry: &str, scheme: &str) -> bool {
    host_of(entry, scheme).is_some_and(valid_host)
}

fn host_of<'a>(entry: &'a str, scheme: &str) -> Option<&'a str> {
    entry
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
}

/// A bare host name (with an optional port) WeChat can register: no scheme, path or IP address.
pub fn valid_host(host: &str) -> bool {
    let name = host.split(':').next().unwrap_or_default();
    !name.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !host.starts_with('.')
        && !host.starts_with('-')
        && name.contains('.')
        && !name
            .split('.')
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && !name.eq_ignore_ascii_case("api.weixin.qq.com")
}

impl ServerDomains {
    pub fn lists(&self) -> [(&'static str, &Vec<String>, &'static str); 4] {
        [
            ("requestdomain", &self.requestdomain, "https"),
            ("wsrequestdomain", &self.wsrequestdomain, "wss"),
            ("uploaddomain", &self.uploaddomain, "https"),
            ("downloaddomain", &self.downloaddomain, "https"),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.lists().iter().all(|(_, l, _)| l.is_empty())
    }

    /// The hosts (with ports) the lists name: what the platform must have registered.
    pub fn hosts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, list, scheme) in self.lists() {
            for entry in list {
                if let Some(h) = host_of(entry, scheme) {
                    if !out.iter().any(|o| o == h) {
                        out.push(h.to_owned());
                    }
                }
            }
        }
        out
    }

    /// The entries a mini-program still lacks, given WeChat's current lists (`modify_domain` `get`); None when it
    /// has them all. A merchant's own extra domains are left alone: the body is for `action: add`.
    pub fn missing_from(&self, current: &Value) -> Option<Value> {
        let mut body = Map::new();
        for (name, list, _) in self.lists() {
            let have: Vec<&str> = current[name]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let lacking: Vec<&String> = list
                .iter()
                .filter(|d| !have.iter().any(|h| h.eq_ignore_ascii_case(d)))
                .collect();
            if !lacking.is_empty() {
                body.insert(name.into(), json!(lacking));
            }
        }
        (!body.is_empty()).then(|| {
            body.insert("action".into(), json!("add"));
            Value::Object(body)
        })
    }
}

pub fn validate_domains(domains: &ServerDomains) -> Result<(), Refusal> {
    for (name, list, scheme) in domains.lists() {
        if list.len() > MAX_TEMPLATE_DOMAINS {
            return Err(invalid(format!(
                "domains.{name} holds at most {MAX_TEMPLATE_DOMAINS} entries"
            )));
        }
        if let Some(bad) = list.iter().find(|e| !valid_domain(e, scheme)) {
            return Err(invalid(format!(
                "domains.{name}: {bad:?} is not a {scheme}://host entry (no path, no IP address)"
            )));
        }
    }
    Ok(())
}

pub fn validate_owner(owner: &OwnerSetting) -> Result<(), Refusal> {
    let contacts = [
        &owner.contact_email,
        &owner.contact_phone,
        &owner.contact_qq,
        &owner.contact_weixin,
    ];
    if contacts
        .iter()
        .all(|c| c.as_deref().is_none_or(str::is_empty))
    {
        return Err(invalid(
            "give at least one contact: contactEmail, contactPhone, contactQq or contactWeixin"
                .into(),
        ));
    }
    if let Some(email) = owner.contact_email.as_deref().filter(|e| !e.is_empty()) {
        let ok = email.len() <= 100
            && email.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty() && host.contains('.') && !host.contains('@')
            });
        if !ok {
            return Err(invalid(format!("contactEmail {email:?} is not an address")));
        }
    }
    if let Some(phone) = owner.contact_phone.as_deref().filter(|p| !p.is_empty()) {
        let ok = (5..=20).contains(&phone.len())
            && phone
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+');
        if !ok {
            return Err(invalid(format!(
                "contactPhone {phone:?} is not a phone number"
            )));
        }
    }
    if let Some(qq) = owner.contact_qq.as_deref().filter(|q| !q.is_empty()) {
        if !(5..=12).contains(&qq.len()) || !qq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(format!("contactQq {qq:?} is not a QQ number")));
        }
    }
    if let Some(weixin) = owner.contact_weixin.as_deref().filter(|w| !w.is_empty()) {
        if !(1..=64).contains(&weixin.chars().count()) {
            return Err(invalid(
                "contactWeixin must be at most 64 characters".into(),
            ));
        }
    }
    let method = owner.notice_method.trim().chars().count();
    if !(1..=50).contains(&method) {
        return Err(invalid(
            "noticeMethod (how users hear of changes, e.g. 弹窗) must be 1 to 50 characters".into(),
        ));
    }
    if owner.store_expire_timestamp.is_some_and(|t| t <= 0) {
        return Err(invalid("storeExpireTimestamp must be a unix time".into()));
    }
    Ok(())
}

/// The `setprivacysetting` body (version 2, the guide that goes out with the next release).
pub fn privacy_setting_body(spec: &PrivacySpec, owner: &OwnerSetting) -> Value {
    let mut owner_setting = json!({"notice_method": owner.notice_method});
    for (field, value) in [
        ("contact_email", &owner.contact_email),
        ("contact_phone", &owner.contact_phone),
        ("contact_qq", &owner.contact_qq),
        ("contact_weixin", &owner.contact_weixin),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            owner_setting[field] = json!(v);
        }
    }
    if let Some(t) = owner.store_expire_timestamp {
        owner_setting["store_expire_timestamp"] = json!(t.to_string());
    }
    let settings: Vec<Value> = spec
        .settings
        .iter()
        .map(|s| json!({"privacy_key": s.privacy_key, "privacy_text": s.privacy_text}))
        .collect();
    json!({"privacy_ver": 2, "owner_setting": owner_setting, "setting_list": settings})
}

/// WeChat's `owner_setting` as `getprivacysetting` answers it, when it names a contact and a notice method (a
/// guide set before, through WeChat or by us).
pub fn owner_from_wechat(owner: &Value) -> Option<OwnerSetting> {
    let text = |k: &str| {
        owner[k]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let found = OwnerSetting {
        contact_email: text("contact_email"),
        contact_phone: text("contact_phone"),
        contact_qq: text("contact_qq"),
        contact_weixin: text("contact_weixin"),
        notice_method: text("notice_method").unwrap_or_default(),
        store_expire_timestamp: text("store_expire_timestamp").and_then(|t| t.parse().ok()),
    };
    validate_owner(&found).is_ok().then_some(found)
}

/// Privacy keys WeChat found in the committed code that the template's guide does not explain.
pub fn unexplained_keys(spec: &PrivacySpec, detected: &[String]) -> Vec<String> {
    detected
        .iter()
        .filter(|k| !spec.settings.iter().any(|s| &s.privacy_key == *k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PrivacySpec {
        PrivacySpec {
            settings: vec![PrivacySetting {
                privacy_key: "Location".into(),
                privacy_text: "to show the nearest shop".into(),
            }],
            required_private_infos: vec!["getLocation".into()],
            api_not_use: false,
        }
    }

    fn owner() -> OwnerSetting {
        OwnerSetting {
            contact_email: Some("owner@shop.example.com".into()),
            notice_method: "弹窗".into(),
            ..Default::default()
        }
    }

    #[test]
    fn privacy_specs_name_wechats_keys_with_a_real_purpose() {
        assert!(validate_privacy(&spec()).is_ok());
        let mut bad = spec();
        bad.settings[0].privacy_key = "Telepathy".into();
        assert!(validate_privacy(&bad).is_err());
        let mut placeholder = spec();
        placeholder.settings[0].privacy_text = "不清楚".into();
        assert!(validate_privacy(&placeholder).is_err());
        let mut twice = spec();
        twice.settings.push(twice.settings[0].clone());
        assert!(validate_privacy(&twice).is_err());
        let mut api = spec();
        api.required_private_infos = vec!["readMind".into()];
        assert!(validate_privacy(&api).is_err());
    }

    #[test]
    fn an_owner_needs_a_contact_and_a_notice_method() {
        assert!(validate_owner(&owner()).is_ok());
        assert!(validate_owner(&OwnerSetting {
            notice_method: "弹窗".into(),
            ..Default::default()
        })
        .is_err());
        let mut no_method = owner();
        no_method.notice_method = " ".into();
        assert!(validate_owner(&no_method).is_err());
        let mut bad_mail = owner();
        bad_mail.contact_email = Some("nobody".into());
        assert!(validate_owner(&bad_mail).is_err());
        let mut bad_phone = owner();
        bad_phone.contact_phone = Some("call me".into());
        assert!(validate_owner(&bad_phone).is_err());
    }

    #[test]
    fn the_setting_body_is_version_2_with_only_given_contacts() {
        let body = privacy_setting_body(&spec(), &owner());
        assert_eq!(body["privacy_ver"], 2);
        assert_eq!(
            body["owner_setting"]["contact_email"],
            "owner@shop.example.com"
        );
        assert!(body["owner_setting"].get("contact_phone").is_none());
        assert_eq!(body["setting_list"][0]["privacy_key"], "Location");
        let back = owner_from_wechat(&body["owner_setting"]).unwrap();
        assert_eq!(back, owner());
        assert!(owner_from_wechat(&json!({"contact_email": "", "notice_method": ""})).is_none());
    }

    #[test]
    fn unexplained_keys_are_the_detected_ones_without_a_purpose() {
        let detected = vec!["Location".to_owned(), "Camera".to_owned()];
        assert_eq!(unexplained_keys(&spec(), &detected), vec!["Camera"]);
    }

    #[test]
    fn domains_are_bare_hosts_and_only_missing_ones_are_added() {
        assert!(valid_domain("https://shop.example.com", "https"));
        assert!(valid_domain("wss://ws.example.com:8443", "wss"));
        assert!(!valid_domain("http://shop.example.com", "https"));
        assert!(!valid_domain("https://shop.example.com/path", "https"));
        assert!(!valid_domain("https://10.0.0.1", "https"));
        assert!(!valid_domain("https://api.weixin.qq.com", "https"));
        assert!(!valid_domain("https://", "https"));
        let domains = ServerDomains {
            requestdomain: vec!["https://api.shop.example.com".into()],
            uploaddomain: vec!["https://img.shop.example.com".into()],
            ..Default::default()
        };
        assert!(validate_domains(&domains).is_ok());
        assert_eq!(
            domains.hosts(),
            vec!["api.shop.example.com", "img.shop.example.com"]
        );
        let current =
            json!({"requestdomain": ["https://API.shop.example.com", "https://own.example.com"]});
        let add = domains.missing_from(&current).unwrap();
        assert_eq!(
            add,
            json!({"action": "add", "uploaddomain": ["https://img.shop.example.com"]})
        );
        let all = json!({"requestdomain": ["https://api.shop.example.com"],
                         "uploaddomain": ["https://img.shop.example.com"]});
        assert!(domains.missing_from(&all).is_none());
    }
}
