//! `GET /basicinfo`, `POST /basicinfo/signature`, `POST|GET /basicinfo/nickname`, `POST /basicinfo/avatar/upload-url`,
//! `POST /basicinfo/avatar`, `GET /category/all|list`, `POST /category/add|modify|delete` — basic information
//! (merchant: own; operator: hosted ones, checked by the service).
use lambda_http::{Body, Request, Response};

use super::{caller, code_route};
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{json_body, required_id};
use crate::http::response::{json, respond};
use crate::services::basic_info;

pub async fn info(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::info(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn signature(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::signature(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

/// 202: the name goes to WeChat's review.
pub async fn nickname(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            let out = basic_info::nickname(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(202, &out))
        }
        .await,
    )
}

pub async fn name_change(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::name_change(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn avatar_upload(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::avatar_upload(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn avatar(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::avatar(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn all_categories(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::all_categories(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn categories(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::categories(deps, &c, &comp, &required_id(&req, "maAppId")?).await
    })
    .await
}

pub async fn add_categories(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::add_categories(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn modify_category(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::modify_category(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn delete_category(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        basic_info::delete_category(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}
