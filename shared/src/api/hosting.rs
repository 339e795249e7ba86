//! `POST /hosting/start`, `POST /hosting/end` — a merchant hosts its mini-program with the provider, or stops.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::json_body;
use crate::http::response::{json, respond};
use crate::services::hosting;

async fn set(deps: &Deps, req: Request, hosted: bool) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            Ok(json(
                200,
                &hosting::set(deps, &claims, &component.appid, json_body(&req)?, hosted).await?,
            ))
        }
        .await,
    )
}

pub async fn start(deps: &Deps, req: Request) -> Response<Body> {
    set(deps, req, true).await
}

pub async fn end(deps: &Deps, req: Request) -> Response<Body> {
    set(deps, req, false).await
}
