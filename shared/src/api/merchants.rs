//! `GET /auth/link` (merchant), `GET /auth/redirect` (WeChat's redirect target, no JWT), `GET /miniprogram/list`,
//! `POST /miniprogram/unlink` (admin).
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::caller;
use crate::deps::Deps;
use crate::error::AppError;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, json_body, limit_param, query};
use crate::http::response::{json, respond};
use crate::services::access;
use crate::services::merchants::{self, LinkKind};
use crate::store::authorizers;

pub async fn link(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            let kind = LinkKind::parse(&query(&req, "kind").unwrap_or_else(|| "pc".into()))?;
            Ok(json(
                200,
                &merchants::auth_link(deps, &claims, &component.appid, kind).await?,
            ))
        }
        .await,
    )
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
    let frontend = &deps.config.frontend_url;
    if frontend.is_empty() {
        return respond(
            outcome.map(|appid| json(200, &json!({"outcome": "authorized", "maAppId": appid}))),
        );
    }
    let sep = if frontend.contains('?') { '&' } else { '?' };
    match outcome {
        Ok(appid) => redirect_to(&format!(
            "{frontend}{sep}outcome=authorized&maAppId={appid}"
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
            let (claims, component) = caller(deps, &req, &[Role::Merchant, Role::Admin]).await?;
            // A merchant's own are few; an admin's may be 10,000: pages of `limit` with `nextCursor`.
            let (items, next_cursor) = if claims.role == Role::Merchant {
                let own =
                    authorizers::list_for_merchant(&deps.table, &component.appid, &claims.sub)
                        .await?;
                (own, None)
            } else {
                let limit = limit_param(&req, 100, 500)?;
                let page = authorizers::list(
                    &deps.table,
                    &component.appid,
                    limit,
                    cursor_param(&req)?.as_deref(),
                )
                .await?;
                (page.items, page.next_cursor)
            };
            let view: Vec<_> = items
                .into_iter()
                .map(|a| {
                    json!({"maAppId": a.appid, "nickName": a.nick_name, "userName": a.user_name, "status": a.status,
                           "authorizedAt": a.authorized_at, "merchant": a.merchant, "funcInfo": a.func_ids})
                })
                .collect();
            Ok(json(200, &json!({"items": view, "nextCursor": next_cursor})))
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
