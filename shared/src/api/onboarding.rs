//! `POST /tenant/signup` (public), `POST /invite/create` (admin), `POST /invite/accept` (public).
use lambda_http::{Body, Request, Response};

use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{json_body, source_ip};
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
