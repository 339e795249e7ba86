//! `GET /basicinfo`, `POST /basicinfo/signature`, `POST /basicinfo/nickname`, `GET /category/list`,
//! `POST /category/add`, `POST /category/delete` — basic information (merchant: own; operator: hosted ones).
use lambda_http::{Body, Request, Response};

use super::caller;
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{json_body, required_id};
use crate::http::response::{json, respond};
use crate::services::basic_info;

const ROLES: &[Role] = &[Role::Merchant, Role::Operator];

pub async fn info(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let appid = required_id(&req, "maAppId")?;
            Ok(json(
                200,
                &basic_info::info(deps, &c, &comp.appid, &appid).await?,
            ))
        }
        .await,
    )
}

pub async fn signature(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let out = basic_info::signature(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(200, &out))
        }
        .await,
    )
}

pub async fn nickname(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let out = basic_info::nickname(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(202, &out))
        }
        .await,
    )
}

pub async fn categories(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let appid = required_id(&req, "maAppId")?;
            Ok(json(
                200,
                &basic_info::categories(deps, &c, &comp.appid, &appid).await?,
            ))
        }
        .await,
    )
}

pub async fn add_categories(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let out = basic_info::add_categories(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(200, &out))
        }
        .await,
    )
}

pub async fn delete_category(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let out = basic_info::delete_category(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(200, &out))
        }
        .await,
    )
}

pub async fn avatar_upload(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let out = basic_info::avatar_upload(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(200, &out))
        }
        .await,
    )
}

pub async fn avatar(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let out = basic_info::avatar(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(200, &out))
        }
        .await,
    )
}

pub async fn all_categories(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let appid = required_id(&req, "maAppId")?;
            Ok(json(
                200,
                &basic_info::all_categories(deps, &c, &comp.appid, &appid).await?,
            ))
        }
        .await,
    )
}

pub async fn modify_category(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let out = basic_info::modify_category(deps, &c, &comp.appid, json_body(&req)?).await?;
            Ok(json(200, &out))
        }
        .await,
    )
}

pub async fn name_change(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (c, comp) = caller(deps, &req, ROLES).await?;
            let appid = required_id(&req, "maAppId")?;
            Ok(json(
                200,
                &basic_info::name_change(deps, &c, &comp.appid, &appid).await?,
            ))
        }
        .await,
    )
}
