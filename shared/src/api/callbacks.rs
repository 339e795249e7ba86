//! `GET|POST /wechat/{componentAppid}/auth-event` and `GET|POST /wechat/{componentAppid}/{authorizerAppid}/callback`.
//! WeChat only needs the literal `success`; every refusal is a 4xx (logged) and writes nothing.
use lambda_http::{http::Method, Body, Request, Response};

use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::http::request::{body_bytes, path_param, query, MAX_PUSH_BODY};
use crate::http::response::{respond, text};
use crate::services::callbacks::{self, SignedQuery};
use crate::wechat::crypto::UrlCheck;

/// Counts a push that was not handled (bad signature, wrong app, stale, malformed...) by its error code: the
/// `PushesRefused` metric.
fn refused_counted(url: &str, handled: AppResult<()>) -> AppResult<()> {
    if let Err(e) = &handled {
        let (_, code) = crate::http::response::status_and_code(e);
        crate::metrics::count("PushesRefused", &[("Url", url), ("Code", code)]);
    }
    handled
}

fn required(req: &Request, name: &str, missing: fn(String) -> AppError) -> AppResult<String> {
    query(req, name).ok_or_else(|| missing(format!("query parameter {name} is required")))
}

fn signed_query(req: &Request) -> AppResult<SignedQuery> {
    Ok(SignedQuery {
        msg_signature: required(req, "msg_signature", AppError::Unauthenticated)?,
        timestamp: required(req, "timestamp", AppError::BadRequest)?,
        nonce: required(req, "nonce", AppError::BadRequest)?,
    })
}

async fn url_check(deps: &Deps, component: &str, req: &Request) -> AppResult<Response<Body>> {
    let (signature, msg_signature) = (query(req, "signature"), query(req, "msg_signature"));
    let (timestamp, nonce) = (
        required(req, "timestamp", AppError::BadRequest)?,
        required(req, "nonce", AppError::BadRequest)?,
    );
    let echostr = required(req, "echostr", AppError::BadRequest)?;
    let check = UrlCheck {
        signature: signature.as_deref(),
        msg_signature: msg_signature.as_deref(),
        timestamp: &timestamp,
        nonce: &nonce,
        echostr: &echostr,
    };
    Ok(text(
        200,
        &callbacks::verify_url(deps, component, &check).await?,
    ))
}

pub async fn auth_event(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let component = path_param(&req, "componentAppid")?;
            if req.method() == Method::GET {
                return url_check(deps, &component, &req).await;
            }
            let body = body_bytes(&req, MAX_PUSH_BODY)?;
            let handled =
                callbacks::handle_auth_event(deps, &component, &signed_query(&req)?, body).await;
            refused_counted("auth-event", handled)?;
            Ok(text(200, "success"))
        }
        .await,
    )
}

pub async fn message(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let component = path_param(&req, "componentAppid")?;
            let authorizer = path_param(&req, "authorizerAppid")?;
            if req.method() == Method::GET {
                return url_check(deps, &component, &req).await;
            }
            let body = body_bytes(&req, MAX_PUSH_BODY)?;
            let handled = callbacks::handle_message(
                deps,
                &component,
                &authorizer,
                &signed_query(&req)?,
                body,
            )
            .await;
            refused_counted("message", handled)?;
            Ok(text(200, "success"))
        }
        .await,
    )
}
