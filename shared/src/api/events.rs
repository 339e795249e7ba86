//! `GET /event/feed`: the component's events (the bus's detail-types and details), newest first; with `maAppId`,
//! that mini-program's whole history.
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, id_query, limit_param};
use crate::http::response::{json, respond};
use crate::store::history;

pub async fn feed(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) =
                caller(deps, &req, &[Role::Admin, Role::Developer, Role::Operator]).await?;
            let limit = limit_param(&req, 50, 100)?;
            let appid = id_query(&req, "maAppId")?;
            let page = history::feed(
                &deps.table,
                &component.appid,
                appid.as_deref(),
                limit,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            let items: Vec<_> = page
                .items
                .iter()
                .map(|e| json!({"type": e.kind.detail_type(), "detail": e.detail()}))
                .collect();
            Ok(json(
                200,
                &json!({"items": items, "nextCursor": page.next_cursor}),
            ))
        }
        .await,
    )
}
