//! `GET /qrcodejump/list`, `GET /qrcodejump/verify-file`, `POST /qrcodejump/add|publish|delete` — ordinary-QR jump
//! rules of a mini-program (merchant: own; operator: the component's).
use lambda_http::{Body, Request, Response};

use super::code_route;
use crate::deps::Deps;
use crate::http::request::{json_body, required_id};
use crate::services::jump_rules;

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        jump_rules::list(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn verify_file(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        jump_rules::verify_file(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn add(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        jump_rules::add(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn publish(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        jump_rules::publish(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn delete(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        jump_rules::delete(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}
