//! `GET /config/query`, `POST /config/save`, `GET /page/query` — a merchant's own mini-programs, and the
//! component's operators for the mini-programs their merchants host with the provider.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{id_query, json_body, required_id};
use crate::http::response::{json, respond};
use crate::services::decoration;

pub async fn config_query(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            let appid = required_id(&req, "maAppId")?;
            let template = id_query(&req, "templateId")?;
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
            let (claims, component) = caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
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
            let (claims, component) = caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            let (appid, key) = (required_id(&req, "maAppId")?, required_id(&req, "pageKey")?);
            Ok(json(
                200,
                &decoration::page(deps, &claims, &component.appid, &appid, &key).await?,
            ))
        }
        .await,
    )
}
