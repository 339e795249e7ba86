//! Testers of a merchant's mini-program (who may open its trial version).
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::{access::owned_mini_program, tokens::with_authorizer_token};
use crate::store::testers as store;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TesterRequest {
    pub ma_app_id: String,
    pub wechat_id: Option<String>,
    pub userstr: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Tester {
    pub userstr: String,
    /// Known when the tester was bound through the platform.
    pub wechat_id: Option<String>,
    pub bound_at: Option<i64>,
}

/// WeChat ids are letters, digits, `_` or `-`; anything else cannot be one, so it is refused before WeChat is asked.
fn valid_wechat_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `POST /tester/bind {maAppId, wechatId}`.
pub async fn bind(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: TesterRequest,
) -> AppResult<Tester> {
    let wechat_id = req
        .wechat_id
        .filter(|w| valid_wechat_id(w))
        .ok_or_else(|| {
            AppError::BadRequest("wechatId is required: letters, digits, _ or -".into())
        })?;
    let appid = req.ma_app_id.as_str();
    owned_mini_program(deps, merchant, component, appid).await?;
    let userstr = with_authorizer_token(deps, component, appid, |aat| {
        let id = wechat_id.clone();
        async move { deps.wechat.bind_tester(&aat, &id).await }
    })
    .await?;
    let now = now_secs();
    store::put(&deps.table, component, appid, &userstr, &wechat_id, now).await?;
    Ok(Tester {
        userstr,
        wechat_id: Some(wechat_id),
        bound_at: Some(now),
    })
}

/// `POST /tester/unbind {maAppId, wechatId | userstr}`.
pub async fn unbind(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: TesterRequest,
) -> AppResult<serde_json::Value> {
    let appid = req.ma_app_id.as_str();
    let who = match (&req.wechat_id, &req.userstr) {
        (Some(w), None) if valid_wechat_id(w) => json!({"wechatid": w}),
        (None, Some(u)) if !u.is_empty() && u.len() <= 128 => json!({"userstr": u}),
        _ => {
            return Err(AppError::BadRequest(
                "name the tester by exactly one of wechatId or userstr".into(),
            ))
        }
    };
    owned_mini_program(deps, merchant, component, appid).await?;
    with_authorizer_token(deps, component, appid, |aat| {
        let who = who.clone();
        async move { deps.wechat.unbind_tester(&aat, &who).await }
    })
    .await?;
    for (userstr, wechat_id, _) in store::list(&deps.table, component, appid).await? {
        if req.userstr.as_deref() == Some(userstr.as_str())
            || req.wechat_id.as_deref() == Some(wechat_id.as_str())
        {
            store::delete(&deps.table, component, appid, &userstr).await?;
        }
    }
    Ok(json!({"unbound": true}))
}

/// `GET /tester/list?maAppId=`: WeChat's list, with the WeChat ids we know.
pub async fn list(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Vec<Tester>> {
    owned_mini_program(deps, merchant, component, appid).await?;
    let members = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.testers(&aat).await
    })
    .await?;
    let known = store::list(&deps.table, component, appid).await?;
    Ok(members
        .into_iter()
        .map(|userstr| {
            let k = known.iter().find(|(u, _, _)| *u == userstr);
            Tester {
                wechat_id: k.map(|(_, w, _)| w.clone()),
                bound_at: k.map(|(_, _, t)| *t),
                userstr,
            }
        })
        .collect())
}
