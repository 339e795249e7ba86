//! The runtime API (seed 002), what templated mini-programs call: `POST /app/login` (no token: the `wx.login` code),
//! then with the customer session `POST /app/user/info`, `POST /app/user/phone`, `GET /app/cards`, `GET /app/card`, `POST /app/card/praise`, `POST /app/card/act`,
//! `POST /app/card/poster`; payments (`POST /app/pay/prepay`, `GET /app/pay/order`, `POST /app/pay/close`, and the
//! merchant's `POST /app/pay/refund`); chat (`/app/chat/send|messages|unread|read|upload|conversations`, both sides with a
//! session; the staff side's login linked by the merchant with `POST /app/staff/account`);
//! and the merchant's side with a staff token: `POST /app/staff/save`, `GET /app/staff/list`, `POST
//! /app/staff/delete` (a merchant its own mini-program's, operators the component's). The catalogue: categories and
//! products kept by the merchant's side (`/app/category/save|delete`, `/app/product/save|delete`), read by both
//! (`GET /app/categories`, `/app/products`, `/app/product`: with `maAppId` and a staff token, or with a session),
//! forwarded by customers (`POST /app/product/forward`). The website and the shop's settings: written by the
//! merchant's side (`POST /app/website/save`, `/app/settings/save`), read by both (`GET /app/website`, `/app/settings`).
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::future::Future;

use crate::deps::Deps;
use crate::domain::chat::HISTORY_PAGE;
use crate::error::{AppError, AppResult};
use crate::http::auth::Role;
use crate::http::request::{
    bearer, cursor_param, id_query, json_body, limit_param, query, required_id,
};
use crate::http::response::{json, respond};
use crate::services::cards;
use crate::services::catalogue::{self, Reader};
use crate::services::chat;
use crate::services::customers::{self, Session};
use crate::services::pay;
use crate::services::posters;
use crate::services::shop_pages::{self, SaveSettings, SaveWebsite};

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
        cards::list(
            deps,
            &session.pk(),
            limit_param(&req, 20, 100)?,
            cursor_param(&req)?.as_deref(),
        )
        .await
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

pub async fn poster(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        posters::create(deps, &session, json_body(&req)?).await
    })
    .await
}

/// A non-negative message number from the query (`after`, `before`).
fn seq_param(req: &Request, name: &str) -> AppResult<Option<i64>> {
    query(req, name)
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
                .ok_or_else(|| AppError::BadRequest(format!("{name} is a message number")))
        })
        .transpose()
}

pub async fn chat_send(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        chat::send(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn chat_messages(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        let (after, before) = (seq_param(&req, "after")?, seq_param(&req, "before")?);
        let limit = limit_param(&req, HISTORY_PAGE, 50)?;
        let party = chat::party(
            deps,
            &session,
            id_query(&req, "staffId")?.as_deref(),
            id_query(&req, "customerId")?.as_deref(),
        )
        .await?;
        chat::messages(deps, &party, after, before, limit).await
    })
    .await
}

pub async fn chat_unread(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        chat::unread(
            deps,
            &session,
            id_query(&req, "staffId")?.as_deref(),
            id_query(&req, "customerId")?.as_deref(),
        )
        .await
    })
    .await
}

pub async fn chat_read(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        chat::read(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn chat_upload(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        chat::upload(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn chat_conversations(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        chat::conversations(
            deps,
            &session,
            limit_param(&req, 20, 100)?,
            cursor_param(&req)?.as_deref(),
        )
        .await
    })
    .await
}

pub async fn staff_account(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &chat::LinkRequest| b.ma_app_id.clone(),
        |pk, body| async move { Ok((chat::link_account(deps, &pk, body).await?, false)) },
    )
    .await
}

pub async fn pay_prepay(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        pay::prepay(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn pay_order(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        let no = query(&req, "outTradeNo")
            .ok_or_else(|| AppError::BadRequest("outTradeNo is required".into()))?;
        pay::order(deps, &session, &no).await
    })
    .await
}

pub async fn pay_orders(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (pk, session) = read_as(deps, &req).await?;
            let page = pay::orders(
                deps,
                &pk,
                session.as_ref().map(|s| s.sub.as_str()),
                limit_param(&req, 20, 100)?,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(200, &page))
        }
        .await,
    )
}

pub async fn pay_close(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        pay::close(deps, &session, json_body(&req)?).await
    })
    .await
}

pub async fn pay_refund(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (claims, component) =
                super::caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            let body: pay::RefundRequest = json_body(&req)?;
            crate::domain::ids::check("maAppId", &body.ma_app_id)?;
            let pk =
                cards::staff_partition(deps, &claims, &component.appid, &body.ma_app_id).await?;
            Ok(json(
                200,
                &pay::refund(deps, &component.appid, &pk, body).await?,
            ))
        }
        .await,
    )
}

pub async fn staff_save(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &cards::SaveStaffRequest| b.ma_app_id.clone(),
        |pk, body| async move { cards::save_staff(deps, &pk, body).await },
    )
    .await
}

pub async fn staff_list(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let pk = staff_side(deps, &req, query(&req, "maAppId").unwrap_or_default()).await?;
            let page = cards::list(
                deps,
                &pk,
                limit_param(&req, 50, 100)?,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(200, &page))
        }
        .await,
    )
}

pub async fn staff_delete(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &cards::StaffRef| b.ma_app_id.clone(),
        |pk, body| async move {
            cards::delete_staff(deps, &pk, &body.staff_id).await?;
            Ok((
                serde_json::json!({"staffId": body.staff_id, "deleted": true}),
                false,
            ))
        },
    )
    .await
}

/// The runtime partition of the mini-program `appid` for a caller of the merchant's side (its merchant, or the
/// component's operators; another merchant's is 404).
async fn staff_side(deps: &Deps, req: &Request, appid: String) -> AppResult<String> {
    let (claims, component) = super::caller(deps, req, &[Role::Merchant, Role::Operator]).await?;
    crate::domain::ids::check("maAppId", &appid)?;
    cards::staff_partition(deps, &claims, &component.appid, &appid).await
}

/// The partition a read is about and the customer reading it: the merchant's side names the mini-program
/// (`maAppId`, a staff token; no customer), a customer's session names it itself.
async fn read_as(deps: &Deps, req: &Request) -> AppResult<(String, Option<Session>)> {
    match query(req, "maAppId") {
        Some(appid) => Ok((staff_side(deps, req, appid).await?, None)),
        None => {
            let session = customers::session(deps, bearer(req)?).await?;
            Ok((session.pk(), Some(session)))
        }
    }
}

/// The partition a catalogue read is about and who reads it.
async fn reader(deps: &Deps, req: &Request) -> AppResult<(String, Reader)> {
    let (pk, session) = read_as(deps, req).await?;
    Ok((
        pk,
        if session.is_some() {
            Reader::Customer
        } else {
            Reader::Staff
        },
    ))
}

/// A write of the merchant's side over one mini-program named in the body (`maAppId`): the caller is checked,
/// then `run` gets the mini-program's runtime partition and the body; answers 201 when `run` made something.
async fn staff_write<B, T, Fut>(
    deps: &Deps,
    req: Request,
    app_of: impl FnOnce(&B) -> String,
    run: impl FnOnce(String, B) -> Fut,
) -> Response<Body>
where
    B: serde::de::DeserializeOwned,
    T: Serialize,
    Fut: Future<Output = AppResult<(T, bool)>>,
{
    respond(
        async {
            // Who calls first: a stranger learns nothing about the body.
            let (claims, component) =
                super::caller(deps, &req, &[Role::Merchant, Role::Operator]).await?;
            let body: B = json_body(&req)?;
            let appid = app_of(&body);
            crate::domain::ids::check("maAppId", &appid)?;
            let pk = cards::staff_partition(deps, &claims, &component.appid, &appid).await?;
            let (out, created) = run(pk, body).await?;
            Ok(json(if created { 201 } else { 200 }, &out))
        }
        .await,
    )
}

pub async fn category_save(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &catalogue::SaveCategory| b.ma_app_id.clone(),
        |pk, body| async move { catalogue::save_category(deps, &pk, body).await },
    )
    .await
}

pub async fn category_delete(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &catalogue::CategoryRef| b.ma_app_id.clone(),
        |pk, body| async move {
            catalogue::delete_category(deps, &pk, &body.category_id).await?;
            Ok((
                serde_json::json!({"categoryId": body.category_id, "deleted": true}),
                false,
            ))
        },
    )
    .await
}

pub async fn categories(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (pk, _) = reader(deps, &req).await?;
            let items = catalogue::categories(deps, &pk).await?;
            Ok(json(200, &serde_json::json!({ "items": items })))
        }
        .await,
    )
}

pub async fn product_save(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &catalogue::SaveProduct| b.ma_app_id.clone(),
        |pk, body| async move { catalogue::save_product(deps, &pk, body).await },
    )
    .await
}

pub async fn product_delete(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &catalogue::ProductRef| b.ma_app_id.clone(),
        |pk, body| async move {
            catalogue::delete_product(deps, &pk, &body.product_id).await?;
            Ok((
                serde_json::json!({"productId": body.product_id, "deleted": true}),
                false,
            ))
        },
    )
    .await
}

pub async fn products(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (pk, who) = reader(deps, &req).await?;
            let page = catalogue::products(
                deps,
                &pk,
                who,
                id_query(&req, "categoryId")?.as_deref(),
                limit_param(&req, 20, 100)?,
                cursor_param(&req)?.as_deref(),
            )
            .await?;
            Ok(json(200, &page))
        }
        .await,
    )
}

pub async fn product(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (pk, who) = reader(deps, &req).await?;
            let found =
                catalogue::product(deps, &pk, who, &required_id(&req, "productId")?).await?;
            Ok(json(200, &found))
        }
        .await,
    )
}

pub async fn product_forward(deps: &Deps, req: Request) -> Response<Body> {
    customer_route(deps, req, |session, req| async move {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Forward {
            product_id: String,
        }
        let body: Forward = json_body(&req)?;
        catalogue::forward(deps, &session.pk(), &body.product_id).await
    })
    .await
}

pub async fn website(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (pk, _) = reader(deps, &req).await?;
            Ok(json(
                200,
                &shop_pages::read::<crate::domain::runtime::Website>(deps, &pk).await?,
            ))
        }
        .await,
    )
}

pub async fn website_save(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &SaveWebsite| b.ma_app_id.clone(),
        |pk, b| async move { shop_pages::save(deps, &pk, b.version, b.website).await },
    )
    .await
}

pub async fn settings(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let (pk, _) = reader(deps, &req).await?;
            Ok(json(
                200,
                &shop_pages::read::<crate::domain::runtime::ShopSettings>(deps, &pk).await?,
            ))
        }
        .await,
    )
}

pub async fn settings_save(deps: &Deps, req: Request) -> Response<Body> {
    staff_write(
        deps,
        req,
        |b: &SaveSettings| b.ma_app_id.clone(),
        |pk, b| async move { shop_pages::save(deps, &pk, b.version, b.settings).await },
    )
    .await
}
