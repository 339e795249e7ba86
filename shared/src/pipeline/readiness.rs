//! What a real account needs before its audit, applied by the pipeline right before every `submit_audit`: the
//! template's server domains on the mini-program, WeChat's privacy scan of the committed code, and the privacy
//! guide (the template's settings with the merchant's owner contact). Plus `GET/POST /miniprogram/privacy`, where
//! merchants and operators give that contact, and `GET /miniprogram/readiness`, what a mini-program still lacks.
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::readiness::{self as rules, OwnerSetting, PrivacySpec, ServerDomains};
use crate::error::{AppError, AppResult};
use crate::pipeline::{self, host::CodeHost};
use crate::services::access::owned_mini_program;
use crate::store::filings::{self, Filing};
use crate::store::privacy;
use crate::store::templates as industry;
use crate::store::user_templates as saved_configs;
use crate::wechat::{errcode, WechatError};

/// Where a mini-program stands after `prepare`.
pub enum Prepared {
    /// Ready to submit; `privacy_api_not_use` goes into `submit_audit`.
    Ready { privacy_api_not_use: bool },
    /// WeChat's privacy scan of the new code still runs (61039): submit later.
    ScanRunning,
}

/// What can be settled before anything is committed, so that a mini-program that could never pass is refused with
/// nothing done at WeChat: a category to submit under, a privacy contact, and the template's server domains (added
/// now: they do not depend on the code).
pub async fn before_commit(
    deps: &Deps,
    component: &str,
    appid: &str,
    template: &industry::IndustryTemplate,
) -> AppResult<()> {
    require_category(deps, component, appid).await?;
    owner_contact(deps, component, appid, None).await?;
    add_domains(deps, component, appid, &template.domains).await
}

/// Refuses when the mini-program has no category to submit under.
async fn require_category(deps: &Deps, component: &str, appid: &str) -> AppResult<()> {
    let categories = pipeline::host(deps, component, appid).categories().await?;
    if categories.is_empty() {
        return Err(AppError::CategoryRequired(
            "the mini-program has no category: add one on WeChat before releasing".into(),
        ));
    }
    Ok(())
}

/// The guide's owner contact: the one given here, else the one in WeChat's current guide (`current`, asked for only
/// when needed and not given).
async fn owner_contact(
    deps: &Deps,
    component: &str,
    appid: &str,
    current: Option<&Value>,
) -> AppResult<OwnerSetting> {
    if let Some(stored) = privacy::get(&deps.table, component, appid).await? {
        return Ok(stored.owner);
    }
    let fetched;
    let current = match current {
        Some(c) => c,
        None => {
            fetched = pipeline::host(deps, component, appid)
                .privacy_setting()
                .await?;
            &fetched
        }
    };
    rules::owner_from_wechat(&current["owner_setting"]).ok_or_else(|| {
        AppError::PrivacyRequired(
            "the mini-program has no privacy contact: its merchant or an operator sets one with \
             POST /miniprogram/privacy"
                .into(),
        )
    })
}

/// Applies what the committed code (described by `commit_info`) needs before its audit, in WeChat's order: the
/// privacy scan, then the guide. Every step is idempotent, so a retried submission repeats it safely.
pub async fn prepare(
    deps: &Deps,
    component: &str,
    appid: &str,
    commit_info: &Value,
) -> AppResult<Prepared> {
    let template_id = commit_info["industryTemplateId"]
        .as_str()
        .unwrap_or_default();
    let spec = industry::get(&deps.table, component, template_id)
        .await?
        .map(|t| t.privacy)
        .unwrap_or_default();
    let scan = pipeline::host(deps, component, appid)
        .code_privacy_info()
        .await;
    let scan = match scan {
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::PRIVACY_SCAN_RUNNING) => {
            return Ok(Prepared::ScanRunning);
        }
        other => other?,
    };
    let undeclared = !scan.without_conf_list.is_empty() || !scan.without_auth_list.is_empty();
    if undeclared && !spec.api_not_use {
        return Err(AppError::PrivacyRequired(format!(
            "the code uses privacy APIs it does not declare (not in requiredPrivateInfos: {:?}; without \
             permission: {:?}): the developer declares them in the template's privacy.requiredPrivateInfos, or \
             sets privacy.apiNotUse when the code never calls them",
            scan.without_conf_list, scan.without_auth_list
        )));
    }
    apply_guide(deps, component, appid, &spec).await?;
    Ok(Prepared::Ready {
        privacy_api_not_use: undeclared && spec.api_not_use,
    })
}

/// Adds the template's server domains the mini-program lacks; leaves the merchant's own ones alone.
async fn add_domains(
    deps: &Deps,
    component: &str,
    appid: &str,
    domains: &ServerDomains,
) -> AppResult<()> {
    if domains.is_empty() {
        return Ok(());
    }
    let host = pipeline::host(deps, component, appid);
    let current = host.server_domains(&json!({"action": "get"})).await?;
    let Some(add) = domains.missing_from(&current) else {
        return Ok(());
    };
    let added = host.server_domains(&add).await;
    match added {
        Err(AppError::Upstream(e)) if e.errcode() == Some(errcode::DOMAIN_NOT_ON_PLATFORM) => {
            Err(AppError::DomainNotRegistered(format!(
                "the template's domains {:?} must first be registered on the platform: an operator adds them \
                 with POST /component/domains",
                domains.hosts()
            )))
        }
        other => other.map(|_| ()),
    }
}

/// Sets the privacy guide (version 2, released with the code) unless WeChat already holds exactly it. The owner
/// contact is the one given here, else the one WeChat already has for the mini-program.
async fn apply_guide(
    deps: &Deps,
    component: &str,
    appid: &str,
    spec: &PrivacySpec,
) -> AppResult<()> {
    let current = pipeline::host(deps, component, appid)
        .privacy_setting()
        .await?;
    let owner = owner_contact(deps, component, appid, Some(&current)).await?;
    let detected: Vec<String> =
        serde_json::from_value(current["privacy_list"].clone()).unwrap_or_default();
    let unexplained = rules::unexplained_keys(spec, &detected);
    if !unexplained.is_empty() {
        return Err(AppError::PrivacyRequired(format!(
            "WeChat found privacy keys {unexplained:?} in the code that the template's privacy guide does not \
             explain: the developer adds each with its purpose to the template's privacy.settings"
        )));
    }
    let body = rules::privacy_setting_body(spec, &owner);
    if holds_guide(&current, &body) {
        return Ok(());
    }
    pipeline::host(deps, component, appid)
        .set_privacy_setting(&body)
        .await
}

/// Whether WeChat's guide (`getprivacysetting`) already says what `body` would set.
fn holds_guide(current: &Value, body: &Value) -> bool {
    let pairs = |list: &Value| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["privacy_key"].as_str().unwrap_or_default().to_owned(),
                            e["privacy_text"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    let owner_same = body["owner_setting"]
        .as_object()
        .is_some_and(|o| o.iter().all(|(k, v)| current["owner_setting"][k] == *v));
    let update_time = current["update_time"].as_i64().unwrap_or(0);
    update_time > 0 && owner_same && pairs(&current["setting_list"]) == pairs(&body["setting_list"])
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPrivacyRequest {
    pub ma_app_id: String,
    pub owner_setting: OwnerSetting,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyView {
    pub ma_app_id: String,
    /// The contact given here (None: the pipeline falls back to WeChat's).
    pub owner_setting: Option<OwnerSetting>,
    pub updated_at: Option<i64>,
    /// The guide the mini-program's template calls for (None before it is decorated).
    pub template: Option<Value>,
    /// What WeChat holds now (`getprivacysetting`, version 2).
    pub wechat: Value,
}

/// `POST /miniprogram/privacy`: keeps the owner contact for the guide set before the next audit.
pub async fn set(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: SetPrivacyRequest,
) -> AppResult<PrivacyView> {
    rules::validate_owner(&req.owner_setting)?;
    owned_mini_program(deps, caller, component, &req.ma_app_id).await?;
    privacy::put(
        &deps.table,
        component,
        &req.ma_app_id,
        &req.owner_setting,
        &caller.sub,
        now_millis(),
    )
    .await?;
    tracing::info!(component, appid = %req.ma_app_id, "privacy contact set");
    view(deps, caller, component, &req.ma_app_id).await
}

/// `GET /miniprogram/privacy?maAppId=`.
pub async fn view(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<PrivacyView> {
    owned_mini_program(deps, caller, component, appid).await?;
    let stored = privacy::get(&deps.table, component, appid).await?;
    let template = match saved_configs::get(&deps.table, component, appid).await? {
        Some(saved) => industry::get(&deps.table, component, &saved.template_id)
            .await?
            .map(|t| json!({"id": t.id, "privacy": t.privacy, "domains": t.domains})),
        None => None,
    };
    let wechat = pipeline::host(deps, component, appid)
        .privacy_setting()
        .await;
    let wechat = match wechat {
        Ok(mut v) => {
            let obj = v.as_object_mut();
            if let Some(o) = obj {
                o.remove("errcode");
                o.remove("errmsg");
            }
            v
        }
        // The view still answers when WeChat cannot: what we hold is the useful part.
        Err(AppError::Upstream(e @ (WechatError::Transport(_) | WechatError::Status(_)))) => {
            json!({"unavailable": e.to_string()})
        }
        Err(e) => return Err(e),
    };
    Ok(PrivacyView {
        ma_app_id: appid.to_owned(),
        owner_setting: stored.as_ref().map(|s| s.owner.clone()),
        updated_at: stored.map(|s| s.updated_ms),
        template,
        wechat,
    })
}

/// The mini-program's ICP filing as WeChat reports it now, kept for listings.
pub async fn icp_filing(deps: &Deps, component: &str, appid: &str) -> AppResult<Filing> {
    let icp = pipeline::host(deps, component, appid).filing().await?;
    let filing = Filing {
        status: icp.status,
        filed: icp.is_filed(),
        checked_ms: now_millis(),
    };
    filings::record(&deps.table, component, appid, &filing).await?;
    Ok(filing)
}

/// What stands between a mini-program and going online on a real account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessView {
    pub ma_app_id: String,
    /// Categories it may submit under (an audit needs one).
    pub categories: usize,
    /// A privacy owner contact, given here or already in WeChat's guide (an audit needs one).
    pub privacy_contact: bool,
    /// The ICP filing (publishing needs it): WeChat's status, 6 when filed.
    pub icp_status: i64,
    pub icp_filed: bool,
    /// What is missing, by name: `category`, `privacyContact`, `icpFiling`; empty when ready.
    pub missing: Vec<&'static str>,
}

/// `GET /miniprogram/readiness?maAppId=`: asks WeChat now (categories, the current privacy guide when no contact
/// is stored, the ICP filing) and keeps the filing for listings.
pub async fn check(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<ReadinessView> {
    owned_mini_program(deps, caller, component, appid).await?;
    let categories = pipeline::host(deps, component, appid)
        .categories()
        .await?
        .len();
    let privacy_contact = match owner_contact(deps, component, appid, None).await {
        Ok(_) => true,
        Err(AppError::PrivacyRequired(_)) => false,
        Err(e) => return Err(e),
    };
    let icp = icp_filing(deps, component, appid).await?;
    let missing = [
        (categories == 0, "category"),
        (!privacy_contact, "privacyContact"),
        (!icp.filed, "icpFiling"),
    ]
    .into_iter()
    .filter_map(|(lacks, name)| lacks.then_some(name))
    .collect();
    Ok(ReadinessView {
        ma_app_id: appid.to_owned(),
        categories,
        privacy_contact,
        icp_status: icp.status,
        icp_filed: icp.filed,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guide_is_held_only_when_owner_and_settings_match() {
        let body = json!({"privacy_ver": 2, "owner_setting": {"contact_email": "a@b.cn", "notice_method": "弹窗"},
                          "setting_list": [{"privacy_key": "Location", "privacy_text": "nearest shop"}]});
        let mut current = json!({"update_time": 5,
            "owner_setting": {"contact_email": "a@b.cn", "contact_phone": "", "notice_method": "弹窗"},
            "setting_list": [{"privacy_key": "Location", "privacy_text": "nearest shop", "privacy_label": "位置"}]});
        assert!(holds_guide(&current, &body));
        current["setting_list"][0]["privacy_text"] = json!("other");
        assert!(!holds_guide(&current, &body));
        current["setting_list"][0]["privacy_text"] = json!("nearest shop");
        current["owner_setting"]["contact_email"] = json!("c@d.cn");
        assert!(!holds_guide(&current, &body));
        let never_set = json!({"update_time": 0, "owner_setting": {}, "setting_list": []});
        let empty = json!({"owner_setting": {}, "setting_list": []});
        assert!(!holds_guide(&never_set, &empty));
    }
}
