//! `POST /alipay/app/register` (admin), `GET /alipay/auth/link` (a merchant for itself, staff for one of its
//! merchants), `GET /alipay/auth/redirect` (Alipay's redirect target, no JWT).
use lambda_http::{Body, Request, Response};

use super::caller;
use super::merchants::{link_merchant, to_frontend};
use crate::deps::Deps;
use crate::error::AppError;
use crate::http::auth::Role;
use crate::http::request::{json_body, query};
use crate::http::response::{json, respond};
use crate::services::alipay_auth;

pub async fn register(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Admin]).await?;
            let out =
                alipay_auth::register_app(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(if out.created { 201 } else { 200 }, &out))
        }
        .await,
    )
}

pub async fn link(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let roles = [Role::Merchant, Role::Operator, Role::Admin];
            let (claims, component) = caller(deps, &req, &roles).await?;
            let merchant = link_merchant(deps, &claims, &component.appid, query(&req, "merchant")).await?;
            Ok(json(
                200,
                &alipay_auth::auth_link(deps, &merchant, &component.appid).await?,
            ))
        }
        .await,
    )
}

/// The merchant's browser lands here from Alipay's consent page; it always leaves for the front end.
pub async fn redirect(deps: &Deps, req: Request) -> Response<Body> {
    let outcome = async {
        let param = |name: &'static str| {
            query(&req, name).ok_or_else(|| AppError::BadRequest(format!("{name} is missing")))
        };
        alipay_auth::complete_redirect(deps, &param("state")?, &param("app_id")?, &param("app_auth_code")?)
            .await
    }
    .await;
    to_frontend(deps, outcome, "alipay")
}
