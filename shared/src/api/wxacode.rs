//! `POST /wxacode` — a mini-program code for any page (merchant: own; operator: the component's).
use lambda_http::{Body, Request, Response};

use super::code_route;
use crate::deps::Deps;
use crate::http::request::json_body;
use crate::services::wxacode;

pub async fn create(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        wxacode::create(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}
