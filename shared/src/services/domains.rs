//! Server and web-view domains of a merchant's mini-program. Entries are checked here (scheme, host only, list
//! sizes) so a typo is a clear 400 rather than a WeChat errcode.
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::{access::owned_mini_program, tokens::with_authorizer_token};

/// WeChat keeps at most 200 entries per list.
pub const MAX_PER_LIST: usize = 200;
const ACTIONS: [&str; 4] = ["add", "delete", "set", "get"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerDomains {
    pub ma_app_id: String,
    pub action: String,
    #[serde(default)]
    pub requestdomain: Vec<String>,
    #[serde(default)]
    pub wsrequestdomain: Vec<String>,
    #[serde(default)]
    pub uploaddomain: Vec<String>,
    #[serde(default)]
    pub downloaddomain: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebviewDomains {
    pub ma_app_id: String,
    pub action: String,
    #[serde(default)]
    pub webviewdomain: Vec<String>,
}

/// `scheme://host[:port]`, nothing after the host.
pub fn valid_domain(entry: &str, scheme: &str) -> bool {
    let Some(host) = entry
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
    else {
        return false;
    };
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !host.starts_with('.')
        && !host.starts_with('-')
}

fn check(action: &str, lists: &[(&str, &Vec<String>, &str)]) -> AppResult<Map<String, Value>> {
    if !ACTIONS.contains(&action) {
        return Err(AppError::BadRequest(
            "action must be add, delete, set or get".into(),
        ));
    }
    let mut body = Map::new();
    body.insert("action".into(), json!(action));
    if action == "get" {
        return Ok(body);
    }
    for (name, entries, scheme) in lists {
        if entries.len() > MAX_PER_LIST {
            return Err(AppError::BadRequest(format!(
                "{name} holds at most {MAX_PER_LIST} entries"
            )));
        }
        if let Some(bad) = entries.iter().find(|e| !valid_domain(e, scheme)) {
            return Err(AppError::BadRequest(format!(
                "{name}: {bad:?} is not a {scheme}://host entry"
            )));
        }
        body.insert((*name).into(), json!(entries));
    }
    Ok(body)
}

fn lists_of(answer: &Value, names: &[&str]) -> Value {
    let mut out = Map::new();
    for name in names {
        out.insert(
            (*name).into(),
            answer.get(*name).cloned().unwrap_or(json!([])),
        );
    }
    Value::Object(out)
}

/// `POST /domain/server`: answers the four lists as WeChat holds them after the change.
pub async fn server(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: ServerDomains,
) -> AppResult<Value> {
    let body = check(
        &req.action,
        &[
            ("requestdomain", &req.requestdomain, "https"),
            ("wsrequestdomain", &req.wsrequestdomain, "wss"),
            ("uploaddomain", &req.uploaddomain, "https"),
            ("downloaddomain", &req.downloaddomain, "https"),
        ],
    )?;
    let appid = req.ma_app_id.as_str();
    owned_mini_program(deps, merchant, component, appid).await?;
    let body = Value::Object(body);
    let answer = with_authorizer_token(deps, component, appid, |aat| {
        let body = body.clone();
        async move { deps.wechat.modify_domain(&aat, &body).await }
    })
    .await?;
    Ok(lists_of(
        &answer,
        &[
            "requestdomain",
            "wsrequestdomain",
            "uploaddomain",
            "downloaddomain",
        ],
    ))
}

/// `POST /domain/webview`.
pub async fn webview(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: WebviewDomains,
) -> AppResult<Value> {
    let body = check(
        &req.action,
        &[("webviewdomain", &req.webviewdomain, "https")],
    )?;
    let appid = req.ma_app_id.as_str();
    owned_mini_program(deps, merchant, component, appid).await?;
    let body = Value::Object(body);
    let answer = with_authorizer_token(deps, component, appid, |aat| {
        let body = body.clone();
        async move { deps.wechat.set_webview_domain(&aat, &body).await }
    })
    .await?;
    Ok(lists_of(&answer, &["webviewdomain"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_need_their_scheme_and_a_bare_host() {
        assert!(valid_domain("https://shop.example.com", "https"));
        assert!(valid_domain("wss://ws.example.com:8443", "wss"));
        assert!(!valid_domain("http://shop.example.com", "https"));
        assert!(!valid_domain("https://shop.example.com/path", "https"));
        assert!(!valid_domain("https://", "https"));
        assert!(!valid_domain("shop.example.com", "https"));
        assert!(!valid_domain("https://.example.com", "https"));
    }

    #[test]
    fn get_sends_no_lists_and_bad_actions_are_refused() {
        let lists = vec!["https://a.example.com".to_owned()];
        let body = check("get", &[("requestdomain", &lists, "https")]).unwrap();
        assert_eq!(Value::Object(body), json!({"action": "get"}));
        assert!(check("replace", &[]).is_err());
        let too_many = vec!["https://a.example.com".to_owned(); MAX_PER_LIST + 1];
        assert!(check("add", &[("requestdomain", &too_many, "https")]).is_err());
    }
}
