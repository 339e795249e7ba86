//! Draft and template routes: `/draft/list`, `/draft/release`, `/template/{list,detail,update,handover,release,
//! withdraw,market,library}`. Every template is looked up inside the caller's component partition: another tenant's id is 404.
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::caller;
use crate::deps::Deps;
use crate::domain::templates::{Status, Transition};
use crate::error::AppError;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, id_query, json_body, limit_param, query};
use crate::http::response::{json, respond};
use crate::services::templates as service;
use crate::store::templates::{self as store, IndustryTemplate, ListFilter};
use serde_json::Value;

const STAFF: [Role; 3] = [Role::Developer, Role::Operator, Role::Admin];

pub async fn draft_list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Developer]).await?;
            Ok(json(
                200,
                &json!({"items": service::list_drafts(deps, &component.appid).await?}),
            ))
        }
        .await,
    )
}

pub async fn library(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &STAFF).await?;
            Ok(json(200, &service::library(deps, &component.appid).await?))
        }
        .await,
    )
}

pub async fn draft_release(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Developer]).await?;
            let (template, created) =
                service::release_draft(deps, &component.appid, json_body(&req)?).await?;
            Ok(json(
                if created { 201 } else { 200 },
                &json!({"created": created, "template": template}),
            ))
        }
        .await,
    )
}

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &STAFF).await?;
            let status = match query(&req, "status") {
                None => None,
                Some(s) => Some(
                    s.parse::<i64>()
                        .ok()
                        .and_then(|v| Status::try_from(v).ok())
                        .ok_or_else(|| AppError::BadRequest("status must be 0, 1 or 2".into()))?,
                ),
            };
            let industry = id_query(&req, "industryId")?;
            let filter = ListFilter {
                status,
                industry_id: industry.as_deref(),
            };
            let limit = limit_param(&req, 20, 100)?;
            let page = store::list(
                &deps.table,
                &component.appid,
                &filter,
                limit,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(
                200,
                &json!({"items": page.items, "nextCursor": page.next_cursor}),
            ))
        }
        .await,
    )
}

/// A template as clients see it: the stored image key plus a short-lived URL to read it.
async fn view(deps: &Deps, t: &IndustryTemplate) -> Result<Value, AppError> {
    let mut v = serde_json::to_value(t).expect("template serializes");
    let url = match &t.img {
        Some(key) => Some(deps.blobs.read_url(key).await?),
        None => None,
    };
    v["imgUrl"] = json!(url);
    Ok(v)
}

pub async fn cover_upload_url(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Operator]).await?;
            Ok(json(
                200,
                &service::cover_upload(deps, &claims, &component.appid, json_body(&req)?).await?,
            ))
        }
        .await,
    )
}

pub async fn delete(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Developer]).await?;
            let body: TransitionRequest = json_body(&req)?;
            service::delete(deps, &claims, &component.appid, &body.id, body.version).await?;
            Ok(json(200, &json!({"deleted": body.id})))
        }
        .await,
    )
}

pub async fn detail(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &STAFF).await?;
            let id = id_query(&req, "id")?
                .ok_or_else(|| AppError::BadRequest("id is required".into()))?;
            let template = service::get(deps, &component.appid, &id).await?;
            let pages = store::pages(&deps.table, &component.appid, &id).await?;
            Ok(json(
                200,
                &json!({"template": view(deps, &template).await?, "pageConfigs": pages}),
            ))
        }
        .await,
    )
}

pub async fn update(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) =
                caller(deps, &req, &[Role::Developer, Role::Operator]).await?;
            let template =
                service::update(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(
                200,
                &json!({"template": view(deps, &template).await?}),
            ))
        }
        .await,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TransitionRequest {
    id: String,
    version: i64,
}

async fn transition(deps: &Deps, req: Request, t: Transition, role: Role) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[role]).await?;
            let body: TransitionRequest = json_body(&req)?;
            let template =
                service::transition(deps, &claims, &component.appid, &body.id, body.version, t)
                    .await?;
            let pages = store::pages(&deps.table, &component.appid, &body.id).await?;
            Ok(json(
                200,
                &json!({"template": view(deps, &template).await?, "pageConfigs": pages}),
            ))
        }
        .await,
    )
}

pub async fn handover(deps: &Deps, req: Request) -> Response<Body> {
    transition(deps, req, Transition::Handover, Role::Developer).await
}

pub async fn release(deps: &Deps, req: Request) -> Response<Body> {
    transition(deps, req, Transition::Release, Role::Operator).await
}

pub async fn withdraw(deps: &Deps, req: Request) -> Response<Body> {
    transition(deps, req, Transition::Withdraw, Role::Operator).await
}

/// Published templates for merchants: desc, cover and the page list, never developer-only fields.
pub async fn market(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Merchant, Role::Operator, Role::Admin]).await?;
            let industry = id_query(&req, "industryId")?;
            let limit = limit_param(&req, 20, 100)?;
            let page =
                store::market(&deps.table, &component.appid, industry.as_deref(), limit, cursor_param(&req)?.as_deref()).await?;
            let mut items = Vec::with_capacity(page.items.len());
            for t in page.items {
                let pages = store::pages(&deps.table, &component.appid, &t.id).await?;
                items.push(json!({
                    "id": t.id, "industryId": t.industry_id, "industryName": t.industry_name, "desc": t.desc,
                    "imgUrl": match &t.img { Some(k) => Some(deps.blobs.read_url(k).await?), None => None },
                    "userVersion": t.user_version, "updateTime": t.update_time,
                    "pages": pages.iter().map(|p| json!({"pageKey": p.page_key, "name": p.name, "pageValue": p.page_value})).collect::<Vec<_>>(),
                }));
            }
            Ok(json(200, &json!({"items": items, "nextCursor": page.next_cursor})))
        }
        .await,
    )
}
