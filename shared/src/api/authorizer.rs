//! `GET /authorizer/list` (paginated) and `GET /authorizer/info` (live basic info through the authorizer token).
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::caller;
use crate::deps::Deps;
use crate::error::AppError;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, id_query, limit_param};
use crate::http::response::{json, respond};
use crate::services::tokens;
use crate::store::authorizers::{self, Authorizer};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizerView {
    authorizer_appid: String,
    status: String,
    status_reason: Option<String>,
    nick_name: String,
    user_name: String,
    principal_name: String,
    head_img: String,
    is_mini_program: bool,
    func_info: Vec<i64>,
    has_refresh_token: bool,
    authorized_at: i64,
    updated_at: i64,
}

impl From<Authorizer> for AuthorizerView {
    fn from(a: Authorizer) -> Self {
        Self {
            authorizer_appid: a.appid,
            status: a.status,
            status_reason: a.status_reason,
            nick_name: a.nick_name,
            user_name: a.user_name,
            principal_name: a.principal_name,
            head_img: a.head_img,
            is_mini_program: a.is_mini_program,
            func_info: a.func_ids,
            has_refresh_token: a.refresh_token.is_some(),
            authorized_at: a.authorized_at,
            updated_at: a.updated_at,
        }
    }
}

const STAFF: [Role; 3] = [Role::Admin, Role::Developer, Role::Operator];

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &STAFF).await?;
            let limit = limit_param(&req, 50, 100)?;
            let page = authorizers::list(
                &deps.table,
                &component.appid,
                limit,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            let items: Vec<AuthorizerView> = page.items.into_iter().map(Into::into).collect();
            Ok(json(
                200,
                &serde_json::json!({"items": items, "nextCursor": page.next_cursor}),
            ))
        }
        .await,
    )
}

pub async fn info(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &STAFF).await?;
            let appid = id_query(&req, "authorizerAppid")?
                .ok_or_else(|| AppError::BadRequest("authorizerAppid is required".into()))?;
            let record = authorizers::get(&deps.table, &component.appid, &appid)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("mini-program {appid}")))?;
            let live =
                tokens::with_authorizer_token(deps, &component.appid, &appid, |aat| async move {
                    deps.wechat.account_basic_info(&aat).await
                })
                .await?;
            Ok(json(
                200,
                &serde_json::json!({"authorizer": AuthorizerView::from(record), "basicInfo": live}),
            ))
        }
        .await,
    )
}
