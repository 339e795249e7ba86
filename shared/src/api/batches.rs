//! `POST /batch/release`, `GET /batch/status`, `GET /batch/list`, `POST /batch/pause|resume|cancel` — an operator
//! releases one template to many mini-programs of the component and steers the batch.
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{cursor_param, json_body, required_id};
use crate::http::response::{json, respond};
use crate::services::batches::{self, Steer};

pub async fn release(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Operator]).await?;
            let started = batches::start(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(202, &started))
        }
        .await,
    )
}

pub async fn status(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Operator]).await?;
            let id = required_id(&req, "batchId")?;
            let view = batches::status(deps, &component.appid, &id, cursor_param(&req)?.as_deref())
                .await?;
            Ok(json(200, &view))
        }
        .await,
    )
}

pub async fn list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Operator]).await?;
            Ok(json(
                200,
                &batches::list(deps, &component.appid, cursor_param(&req)?.as_deref()).await?,
            ))
        }
        .await,
    )
}

async fn steer(deps: &Deps, req: Request, action: Steer) -> Response<Body> {
    respond(
        async {
            let (_, component) = caller(deps, &req, &[Role::Operator]).await?;
            Ok(json(
                200,
                &batches::steer(deps, &component.appid, json_body(&req)?, action).await?,
            ))
        }
        .await,
    )
}

pub async fn pause(deps: &Deps, req: Request) -> Response<Body> {
    steer(deps, req, Steer::Pause).await
}

pub async fn resume(deps: &Deps, req: Request) -> Response<Body> {
    steer(deps, req, Steer::Resume).await
}

pub async fn cancel(deps: &Deps, req: Request) -> Response<Body> {
    steer(deps, req, Steer::Cancel).await
}
