//! `POST /alipay/app/register` (admin), `GET /alipay/auth/link` (a merchant for itself, staff for one of its
//! merchants), `GET /alipay/auth/redirect` (Alipay's redirect target, no JWT), `POST /alipay/{appId}/notify`
//! (Alipay's notifications, signed by Alipay, no JWT), `GET /alipay/baseinfo`, `POST /alipay/baseinfo/modify`
//! `/alipay/members`, `/alipay/members/add`, `/alipay/members/remove`, `/alipay/qrcode`, `/alipay/qrcode/rules`,
//! `/alipay/qrcode/bind`, `/alipay/qrcode/unbind` (a merchant its own Alipay mini-program, operators the workspace's).
use lambda_http::{Body, Request, Response};

use super::merchants::{link_merchant, to_frontend};
use super::{authenticated, caller, code_route, owned_component};
use crate::deps::Deps;
use crate::error::AppError;
use crate::http::auth::Role;
use crate::http::request::{
    body_bytes, cursor_param, json_body, limit_param, path_param, query, MAX_PUSH_BODY,
};
use crate::http::response::{json, respond, text};
use crate::services::{
    alipay_auth, alipay_base_info, alipay_codes, alipay_images, alipay_members,
    alipay_mini_programs, alipay_notify, alipay_versions,
};

pub async fn register(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            let body: alipay_auth::RegisterAppRequest = json_body(&req)?;
            // Without a component named (or in the token), the application gets a workspace of its own.
            let workspace = if query(&req, "componentAppid").is_some() || claims.component.is_some()
            {
                owned_component(deps, &claims, &req).await?.appid
            } else {
                alipay_auth::alipay_workspace(deps, &claims, &body.app_id).await?
            };
            let out = alipay_auth::register_app(deps, &claims, &workspace, body).await?;
            Ok(json(if out.created { 201 } else { 200 }, &out))
        }
        .await,
    )
}

pub async fn link(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let roles = [Role::Merchant, Role::Operator, Role::Admin];
            let (claims, component) = caller(deps, &req, &roles).await?;
            let merchant =
                link_merchant(deps, &claims, &component.appid, query(&req, "merchant")).await?;
            Ok(json(
                200,
                &alipay_auth::auth_link(deps, &merchant, &component.appid).await?,
            ))
        }
        .await,
    )
}

/// The merchant's browser lands here from Alipay's consent page; it always leaves for the front end.
pub async fn redirect(deps: &Deps, req: Request) -> Response<Body> {
    let outcome = async {
        let param = |name: &'static str| {
            query(&req, name).ok_or_else(|| AppError::BadRequest(format!("{name} is missing")))
        };
        alipay_auth::complete_redirect(
            deps,
            &param("state")?,
            &param("app_id")?,
            &param("app_auth_code")?,
        )
        .await
    }
    .await;
    to_frontend(deps, outcome, "alipay")
}

/// Alipay needs the literal `success`; anything else (a refusal, a failure) makes it deliver again.
pub async fn notify(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let app_id = path_param(&req, "appId")?;
            let handled =
                alipay_notify::handle(deps, &app_id, body_bytes(&req, MAX_PUSH_BODY)?).await?;
            tracing::debug!(?handled, "Alipay notification handled");
            Ok(text(200, "success"))
        }
        .await,
    )
}

// The mini-program routes below: a merchant acts on its own Alipay mini-program, the workspace's operators on any
// (`code_route`; the ownership check is `access::owned_alipay_mini_program`).

fn required(req: &Request, name: &'static str) -> Result<String, AppError> {
    query(req, name).ok_or_else(|| AppError::BadRequest(format!("{name} is missing")))
}

pub async fn base_info(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_base_info::query(deps, &c, &comp, &required(&req, "miniAppId")?).await
    })
    .await
}

pub async fn base_info_modify(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_base_info::modify(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn image_upload_url(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_images::upload_url(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn experience_cancel(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_versions::cancel_experience(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn version_delete(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_versions::delete(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn members(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        let (mini, role) = (required(&req, "miniAppId")?, required(&req, "role")?);
        alipay_members::list(deps, &c, &comp, &mini, &role).await
    })
    .await
}

pub async fn members_add(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_members::add(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn members_remove(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_members::remove(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

/// 201 when Alipay made the code now, 200 when it was kept already.
pub async fn qrcode(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            let code =
                alipay_codes::create(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(if code.reused { 200 } else { 201 }, &code))
        }
        .await,
    )
}

pub async fn qrcode_rules(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        let page_no = match query(&req, "pageNo") {
            Some(p) => p
                .parse()
                .map_err(|_| AppError::BadRequest("pageNo is a number".into()))?,
            None => 1,
        };
        alipay_codes::rules(deps, &c, &comp, &required(&req, "miniAppId")?, page_no).await
    })
    .await
}

pub async fn qrcode_bind(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_codes::bind(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn qrcode_unbind(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |c, comp, req| async move {
        alipay_codes::unbind(deps, &c, &comp, json_body(&req)?).await
    })
    .await
}

pub async fn mini_programs(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let roles = [Role::Merchant, Role::Operator, Role::Admin];
            let (claims, component) = caller(deps, &req, &roles).await?;
            let limit = limit_param(&req, 100, 500)? as usize;
            let found = alipay_mini_programs::find(
                deps,
                &claims,
                &component.appid,
                limit,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(200, &found))
        }
        .await,
    )
}
