//! `GET /fleet/summary`: how many of the component's decorated mini-programs are in each release state.
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::response::{json, respond};
use crate::store::fleet;

pub async fn summary(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) =
                caller(deps, &req, &[Role::Admin, Role::Developer, Role::Operator]).await?;
            let counts = fleet::counts(&deps.table, &component.appid).await?;
            let decorated: i64 = counts.values().sum();
            Ok(json(
                200,
                &json!({"componentAppid": component.appid, "decorated": decorated, "releaseStates": counts}),
            ))
        }
        .await,
    )
}
