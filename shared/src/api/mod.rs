//! Route handlers: parse → authorize → call a service → map the result. One module per resource.
pub mod authorizer;
pub mod callbacks;
pub mod code;
pub mod component;
pub mod decoration;
pub mod merchants;
pub mod records;
pub mod templates;
pub mod users;

use lambda_http::Request;

use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::http::auth::{Claims, Role};
use crate::http::request::query;
use crate::store::components::{self, Component};

/// The verified caller, checked for one of `roles`, and the component the request acts in.
pub async fn caller(deps: &Deps, req: &Request, roles: &[Role]) -> AppResult<(Claims, Component)> {
    let claims = crate::http::request::claims(req, deps)?;
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
