//! `POST /auth/login`, `POST /user/create` (admin), `GET /user/list` (admin), `POST /user/password`,
//! `POST /user/disable`, `POST /user/enable`, `POST /user/role` (admin).
use lambda_http::{Body, Request, Response};

use crate::deps::Deps;
use crate::http::auth::{Claims, Role};
use crate::http::request::{cursor_param, json_body, limit_param, source_ip};
use crate::http::response::{json, respond};
use crate::services::accounts::{self, UserView};
use crate::store::users;

pub async fn login(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let source = source_ip(&req);
            Ok(json(
                200,
                &accounts::login(deps, json_body(&req)?, &source).await?,
            ))
        }
        .await,
    )
}

pub async fn create(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            Ok(json(
                201,
                &accounts::create_user(deps, &claims, json_body(&req)?).await?,
            ))
        }
        .await,
    )
}

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            let limit = limit_param(&req, 50, 100)?;
            let page = users::list(
                &deps.table,
                &claims.tenant,
                limit,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            let items: Vec<UserView> = page.items.into_iter().map(Into::into).collect();
            Ok(json(
                200,
                &serde_json::json!({"items": items, "nextCursor": page.next_cursor}),
            ))
        }
        .await,
    )
}

pub async fn password(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            accounts::change_password(deps, &claims, json_body(&req)?).await?;
            Ok(json(200, &serde_json::json!({"changed": true})))
        }
        .await,
    )
}

async fn admin_change<F, Fut>(deps: &Deps, req: Request, change: F) -> Response<Body>
where
    F: FnOnce(Claims, accounts::AccountRequest) -> Fut,
    Fut: std::future::Future<Output = crate::error::AppResult<accounts::UserChange>>,
{
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            Ok(json(200, &change(claims, json_body(&req)?).await?))
        }
        .await,
    )
}

pub async fn disable(deps: &Deps, req: Request) -> Response<Body> {
    admin_change(deps, req, |admin, body| async move {
        accounts::set_disabled(deps, &admin, body, true).await
    })
    .await
}

pub async fn enable(deps: &Deps, req: Request) -> Response<Body> {
    admin_change(deps, req, |admin, body| async move {
        accounts::set_disabled(deps, &admin, body, false).await
    })
    .await
}

pub async fn role(deps: &Deps, req: Request) -> Response<Body> {
    admin_change(deps, req, |admin, body| async move {
        accounts::set_role(deps, &admin, body).await
    })
    .await
}
