//! `POST /code/release` — the merchant publishes their saved config: commit, trial QR code, audit.
use lambda_http::{Body, Request, Response};

use super::owned_component;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{claims, json_body};
use crate::http::response::{json, respond};
use crate::services::release;

pub async fn release(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = claims(&req, deps)?;
            claims.require_role(&[Role::Merchant])?;
            let component = owned_component(deps, &claims, &req).await?;
            Ok(json(
                200,
                &release::release(deps, &claims, &component.appid, json_body(&req)?).await?,
            ))
        }
        .await,
    )
}
