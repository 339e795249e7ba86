//! Fast registration (代注册): the platform asks WeChat to create a mini-program for a company or a person
//! (WeChat's current APIs, `new_version: true`, which answer a link the legal person or the person opens within
//! 24 h), WeChat pushes `notify_third_fasteregister` once it is confirmed, and the push's authorization code makes
//! the new mini-program an authorizer of the component, linked to the merchant it was registered for.
use serde::Deserialize;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::error::{AppError, AppResult};
use crate::services::callbacks::authorize_with_code;
use crate::services::tokens::with_component_token;
use crate::store::registrations::{self as store, RegTask, AWAITING, FAILED, REGISTERED};
use crate::wechat::push::FastRegisterInfo;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    /// `company` (a unified social credit code) or `person` (a WeChat id and the person's name).
    pub kind: String,
    /// Company: its registered name.
    pub name: Option<String>,
    /// Company: its 18-character unified social credit code.
    pub code: Option<String>,
    /// Person: the WeChat id that confirms and becomes the administrator.
    pub wechat_id: Option<String>,
    /// Person: the name on the person's identity card.
    pub person_name: Option<String>,
    /// A phone number WeChat may call the platform at.
    pub component_phone: Option<String>,
    /// Operators: the merchant the new mini-program goes to (merchants register for themselves).
    pub merchant: Option<String>,
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::BadRequest(msg.into())
}

fn text(field: &str, value: Option<&str>, max: usize) -> AppResult<String> {
    let v = value.map(str::trim).unwrap_or_default();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(bad(format!(
            "{field} is required, at most {max} characters"
        )));
    }
    Ok(v.to_owned())
}

/// WeChat's body for the request, after its rules: the endpoint and the JSON.
pub fn wechat_body(req: &RegisterRequest) -> AppResult<(&'static str, serde_json::Value)> {
    use serde_json::json;
    if let Some(phone) = &req.component_phone {
        if phone.len() > 20
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
        {
            return Err(bad("componentPhone must be a phone number"));
        }
    }
    match req.kind.as_str() {
        "company" => {
            if req.wechat_id.is_some() || req.person_name.is_some() {
                return Err(bad("a company registers with name and code only"));
            }
            let name = text("name", req.name.as_deref(), 100)?;
            let code = text("code", req.code.as_deref(), 18)?;
            if code.len() != 18
                || !code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            {
                return Err(bad(
                    "code must be the 18-character unified social credit code (digits and capital letters)",
                ));
            }
            let mut body = json!({"name": name, "code": code, "new_version": true});
            if let Some(p) = &req.component_phone {
                body["component_phone"] = json!(p);
            }
            Ok(("/wxa/component/fastregisterenterpriseweapp", body))
        }
        "person" => {
            if req.name.is_some() || req.code.is_some() {
                return Err(bad("a person registers with wechatId and personName only"));
            }
            let wxuser = text("wechatId", req.wechat_id.as_deref(), 64)?;
            let idname = text("personName", req.person_name.as_deref(), 64)?;
            let mut body = json!({"wxuser": wxuser, "idname": idname, "new_version": true});
            if let Some(p) = &req.component_phone {
                body["component_phone"] = json!(p);
            }
            Ok((
                "/wxa/component/fastregisterpersonalweapp?action=create",
                body,
            ))
        }
        _ => Err(bad("kind must be company or person")),
    }
}

/// `POST /register/create`: asks WeChat, and records the task with its confirmation link.
pub async fn create(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: RegisterRequest,
) -> AppResult<RegTask> {
    let (endpoint, body) = wechat_body(&req)?;
    let merchant = match caller.role {
        Role::Merchant if req.merchant.is_some() => {
            return Err(bad("merchants register for themselves: leave merchant out"))
        }
        Role::Merchant => Some(caller.sub.clone()),
        _ => req.merchant.clone(),
    };
    if let Some(m) = &merchant {
        crate::domain::ids::check("merchant", m)?;
    }
    let answer = with_component_token(deps, component, |cat| {
        let body = &body;
        async move { deps.wechat.fast_register(&cat, endpoint, body).await }
    })
    .await?;
    let task_id = answer["taskid"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| answer["taskid"].as_i64().map(|n| n.to_string()))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::Upstream(crate::wechat::client::WechatError::Decode(
                "no taskid".into(),
            ))
        })?;
    let now = now_secs();
    let task = RegTask {
        task_id,
        kind: req.kind.clone(),
        name: body["name"].as_str().map(str::to_owned),
        code: body["code"].as_str().map(str::to_owned),
        merchant,
        requested_by: caller.sub.clone(),
        state: AWAITING.into(),
        authorize_url: answer["authorize_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ma_app_id: None,
        message: None,
        created_at: now,
        updated_at: now,
    };
    if !store::create(&deps.table, component, &task).await? {
        return Err(AppError::Conflict(format!(
            "registration task {} is recorded already",
            task.task_id
        )));
    }
    tracing::info!(component, task = %task.task_id, kind = %task.kind, "fast registration asked");
    Ok(task)
}

/// `GET /register/status`: merchants see the tasks registering for them, operators every task of the component.
pub async fn status(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    task_id: &str,
) -> AppResult<RegTask> {
    crate::domain::ids::check("taskId", task_id)?;
    store::get(&deps.table, component, task_id)
        .await?
        .filter(|t| {
            caller.role != Role::Merchant || t.merchant.as_deref() == Some(caller.sub.as_str())
        })
        .ok_or_else(|| AppError::NotFound(format!("registration task {task_id}")))
}

/// The `notify_third_fasteregister` push: on success the new mini-program is authorized (its code exchanged) and
/// linked to the task's merchant; either way the task is settled. A push for no task of ours is only recorded.
pub async fn on_push(
    deps: &Deps,
    component: &str,
    status: i64,
    auth_code: Option<&str>,
    msg: Option<&str>,
    info: &FastRegisterInfo,
    create_time: i64,
) -> AppResult<()> {
    let task = match (&info.taskid, &info.code) {
        (Some(id), _) if !id.is_empty() => store::get(&deps.table, component, id).await?,
        (_, Some(code)) if !code.is_empty() => store::by_code(&deps.table, component, code).await?,
        _ => None,
    };
    let Some(task) = task else {
        tracing::warn!(
            component,
            "registration push for no task of this platform: recorded only"
        );
        return Ok(());
    };
    if task.state != AWAITING {
        return Ok(()); // settled by an earlier delivery
    }
    let now = now_secs();
    match (status, auth_code) {
        (0, Some(code)) => {
            let authorized =
                authorize_with_code(deps, component, code, create_time, task.merchant.as_deref())
                    .await?;
            store::settle(
                &deps.table,
                component,
                &task.task_id,
                REGISTERED,
                Some(&authorized.appid),
                None,
                now,
            )
            .await?;
            tracing::info!(component, task = %task.task_id, appid = %authorized.appid, "fast registration done");
        }
        _ => {
            let why = msg
                .filter(|m| !m.is_empty())
                .unwrap_or("WeChat refused the registration");
            store::settle(
                &deps.table,
                component,
                &task.task_id,
                FAILED,
                None,
                Some(why),
                now,
            )
            .await?;
            tracing::warn!(component, task = %task.task_id, status, "fast registration failed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: serde_json::Value) -> RegisterRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_company_and_a_person_are_asked_for_with_wechats_current_apis() {
        let (endpoint, body) = wechat_body(&req(
            serde_json::json!({"kind": "company", "name": "Tea Co.",
            "code": "91110000MA01ABCD3X", "componentPhone": "010-1234"}),
        ))
        .unwrap();
        assert_eq!(endpoint, "/wxa/component/fastregisterenterpriseweapp");
        assert_eq!(body["new_version"], true);
        assert_eq!(body["component_phone"], "010-1234");
        let (endpoint, body) = wechat_body(&req(
            serde_json::json!({"kind": "person", "wechatId": "tea_lady",
            "personName": "王芳"}),
        ))
        .unwrap();
        assert!(endpoint.starts_with("/wxa/component/fastregisterpersonalweapp"));
        assert_eq!(
            (body["wxuser"].as_str(), body["idname"].as_str()),
            (Some("tea_lady"), Some("王芳"))
        );
    }

    #[test]
    fn wechats_rules_for_a_registration_are_checked_first() {
        let refused = |v: serde_json::Value, mentions: &str| match wechat_body(&req(v)) {
            Err(AppError::BadRequest(m)) => assert!(m.contains(mentions), "{m}"),
            other => panic!("{other:?}"),
        };
        refused(serde_json::json!({"kind": "shop"}), "company or person");
        refused(
            serde_json::json!({"kind": "company", "code": "91110000MA01ABCD3X"}),
            "name",
        );
        refused(
            serde_json::json!({"kind": "company", "name": "T", "code": "123"}),
            "18-character",
        );
        refused(
            serde_json::json!({"kind": "company", "name": "T", "code": "91110000ma01abcd3x"}),
            "capital",
        );
        refused(
            serde_json::json!({"kind": "person", "wechatId": "x"}),
            "personName",
        );
        refused(
            serde_json::json!({"kind": "person", "wechatId": "x", "personName": "y", "code": "1"}),
            "only",
        );
        refused(
            serde_json::json!({"kind": "person", "wechatId": "x", "personName": "y", "componentPhone": "call me"}),
            "phone",
        );
    }
}
