//! `POST /domain/server`, `POST /domain/webview` — domains of a merchant's own mini-program.
use lambda_http::{Body, Request, Response};

use super::code_route;
use crate::deps::Deps;
use crate::http::request::json_body;
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
