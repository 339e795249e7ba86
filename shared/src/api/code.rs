//! Code management routes for a merchant's own mini-program: release (commit → QR code → audit), audit undo,
//! speed-up and quota, publish, rollback, visit status, versions and the trial QR code.
use lambda_http::{Body, Request, Response};

use super::code_route;
use crate::deps::Deps;
use crate::http::request::{json_body, required_id};
use crate::pipeline::{audit, online, release};

pub async fn release(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        release::release(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn audit_undo(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        audit::undo(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn audit_speedup(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        audit::speedup(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn audit_quota(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        audit::quota(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn publish(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::publish(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn rollback(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::rollback(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn visit_status(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::visit_status(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn versions(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::versions(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn qrcode(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::qrcode(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn gray(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::gray(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn gray_plan(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::gray_plan(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn gray_revert(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        online::gray_revert(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}
