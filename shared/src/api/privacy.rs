//! `GET /miniprogram/privacy`, `POST /miniprogram/privacy` — the privacy owner contact of a mini-program (its
//! merchant, or the component's operators); `GET /miniprogram/readiness` — what it still lacks for a real account.
use lambda_http::{Body, Request, Response};

use super::code_route;
use crate::deps::Deps;
use crate::http::request::{json_body, required_id};
use crate::pipeline::readiness;

pub async fn view(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        readiness::view(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn set(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        readiness::set(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn readiness(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        readiness::check(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}
