//! `GET /auth/link` (a merchant for itself, an operator or admin for one of its merchants), `GET /auth/redirect` (WeChat's redirect target, no JWT), `GET /miniprogram/list`,
//! `POST /miniprogram/unlink` (admin).
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::caller;
use crate::deps::Deps;
use crate::error::AppError;
use crate::http::auth::{Claims, Role};
use crate::http::request::{cursor_param, json_body, limit_param, query};
use crate::http::response::{json, respond};
use crate::services::access;
use crate::services::merchants::{self, LinkKind};
use crate::services::mini_programs;

pub async fn link(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let roles = [Role::Merchant, Role::Operator, Role::Admin];
            let (claims, component) = caller(deps, &req, &roles).await?;
            let kind = LinkKind::parse(&query(&req, "kind").unwrap_or_else(|| "pc".into()))?;
            let merchant =
                link_merchant(deps, &claims, &component.appid, query(&req, "merchant")).await?;
            let link = merchants::auth_link(deps, &merchant, &component.appid, kind).await?;
            Ok(json(200, &link))
        }
        .await,
    )
}

/// Whom an authorization link is for: a merchant asks for itself; an operator or admin names one of its merchants.
pub(crate) async fn link_merchant(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    named: Option<String>,
) -> Result<Claims, AppError> {
    match (caller.role, named) {
        (Role::Merchant, None) => Ok(caller.clone()),
        (Role::Merchant, Some(_)) => Err(AppError::Forbidden(
            "a merchant asks for links for itself only: leave out merchant".into(),
        )),
        (_, None) => Err(AppError::BadRequest(
            "merchant is missing: name the merchant the link is for".into(),
        )),
        (_, Some(merchant)) => merchants::as_merchant(deps, caller, component, &merchant).await,
    }
}

fn redirect_to(url: &str) -> Response<Body> {
    Response::builder()
        .status(302)
        .header("location", url)
        .body(Body::Empty)
        .expect("valid redirect")
}

/// The merchant's browser lands here from WeChat; it always leaves for the front end with the outcome.
pub async fn redirect(deps: &Deps, req: Request) -> Response<Body> {
    let outcome = async {
        let state =
            query(&req, "state").ok_or_else(|| AppError::BadRequest("state is missing".into()))?;
        let code = query(&req, "auth_code")
            .ok_or_else(|| AppError::BadRequest("auth_code is missing".into()))?;
        merchants::complete_redirect(deps, &state, &code).await
    }
    .await;
    to_frontend(deps, outcome, "wechat")
}

/// Where the merchant's browser goes after a consent: the front end with the outcome (`maAppId` and `platform`, or
/// the refusal's status), or, without a front end, the outcome as JSON.
pub(crate) fn to_frontend(
    deps: &Deps,
    outcome: Result<String, AppError>,
    platform: &str,
) -> Response<Body> {
    let frontend = &deps.config.frontend_url;
    if frontend.is_empty() {
        return respond(outcome.map(|appid| {
            json(
                200,
                &json!({"outcome": "authorized", "maAppId": appid, "platform": platform}),
            )
        }));
    }
    let sep = if frontend.contains('?') { '&' } else { '?' };
    match outcome {
        Ok(appid) => redirect_to(&format!(
            "{frontend}{sep}outcome=authorized&maAppId={appid}&platform={platform}"
        )),
        Err(e) => {
            let status = crate::http::response::error_response(&e).status().as_u16();
            redirect_to(&format!("{frontend}{sep}outcome=error&status={status}"))
        }
    }
}

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) =
                caller(deps, &req, &[Role::Merchant, Role::Operator, Role::Admin]).await?;
            let filter =
                mini_programs::Filter::parse(query(&req, "search"), query(&req, "releaseState"))?;
            let limit = limit_param(&req, 100, 500)? as usize;
            let found = mini_programs::find(
                deps,
                &claims,
                &component.appid,
                &filter,
                limit,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(
                200,
                &json!({"items": found.items, "nextCursor": found.next_cursor}),
            ))
        }
        .await,
    )
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UnlinkRequest {
    ma_app_id: String,
}

pub async fn unlink(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Admin]).await?;
            let body: UnlinkRequest = json_body(&req)?;
            Ok(json(
                200,
                &access::unlink(deps, &component.appid, &body.ma_app_id).await?,
            ))
        }
        .await,
    )
}
