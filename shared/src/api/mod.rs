//! Route handlers: parse → authorize → call a service → map the result. One module per resource.
pub mod alipay;
pub mod authorizer;
pub mod basic_info;
pub mod batches;
pub mod callbacks;
pub mod code;
pub mod component;
pub mod decoration;
pub mod domains;
pub mod events;
pub mod fleet;
pub mod forwarding;
pub mod hosting;
pub mod jump_rules;
pub mod merchants;
pub mod onboarding;
pub mod pay;
pub mod privacy;
pub mod records;
pub mod registration;
pub mod runtime;
pub mod shops;
pub mod templates;
pub mod testers;
pub mod users;
pub mod violations;
pub mod wxacode;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::future::Future;

use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::http::auth::{Claims, Role};
use crate::http::request::query;
use crate::http::response::{json, respond};
use crate::store::components::{self, Component};

/// The verified caller: a valid bearer token whose session is still in force.
pub async fn authenticated(deps: &Deps, req: &Request) -> AppResult<Claims> {
    let claims = crate::http::request::claims(req, deps).await?;
    crate::services::access::check_session(deps, &claims).await?;
    Ok(claims)
}

/// The verified caller, checked for one of `roles`, and the component the request acts in.
pub async fn caller(deps: &Deps, req: &Request, roles: &[Role]) -> AppResult<(Claims, Component)> {
    let claims = authenticated(deps, req).await?;
    claims.require_role(roles)?;
    let component = owned_component(deps, &claims, req).await?;
    Ok((claims, component))
}

/// Object-level authorization for a component named by `componentAppid` (default: the token's component).
/// Another tenant's component is reported exactly like a missing one.
pub async fn owned_component(deps: &Deps, claims: &Claims, req: &Request) -> AppResult<Component> {
    let appid = query(req, "componentAppid")
        .or_else(|| claims.component.clone())
        .ok_or_else(|| AppError::BadRequest("componentAppid is required".into()))?;
    crate::domain::ids::check("componentAppid", &appid)?;
    let not_found = || AppError::NotFound(format!("component {appid}"));
    let component = components::get(&deps.table, &appid)
        .await?
        .ok_or_else(not_found)?;
    let same_tenant = component.tenant == claims.tenant;
    let allowed = same_tenant
        && (claims.role == Role::Admin || claims.component.as_deref() == Some(appid.as_str()));
    if !allowed {
        return Err(not_found());
    }
    Ok(component)
}

/// A code-management route over one mini-program (release, audit, online version, testers, domains): merchants act
/// on their own, the component's operators on any of it (`access::owned_mini_program`). Verifies the caller, then
/// answers 200 with what `run` returns (given the claims, the component and the request), or the mapped error.
pub async fn code_route<'a, T, Fut>(
    deps: &'a Deps,
    req: Request,
    run: impl FnOnce(Claims, String, Request) -> Fut,
) -> Response<Body>
where
    Fut: Future<Output = AppResult<T>> + 'a,
    T: Serialize,
{
    respond(
        async {
            let (claims, component) = caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            Ok(json(200, &run(claims, component.appid, req).await?))
        }
        .await,
    )
}
