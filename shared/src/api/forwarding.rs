//! `POST /forward/rule/create`, `GET /forward/rule/list`, `POST /forward/rule/delete`, `GET /forward/deliveries` —
//! the component's forwarding rules and what became of each forward (admin, operator).
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, json_body, limit_param, required_id};
use crate::http::response::{json, respond};
use crate::services::forwarding;

const ROLES: &[Role] = &[Role::Admin, Role::Operator];

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleId {
    id: String,
}

pub async fn create(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, ROLES).await?;
            let created =
                forwarding::create(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(201, &created))
        }
        .await,
    )
}

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, ROLES).await?;
            let rules = forwarding::list(deps, &component.appid).await?;
            Ok(json(200, &json!({ "rules": rules })))
        }
        .await,
    )
}

pub async fn delete(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, ROLES).await?;
            let body: RuleId = json_body(&req)?;
            Ok(json(
                200,
                &forwarding::delete(deps, &component.appid, &body.id).await?,
            ))
        }
        .await,
    )
}

pub async fn deliveries(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, ROLES).await?;
            let page = forwarding::deliveries(
                deps,
                &component.appid,
                &required_id(&req, "ruleId")?,
                limit_param(&req, 20, 100)?,
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
