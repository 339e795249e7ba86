//! Ordinary-QR jump rules (扫普通链接二维码打开小程序): a link prefix the merchant already prints on QR codes opens
//! a page of the mini-program. WeChat's rules for a rule, checked before a call is spent.
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{AppError, AppResult};

const PREFIX_MAX: usize = 255;
const DEBUG_URLS_MAX: usize = 5;
const PATH_MAX: usize = 1024;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleRequest {
    pub ma_app_id: String,
    /// The link prefix, `https://shop.example.com/t/` (http or https, a host with a dot).
    pub prefix: String,
    /// The page it opens, `pages/table/index` (no leading `/`).
    pub path: String,
    /// `exclusive` (2, default): links under the prefix belong to this rule only; `shared` (1): longer prefixes
    /// may be given to other mini-programs.
    pub permit_sub_rule: Option<String>,
    /// Which build a scan opens: `release` (default), `trial` or `develop`.
    pub open_version: Option<String>,
    /// Up to 5 links under the prefix that open `open_version` even before the rule is published.
    #[serde(default)]
    pub debug_urls: Vec<String>,
    /// True to change a rule already added (WeChat's `is_edit`).
    #[serde(default)]
    pub edit: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrefixRequest {
    pub ma_app_id: String,
    pub prefix: String,
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::BadRequest(msg.into())
}

/// An http(s) link prefix with a dotted host, at most 255 characters, no spaces.
pub fn check_prefix(prefix: &str) -> AppResult<()> {
    let rest = prefix
        .strip_prefix("https://")
        .or_else(|| prefix.strip_prefix("http://"))
        .ok_or_else(|| bad("prefix must start with https:// or http://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if prefix.chars().count() > PREFIX_MAX
        || !host.contains('.')
        || host.starts_with('.')
        || host.ends_with('.')
        || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad(format!(
            "prefix must be a link with a domain, at most {PREFIX_MAX} characters: https://shop.example.com/t/"
        )));
    }
    Ok(())
}

impl RuleRequest {
    /// The body of `qrcodejumpadd`.
    pub fn wechat_body(&self) -> AppResult<Value> {
        check_prefix(&self.prefix)?;
        if self.path.is_empty()
            || self.path.chars().count() > PATH_MAX
            || self.path.starts_with('/')
        {
            return Err(bad(
                "path must be a page of the mini-program without a leading /: pages/index/index",
            ));
        }
        let permit_sub_rule = match self.permit_sub_rule.as_deref().unwrap_or("exclusive") {
            "shared" => 1,
            "exclusive" => 2,
            _ => return Err(bad("permitSubRule must be shared or exclusive")),
        };
        let open_version = match self.open_version.as_deref().unwrap_or("release") {
            "develop" => 1,
            "trial" => 2,
            "release" => 3,
            _ => return Err(bad("openVersion must be release, trial or develop")),
        };
        if self.debug_urls.len() > DEBUG_URLS_MAX {
            return Err(bad(format!("at most {DEBUG_URLS_MAX} debugUrls")));
        }
        if let Some(u) = self
            .debug_urls
            .iter()
            .find(|u| !u.starts_with(&self.prefix))
        {
            return Err(bad(format!(
                "debugUrls must start with the prefix: {u} does not"
            )));
        }
        Ok(json!({
            "prefix": self.prefix,
            "path": self.path,
            "permit_sub_rule": permit_sub_rule,
            "open_version": open_version,
            "debug_url": self.debug_urls,
            "is_edit": i32::from(self.edit),
        }))
    }
}

/// A rule as WeChat lists it, in the API's words.
pub fn rule_view(rule: &Value) -> Value {
    let permit = match rule["permit_sub_rule"].as_i64() {
        Some(1) => "shared",
        _ => "exclusive",
    };
    let version = match rule["open_version"].as_i64() {
        Some(1) => "develop",
        Some(2) => "trial",
        _ => "release",
    };
    let state = match rule["state"].as_i64() {
        Some(2) => "published",
        _ => "unpublished",
    };
    json!({
        "prefix": rule["prefix"],
        "path": rule["path"],
        "permitSubRule": permit,
        "openVersion": version,
        "debugUrls": rule["debug_url"].as_array().cloned().unwrap_or_default(),
        "state": state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: Value) -> RuleRequest {
        let mut v = v;
        v["maAppId"] = json!("wx0123456789abcdef");
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_rule_becomes_wechats_body_with_its_defaults() {
        let body = rule(
            json!({"prefix": "https://shop.example.com/t/", "path": "pages/table/index",
                               "debugUrls": ["https://shop.example.com/t/7"]}),
        )
        .wechat_body()
        .unwrap();
        assert_eq!(
            body,
            json!({"prefix": "https://shop.example.com/t/", "path": "pages/table/index", "permit_sub_rule": 2,
                   "open_version": 3, "debug_url": ["https://shop.example.com/t/7"], "is_edit": 0})
        );
        let view = rule_view(
            &json!({"prefix": "p", "path": "x", "permit_sub_rule": 1, "open_version": 2,
                                     "debug_url": [], "state": 2}),
        );
        assert_eq!(
            (&view["permitSubRule"], &view["openVersion"], &view["state"]),
            (&json!("shared"), &json!("trial"), &json!("published"))
        );
    }

    #[test]
    fn wechats_rules_for_a_rule_are_refused_before_a_call_is_spent() {
        let refused = |v: Value, mentions: &str| match rule(v).wechat_body() {
            Err(AppError::BadRequest(m)) => assert!(m.contains(mentions), "{m}"),
            other => panic!("{other:?}"),
        };
        let p = "https://shop.example.com/t/";
        refused(
            json!({"prefix": "ftp://shop.example.com/", "path": "pages/a"}),
            "https://",
        );
        refused(
            json!({"prefix": "https://localhost/", "path": "pages/a"}),
            "domain",
        );
        refused(
            json!({"prefix": format!("{p}{}", "a".repeat(250)), "path": "pages/a"}),
            "255",
        );
        refused(json!({"prefix": p, "path": "/pages/a"}), "leading /");
        refused(
            json!({"prefix": p, "path": "pages/a", "permitSubRule": "mine"}),
            "permitSubRule",
        );
        refused(
            json!({"prefix": p, "path": "pages/a", "openVersion": "beta"}),
            "openVersion",
        );
        refused(
            json!({"prefix": p, "path": "pages/a", "debugUrls": ["https://other.example.com/t/1"]}),
            "must start with the prefix",
        );
        let six: Vec<String> = (0..6).map(|i| format!("{p}{i}")).collect();
        refused(
            json!({"prefix": p, "path": "pages/a", "debugUrls": six}),
            "at most 5",
        );
    }
}
