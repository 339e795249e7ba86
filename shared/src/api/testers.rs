//! `POST /tester/bind`, `POST /tester/unbind`, `GET /tester/list` — testers of a merchant's own mini-program.
use lambda_http::{Body, Request, Response};

use super::code_route;
use crate::deps::Deps;
use crate::http::request::{json_body, required_id};
use crate::services::testers;

pub async fn bind(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        testers::bind(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn unbind(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        testers::unbind(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        let testers = testers::list(deps, &c, &comp, &required_id(&req, "maAppId")?).await?;
        Ok(serde_json::json!({ "testers": testers }))
    })
    .await
}
