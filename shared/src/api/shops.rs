//! `POST /shop/create`, `GET /shop/list`, `POST /shop/update`, `POST /shop/delete` — a merchant's shops.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, json_body, limit_param};
use crate::http::response::{json, respond};
use crate::services::shops;

pub async fn create(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            let shop = shops::create(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(201, &shop))
        }
        .await,
    )
}

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            let limit = limit_param(&req, shops::MAX_SHOPS, shops::MAX_SHOPS)?;
            let cursor = cursor_param(&req)?;
            let page =
                shops::list(deps, &claims, &component.appid, limit, cursor.as_deref()).await?;
            Ok(json(200, &page))
        }
        .await,
    )
}

pub async fn update(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            let shop = shops::update(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(200, &shop))
        }
        .await,
    )
}

pub async fn delete(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            let shop = shops::delete(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(200, &shop))
        }
        .await,
    )
}
