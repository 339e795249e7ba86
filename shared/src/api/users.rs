//! `POST /auth/login`, `POST /user/create` (admin), `GET /user/list` (admin), `POST /user/password`.
use lambda_http::{Body, Request, Response};

use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{claims, json_body, limit_param, query};
use crate::http::response::{json, respond};
use crate::services::accounts::{self, UserView};
use crate::store::users;

pub async fn login(deps: &Deps, req: Request) -> Response<Body> {
    respond(async { Ok(json(200, &accounts::login(deps, json_body(&req)?).await?)) }.await)
}

pub async fn create(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = claims(&req, deps)?;
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
            let claims = claims(&req, deps)?;
            claims.require_role(&[Role::Admin])?;
            let limit = limit_param(&req, 50, 100)?;
            let page = users::list(
                &deps.table,
                &claims.tenant,
                limit,
                query(&req, "cursor").as_deref(),
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
            let claims = claims(&req, deps)?;
            accounts::change_password(deps, &claims, json_body(&req)?).await?;
            Ok(json(200, &serde_json::json!({"changed": true})))
        }
        .await,
    )
}
