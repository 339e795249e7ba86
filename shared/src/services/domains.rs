//! Server and web-view domains of a merchant's mini-program. Entries are checked here (scheme, host only, list
//! sizes) so a typo is a clear 400 rather than a WeChat errcode.
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::readiness::{valid_domain, valid_host};
use crate::error::{AppError, AppResult};
use crate::services::{
    access::owned_mini_program,
    tokens::{with_authorizer_token, with_component_token},
};

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

/// WeChat takes at most 1000 characters of `a.com;b.com` a call.
const MAX_PLATFORM_DOMAIN_CHARS: usize = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformDomains {
    pub action: String,
    #[serde(default)]
    pub domains: Vec<String>,
    /// Also change the domains of the platform's published configuration (default: the testing one only).
    #[serde(default)]
    pub published_too: bool,
}

/// WeChat answers the platform's lists as `a.com;b.com` strings.
fn split_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s
            .split(';')
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn platform_body(req: &PlatformDomains) -> AppResult<Value> {
    if !ACTIONS.contains(&req.action.as_str()) {
        return Err(AppError::BadRequest(
            "action must be add, delete, set or get".into(),
        ));
    }
    if req.action == "get" {
        return Ok(json!({"action": "get"}));
    }
    if req.domains.is_empty() && req.action != "set" {
        return Err(AppError::BadRequest(
            "domains must name at least one host".into(),
        ));
    }
    if let Some(bad) = req.domains.iter().find(|d| !valid_host(d)) {
        return Err(AppError::BadRequest(format!(
            "{bad:?} is not a bare host name (no scheme, path or IP address; not api.weixin.qq.com)"
        )));
    }
    let joined = req.domains.join(";");
    if joined.len() > MAX_PLATFORM_DOMAIN_CHARS {
        return Err(AppError::BadRequest(format!(
            "domains take at most {MAX_PLATFORM_DOMAIN_CHARS} characters joined by ';'"
        )));
    }
    Ok(json!({"action": req.action, "wxa_server_domain": joined,
              "is_modify_published_together": req.published_too}))
}

/// `POST /component/domains`: the platform's server domains (`modify_wxa_server_domain`); every domain a template
/// needs must be registered here before it can be set on a mini-program.
pub async fn platform(deps: &Deps, component: &str, req: PlatformDomains) -> AppResult<Value> {
    let body = platform_body(&req)?;
    let answer = with_component_token(deps, component, |cat| {
        let body = body.clone();
        async move { deps.wechat.modify_platform_domains(&cat, &body).await }
    })
    .await?;
    if req.action != "get" {
        tracing::info!(component, action = %req.action, "platform server domains changed");
    }
    Ok(json!({
        "testing": split_list(&answer["testing_wxa_server_domain"]),
        "published": split_list(&answer["published_wxa_server_domain"]),
        "invalid": split_list(&answer["invalid_wxa_server_domain"]),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_sends_no_lists_and_bad_actions_are_refused() {
        let lists = vec!["https://a.example.com".to_owned()];
        let body = check("get", &[("requestdomain", &lists, "https")]).unwrap();
        assert_eq!(Value::Object(body), json!({"action": "get"}));
        assert!(check("replace", &[]).is_err());
        let too_many = vec!["https://a.example.com".to_owned(); MAX_PER_LIST + 1];
        assert!(check("add", &[("requestdomain", &too_many, "https")]).is_err());
    }

    #[test]
    fn platform_domains_are_bare_hosts_joined_by_semicolons() {
        let req = |action: &str, domains: &[&str]| PlatformDomains {
            action: action.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            published_too: false,
        };
        let body = platform_body(&req(
            "add",
            &["api.shop.example.com", "img.shop.example.com"],
        ))
        .unwrap();
        assert_eq!(
            body["wxa_server_domain"],
            "api.shop.example.com;img.shop.example.com"
        );
        assert_eq!(
            platform_body(&req("get", &[])).unwrap(),
            json!({"action": "get"})
        );
        assert!(platform_body(&req("add", &["https://api.shop.example.com"])).is_err());
        assert!(platform_body(&req("add", &["10.1.1.1"])).is_err());
        assert!(platform_body(&req("add", &[])).is_err());
        assert!(platform_body(&req("replace", &["a.example.com"])).is_err());
        assert_eq!(split_list(&json!("a.com;b.com")), vec!["a.com", "b.com"]);
        assert!(split_list(&json!("")).is_empty());
    }
}
