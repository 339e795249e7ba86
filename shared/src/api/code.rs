//! `POST /code/release` — the merchant publishes their saved config: commit, trial QR code, audit.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::json_body;
use crate::http::response::{json, respond};
use crate::services::release;

pub async fn release(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            Ok(json(
                200,
                &release::release(deps, &claims, &component.appid, json_body(&req)?).await?,
            ))
        }
        .await,
    )
}
