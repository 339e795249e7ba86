//! `GET /miniprogram/violations`, `GET /miniprogram/appeals` — what WeChat holds against a mini-program (merchant:
//! own; operator: the component's).
use lambda_http::{Body, Request, Response};

use super::code_route;
use crate::deps::Deps;
use crate::http::request::{query, required_id};
use crate::services::violations;

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        violations::violations(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn appeals(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        let record = query(&req, "illegalRecordId").unwrap_or_default();
        violations::appeals(deps, &c, &comp, &required_id(&req, "maAppId")?, &record).await
    })
    .await
}
