//! `GET /config/query`, `POST /config/save`, `GET /page/query` — a merchant's own mini-programs only.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{json_body, query, required_query};
use crate::http::response::{json, respond};
use crate::services::decoration;

pub async fn config_query(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            let appid = required_query(&req, "maAppId")?;
            let template = query(&req, "templateId");
            Ok(json(
                200,
                &decoration::query(deps, &claims, &component.appid, &appid, template.as_deref())
                    .await?,
            ))
        }
        .await,
    )
}

pub async fn config_save(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            Ok(json(
                200,
                &decoration::save(deps, &claims, &component.appid, json_body(&req)?).await?,
            ))
        }
        .await,
    )
}

pub async fn page_query(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant]).await?;
            let (appid, key) = (
                required_query(&req, "maAppId")?,
                required_query(&req, "pageKey")?,
            );
            Ok(json(
                200,
                &decoration::page(deps, &claims, &component.appid, &appid, &key).await?,
            ))
        }
        .await,
    )
}
