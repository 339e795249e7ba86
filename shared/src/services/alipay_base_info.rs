//! An Alipay mini-program's base information (seed 004 §3): name, English name, slogan, description, categories,
//! service phone and e-mail, read from and changed at Alipay with the merchant's token. Its merchant acts on its own,
//! the workspace's operators on any; what Alipay would refuse for its length or form is refused here first, with
//! nothing sent.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::access::owned_alipay_mini_program;
use crate::services::alipay_auth::app_of;
use crate::services::alipay_images::{self, Purpose};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModifyRequest {
    pub mini_app_id: String,
    pub app_name: Option<String>,
    pub app_english_name: Option<String>,
    pub app_slogan: Option<String>,
    pub app_desc: Option<String>,
    /// `first_second` category ids, 1 to 4 of them.
    pub app_category_ids: Option<Vec<String>>,
    pub service_phone: Option<String>,
    pub service_email: Option<String>,
    /// A new logo: the key `/alipay/image/upload-url` answered (purpose `logo`), once the image is PUT there.
    pub app_logo: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseInfo {
    pub mini_app_id: String,
    /// Alipay's answer as it gave it (`app_name`, `app_slogan`, `category_names`, ...).
    pub alipay: Value,
    /// After a change: `SUCCESS` at once, or `AUDITING` when the mini-program has a released version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modify_status: Option<String>,
}

fn chars_between(field: &str, value: &str, low: usize, high: usize) -> AppResult<()> {
    let n = value.chars().count();
    if !(low..=high).contains(&n) {
        return Err(AppError::BadRequest(format!(
            "{field} must be {low} to {high} characters"
        )));
    }
    Ok(())
}

/// The form fields Alipay takes, after the same checks it makes.
fn fields(req: &ModifyRequest) -> AppResult<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    let text = [
        ("appName", "app_name", &req.app_name, 3, 30),
        (
            "appEnglishName",
            "app_english_name",
            &req.app_english_name,
            3,
            30,
        ),
        ("appSlogan", "app_slogan", &req.app_slogan, 10, 32),
        ("appDesc", "app_desc", &req.app_desc, 20, 400),
        ("servicePhone", "service_phone", &req.service_phone, 5, 30),
        ("serviceEmail", "service_email", &req.service_email, 3, 128),
    ];
    for (name, alipay_name, value, low, high) in text {
        if let Some(v) = value {
            chars_between(name, v, low, high)?;
            out.push((alipay_name, v.clone()));
        }
    }
    if let Some(name) = &req.app_name {
        let allowed = |c: char| c.is_alphanumeric() || "_+- ".contains(c);
        if !name.chars().all(allowed) {
            return Err(AppError::BadRequest(
                "appName may hold letters, digits, Chinese characters, spaces and _ + - only"
                    .into(),
            ));
        }
    }
    if let Some(phone) = &req.service_phone {
        if !phone.chars().all(|c| c.is_ascii_digit() || c == '-') {
            return Err(AppError::BadRequest(
                "servicePhone is digits and - only".into(),
            ));
        }
    }
    if let Some(email) = &req.service_email {
        let ok = email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if !ok {
            return Err(AppError::BadRequest(
                "serviceEmail is not an e-mail address".into(),
            ));
        }
    }
    if let Some(ids) = &req.app_category_ids {
        if !crate::domain::platform::valid_category_ids(ids) {
            return Err(AppError::BadRequest(
                "appCategoryIds are 1 to 4 first_second category ids (e.g. 20_21)".into(),
            ));
        }
        out.push(("app_category_ids", ids.join(";")));
    }
    if out.is_empty() && req.app_logo.is_none() {
        return Err(AppError::BadRequest(
            "nothing to change: give at least one field".into(),
        ));
    }
    Ok(out)
}

/// `GET /alipay/baseinfo?miniAppId=`.
pub async fn query(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    mini_app_id: &str,
) -> AppResult<BaseInfo> {
    let authorization = owned_alipay_mini_program(deps, caller, component, mini_app_id).await?;
    let app = app_of(deps, component).await?;
    let mut answer = deps
        .alipay
        .baseinfo_query(&app, &authorization.app_auth_token)
        .await?;
    strip_status(&mut answer);
    Ok(BaseInfo {
        mini_app_id: mini_app_id.to_owned(),
        alipay: answer,
        modify_status: None,
    })
}

/// `POST /alipay/baseinfo/modify`.
pub async fn modify(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    req: ModifyRequest,
) -> AppResult<BaseInfo> {
    let form = fields(&req)?;
    if let Some(key) = &req.app_logo {
        alipay_images::check_key(component, &req.mini_app_id, Purpose::Logo, key)?;
    }
    let authorization =
        owned_alipay_mini_program(deps, caller, component, &req.mini_app_id).await?;
    let mut files = Vec::new();
    if let Some(key) = &req.app_logo {
        files.push(alipay_images::logo(deps, component, &req.mini_app_id, key).await?);
    }
    let app = app_of(deps, component).await?;
    let changed = deps
        .alipay
        .baseinfo_modify(&app, &authorization.app_auth_token, &form, &files)
        .await?;
    tracing::info!(component, mini_app_id = %req.mini_app_id, fields = form.len(), "Alipay base info changed");
    let mut info = query(deps, caller, component, &req.mini_app_id).await?;
    info.modify_status = changed["modify_status"].as_str().map(str::to_owned);
    Ok(info)
}

/// Alipay's success code and message say nothing to our caller.
fn strip_status(answer: &mut Value) {
    if let Some(o) = answer.as_object_mut() {
        o.remove("code");
        o.remove("msg");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: serde_json::Value) -> ModifyRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn fields_are_checked_as_alipay_checks_them() {
        let ok = request(
            serde_json::json!({"miniAppId": "2021004000000001", "appName": "安茶 Tea",
            "appSlogan": "湖边的一杯好茶，慢慢喝", "appCategoryIds": ["20_21", "30_31"], "servicePhone": "0571-8888"}),
        );
        let form = fields(&ok).unwrap();
        assert!(form.contains(&("app_category_ids", "20_21;30_31".into())));
        assert!(form.contains(&("app_name", "安茶 Tea".into())));
        for bad in [
            serde_json::json!({"appName": "茶"}),
            serde_json::json!({"appName": "Tea<script>"}),
            serde_json::json!({"appSlogan": "too short"}),
            serde_json::json!({"appDesc": "short"}),
            serde_json::json!({"servicePhone": "call me"}),
            serde_json::json!({"serviceEmail": "nobody"}),
            serde_json::json!({"appCategoryIds": []}),
            serde_json::json!({"appCategoryIds": ["1_2", "3_4", "5_6", "7_8", "9_10"]}),
            serde_json::json!({"appCategoryIds": ["food"]}),
            serde_json::json!({}),
        ] {
            let mut v = bad.clone();
            v["miniAppId"] = "2021004000000001".into();
            assert!(fields(&request(v)).is_err(), "{bad}");
        }
    }
}
