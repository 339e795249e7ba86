//! `POST /register/create`, `GET /register/status` — fast registration (代注册) of a mini-program for a merchant
//! (merchant: for itself; operator: for any merchant of the component).
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{json_body, required_id};
use crate::http::response::{json, respond};
use crate::services::registration;

const ROLES: &[Role] = &[Role::Merchant, Role::Operator];

pub async fn create(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, ROLES).await?;
            let task =
                registration::create(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(202, &task))
        }
        .await,
    )
}

pub async fn status(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, ROLES).await?;
            let task = registration::status(
                deps,
                &claims,
                &component.appid,
                &required_id(&req, "taskId")?,
            )
            .await?;
            Ok(json(200, &task))
        }
        .await,
    )
}
