//! `POST /tenant/signup` (public), `POST /invite/create`, `GET /invite/list`, `POST /invite/revoke` (admin),
//! `POST /invite/accept` (public).
use lambda_http::{Body, Request, Response};

use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, json_body, limit_param, source_ip};
use crate::http::response::{json, respond};
use crate::services::onboarding;

pub async fn signup(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let source = source_ip(&req);
            let body = json_body(&req)?;
            Ok(json(201, &onboarding::signup(deps, body, &source).await?))
        }
        .await,
    )
}

pub async fn invite_create(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            let body = json_body(&req)?;
            Ok(json(201, &onboarding::invite(deps, &claims, body).await?))
        }
        .await,
    )
}

pub async fn invite_accept(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let source = source_ip(&req);
            let body = json_body(&req)?;
            Ok(json(201, &onboarding::accept(deps, body, &source).await?))
        }
        .await,
    )
}

pub async fn invite_list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            let (items, next) = onboarding::invitations(
                deps,
                &claims,
                limit_param(&req, 50, 100)?,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(
                200,
                &serde_json::json!({"items": items, "nextCursor": next}),
            ))
        }
        .await,
    )
}

pub async fn invite_revoke(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = super::authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            let body = json_body(&req)?;
            Ok(json(200, &onboarding::revoke(deps, &claims, body).await?))
        }
        .await,
    )
}
