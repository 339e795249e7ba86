//! `POST /component/register` (admin) and `GET /component/status`.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::json_body;
use crate::http::response::{json, respond};
use crate::services::components;

pub async fn register(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            let body: components::RegisterRequest = json_body(&req)?;
            let out = components::register(deps, &claims.tenant, body).await?;
            Ok(json(if out.created { 201 } else { 200 }, &out))
        }
        .await,
    )
}

pub async fn status(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) =
                caller(deps, &req, &[Role::Admin, Role::Developer, Role::Operator]).await?;
            Ok(json(200, &components::status(deps, &component).await?))
        }
        .await,
    )
}
