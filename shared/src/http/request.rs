//! Reading API Gateway requests: size limits, query and path parameters, JSON bodies, the bearer token.
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use super::auth::{self, Claims};
use crate::clock::now_secs;
use crate::deps::Deps;
use crate::error::AppError;

/// JSON API bodies are small; anything larger is refused before parsing.
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// WeChat pushes are a few KB.
pub const MAX_PUSH_BODY: usize = 64 * 1024;

pub fn body_bytes(req: &Request, limit: usize) -> Result<&[u8], AppError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > limit {
        return Err(AppError::PayloadTooLarge(limit));
    }
    Ok(bytes)
}

pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    let bytes = body_bytes(req, MAX_JSON_BODY)?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest("a JSON body is required".into()));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
}

/// A query parameter that names an id (appid, template id, page key, type): checked as one.
pub fn id_query(req: &Request, name: &str) -> Result<Option<String>, AppError> {
    let value = query(req, name);
    if let Some(v) = &value {
        crate::domain::ids::check(name, v)?;
    }
    Ok(value)
}

/// `id_query` for an id the route cannot do without: 400 when it is missing.
pub fn required_id(req: &Request, name: &str) -> Result<String, AppError> {
    id_query(req, name)?.ok_or_else(|| AppError::BadRequest(format!("{name} is required")))
}

pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
        .filter(|v| !v.is_empty())
}

/// A path parameter; they name ids, so they are checked as ids.
pub fn path_param(req: &Request, name: &str) -> Result<String, AppError> {
    let value = req
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
        .ok_or_else(|| AppError::BadRequest(format!("path parameter {name} is missing")))?;
    crate::domain::ids::check(name, &value)?;
    Ok(value)
}

/// The `cursor` query parameter, checked: a cursor is always one this API handed out.
pub fn cursor_param(req: &Request) -> Result<Option<String>, AppError> {
    let cursor = query(req, "cursor");
    if let Some(c) = &cursor {
        crate::domain::ids::check_cursor(c)?;
    }
    Ok(cursor)
}

pub fn limit_param(req: &Request, default: i32, max: i32) -> Result<i32, AppError> {
    match query(req, "limit") {
        None => Ok(default),
        Some(v) => match v.parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "limit must be a number from 1 to {max}"
            ))),
        },
    }
}

/// API Gateway's route key (`POST /code/release`), or the method and path when there is none.
pub fn route(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
    .unwrap_or_else(|| format!("{} {}", req.method(), req.uri().path()))
}

/// The caller's address as API Gateway saw it (the TCP peer, not a header a client could set).
pub fn source_ip(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".into())
}

/// Verifies the bearer JWT of an API request.
pub async fn claims(req: &Request, deps: &Deps) -> Result<Claims, AppError> {
    auth::verify(bearer(req)?, deps.jwt_key().await?, now_secs())
}

/// The bearer token of the request (a staff JWT, or a runtime-API customer session).
pub fn bearer(req: &Request) -> Result<&str, AppError> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| AppError::Unauthenticated("missing Authorization: Bearer token".into()))?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| AppError::Unauthenticated("Authorization must be a Bearer token".into()))
}
