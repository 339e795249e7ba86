//! The runtime API (seed 002), what templated mini-programs call: `POST /app/login` (no token: the `wx.login` code),
//! then with the customer session `POST /app/user/info`, `POST /app/user/phone`, `GET /app/cards`, `GET /app/card`, `POST /app/card/praise`, `POST /app/card/act`;
//! and the merchant's side with a staff token: `POST /app/staff/save`, `GET /app/staff/list`, `POST
//! /app/staff/delete` (a merchant its own mini-program's, operators the component's).
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::future::Future;

use super::code_route;
use crate::deps::Deps;
use crate::error::AppResult;
use crate::http::auth::Role;
use crate::http::request::{bearer, cursor_param, json_body, limit_param, required_id};
use crate::http::response::{json, respond};
use crate::services::cards;
use crate::services::customers::{self, Session};

/// A route a customer calls with its session: verified first, then `run` with the session and the request.
async fn customer_route<'a, T, Fut>(
    deps: &'a Deps,
    req: Request,
    run: impl FnOnce(Session, Request) -> Fut,
) -> Response<Body>
where
    Fut: Future<Output = AppResult<T>> + 'a,
    T: Serialize,
{
    respond(
        async {
            let session = customers::session(deps, bearer(&req)?).await?;
            Ok(json(200, &run(session, req).await?))
        }
        .await,
    )
}

pub async fn login(deps: &Deps, req: Request) -> Response<Body> {
    respond(async { Ok(json(200, &customers::login(deps, json_body(&req)?).await?)) }.await)
}

pub async fn user_info(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        customers::user_info(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn user_phone(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        customers::phone(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn cards(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        let page = cards::cards(
            deps,
            &session,
            limit_param(&req, 20, 100)?,
            cursor_param(&req)?.as_deref(),
        )
        .await?;
        Ok(page)
    })
    .await
}

pub async fn card(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        cards::view(deps, &session, &required_id(&req, "staffId")?).await
    })
    .await
}

pub async fn praise(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        cards::praise(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn act(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        cards::act(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn staff_save(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) =
                super::caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            let (card, created) =
                cards::save_staff(deps, &claims, &component.appid, json_body(&req)?).await?;
            Ok(json(if created { 201 } else { 200 }, &card))
        }
        .await,
    )
}

pub async fn staff_list(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |claims, component, req| async move {
        cards::list_staff(
            deps,
            &claims,
            &component,
            &required_id(&req, "maAppId")?,
            limit_param(&req, 50, 100)?,
            cursor_param(&req)?.as_deref(),
        )
        .await
    })
    .await
}

pub async fn staff_delete(deps: &Deps, req: Request) -> Response<Body> {
    code_route(deps, req, |claims, component, req| async move {
        let target: cards::StaffRef = json_body(&req)?;
        let staff_id = target.staff_id.clone();
        cards::delete_staff(deps, &claims, &component, target).await?;
        Ok(serde_json::json!({"staffId": staff_id, "deleted": true}))
    })
    .await
}
