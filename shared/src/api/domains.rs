//! `POST /domain/server`, `POST /domain/webview` — domains of a merchant's own mini-program; `POST /component/domains`
//! — the platform's own server domains (operators).
use lambda_http::{Body, Request, Response};

use super::{caller, code_route};
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::json_body;
use crate::http::response::{json, respond};
use crate::services::domains;

pub async fn server(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        domains::server(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn webview(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        domains::webview(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn platform(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Operator, Role::Admin]).await?;
            let out = domains::platform(deps, &component.appid, json_body(&req)?).await?;
            Ok(json(200, &out))
        }
        .await,
    )
}
