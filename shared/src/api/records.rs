//! `GET /callback/records`: recent pushes, newest first, filtered by type and authorizer appid.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, id_query, limit_param};
use crate::http::response::{json, respond};
use crate::store::pushes::{self, RecordFilter};

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) =
                caller(deps, &req, &[Role::Admin, Role::Developer, Role::Operator]).await?;
            let limit = limit_param(&req, 20, 100)?;
            let (push_type, appid) = (id_query(&req, "type")?, id_query(&req, "appid")?);
            let filter = RecordFilter {
                push_type: push_type.as_deref(),
                authorizer_appid: appid.as_deref(),
            };
            let page = pushes::list(
                &deps.table,
                &component.appid,
                &filter,
                limit,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(
                200,
                &serde_json::json!({"items": page.items, "nextCursor": page.next_cursor}),
            ))
        }
        .await,
    )
}
