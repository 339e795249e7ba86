//! WeChat Pay for merchants' mini-programs, service-provider mode (seed 002 预支付): the provider registers its
//! merchant once per component (`POST /pay/merchant`, kept in Secrets Manager), each shop names its sub-merchant in
//! its settings, customers order and pay (`POST /app/pay/prepay`, `GET /app/pay/order`, `POST /app/pay/close`),
//! WeChat Pay's notification moves an order to paid exactly once (`POST /pay/notify/{componentAppid}`), and the
//! merchant's side refunds (`POST /app/pay/refund`).
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::orders::{self, ItemRequest, Order, OrderState};
use crate::domain::runtime::{
    id_for_request, valid_id, valid_request_id, ShopSettings, PRODUCT_PREFIX,
};
use crate::error::{AppError, AppResult};
use crate::secrets::{PaySecret, SecretsError};
use crate::services::customers::Session;
use crate::services::shop_pages;
use crate::store::item::s;
use crate::store::{catalogue, orders as store, runtime};
use crate::wechat_pay::client::{Merchant, PayError, Signed};

fn secret_name(deps: &Deps, component: &str) -> String {
    deps.secrets
        .pay_secret_name(&deps.config.pay_secret_prefix, component)
}

/// How long an instance keeps a merchant it read: a re-registration reaches warm instances within this time.
const MERCHANT_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The component's WeChat Pay merchant, ready to sign: read from Secrets Manager and parsed once a minute at most
/// per instance (notifications come in bursts and are retried).
async fn merchant(deps: &Deps, component: &str) -> AppResult<Arc<Merchant>> {
    type Cache = Mutex<HashMap<String, (Instant, Arc<Merchant>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let fresh = |map: &HashMap<String, (Instant, Arc<Merchant>)>| {
        map.get(component)
            .filter(|(at, _)| at.elapsed() < MERCHANT_TTL)
            .map(|(_, m)| m.clone())
    };
    if let Some(m) = fresh(&cache.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(m);
    }
    let m = Arc::new(read_merchant(deps, component).await?);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.insert(component.to_owned(), (Instant::now(), m.clone()));
    Ok(m)
}

async fn read_merchant(deps: &Deps, component: &str) -> AppResult<Merchant> {
    let secret = match deps.secrets.pay(&secret_name(deps, component)).await {
        Ok(s) => s,
        Err(SecretsError::NotFound(_)) => {
            return Err(AppError::Conflict(
                "WeChat Pay is not set up for this component: an admin registers the provider's merchant with /pay/merchant".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Merchant::from_secret(&secret)?)
}

/// `POST /pay/merchant` (an admin of the component): the provider's WeChat Pay merchant, checked before it is kept.
pub async fn register_merchant(
    deps: &Deps,
    component: &str,
    secret: PaySecret,
) -> AppResult<Value> {
    let m = Merchant::from_secret(&secret).map_err(|e| AppError::BadRequest(e.to_string()))?;
    deps.secrets
        .put_pay(&secret_name(deps, component), &secret)
        .await?;
    tracing::info!(component, sp_mchid = %m.sp_mchid, "WeChat Pay merchant registered");
    Ok(
        json!({"componentAppid": component, "spMchid": m.sp_mchid, "spAppid": m.sp_appid,
              "serialNo": secret.serial_no, "publicKeyMode": secret.public_key_id.is_some()}),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrepayRequest {
    pub items: Vec<ItemRequest>,
    /// The client's id of this order: sent again, it is the same order (and the same payment).
    #[serde(default)]
    pub request_id: Option<String>,
}

fn order_no(pk: &str, customer: &str, request_id: Option<&str>) -> AppResult<String> {
    Ok(match request_id {
        Some(r) if !valid_request_id(r) => {
            return Err(AppError::BadRequest(
                "requestId is 8 to 64 letters, digits, - or _".into(),
            ))
        }
        // 18 or 26 characters of [0-9a-z_]: within WeChat Pay's 6 to 32.
        Some(r) => id_for_request("o_", &format!("{pk}\n{customer}"), r),
        None => format!("o_{}", crate::random::hex(12)),
    })
}

/// What `wx.requestPayment` takes, signed here with the provider's merchant key for the mini-program.
fn payment(m: &Merchant, appid: &str, prepay_id: &str) -> Value {
    let timestamp = now_secs().to_string();
    let nonce = crate::random::hex(16);
    let package = format!("prepay_id={prepay_id}");
    let pay_sign = m.pay_sign(appid, &timestamp, &nonce, &package);
    json!({"timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA", "paySign": pay_sign})
}

/// `POST /app/pay/prepay` (a customer): an order of the shop's products at their stored prices, and what
/// `wx.requestPayment` needs to pay it.
pub async fn prepay(deps: &Deps, session: &Session, req: PrepayRequest) -> AppResult<Value> {
    orders::check_items(&req.items).map_err(AppError::BadRequest)?;
    if let Some(bad) = req
        .items
        .iter()
        .find(|i| !valid_id(PRODUCT_PREFIX, &i.product_id))
    {
        return Err(AppError::InvalidId(format!(
            "{} is not a product id (p_…)",
            bad.product_id
        )));
    }
    let pk = session.pk();
    let no = order_no(&pk, &session.sub, req.request_id.as_deref())?;
    let order = match store::get(&deps.table, &pk, &no).await? {
        Some(existing) => existing,
        None => {
            let sub_mchid = shop_pages::load::<ShopSettings>(deps, &pk)
                .await?
                .and_then(|(s, _)| s.sub_mchid)
                .ok_or_else(|| {
                    AppError::Conflict(
                        "the shop takes no WeChat Pay yet: subMchid is missing from its settings"
                            .into(),
                    )
                })?;
            let found = futures::future::try_join_all(
                req.items
                    .iter()
                    .map(|i| catalogue::product(&deps.table, &pk, &i.product_id)),
            )
            .await?;
            if let Some(missing) = req.items.iter().zip(&found).find(|(_, p)| p.is_none()) {
                return Err(AppError::NotFound(format!(
                    "product {}",
                    missing.0.product_id
                )));
            }
            let products: Vec<_> = found.into_iter().flatten().collect();
            let (lines, total) =
                orders::price(&req.items, &products).map_err(AppError::Conflict)?;
            let order = Order {
                out_trade_no: no.clone(),
                customer_id: session.sub.clone(),
                description: orders::description(&lines),
                lines,
                total,
                state: OrderState::Created,
                sub_mchid,
                prepay_id: None,
                transaction_id: None,
                refund_id: None,
                created_ms: now_millis(),
                paid_ms: None,
            };
            if store::create(&deps.table, &pk, &order).await? {
                order
            } else {
                // The same order made at once by a retry: answer that one.
                store::get(&deps.table, &pk, &no)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("order {no}")))?
            }
        }
    };
    if order.state != OrderState::Created {
        return Err(AppError::Conflict(format!(
            "order {no} is {} already",
            order.state.as_str()
        )));
    }
    let m = merchant(deps, &session.cmp).await?;
    let prepay_id = match &order.prepay_id {
        Some(p) => p.clone(),
        None => {
            let openid = runtime::customer(&deps.table, &pk, &session.sub)
                .await?
                .ok_or_else(|| {
                    AppError::Unauthenticated("the session's customer is gone: log in again".into())
                })?
                .openid;
            let notify_url = format!("{}/pay/notify/{}", deps.config.pay_notify_base, session.cmp);
            let prepay_id = deps
                .pay
                .prepay(
                    &m,
                    &order.sub_mchid,
                    &session.app,
                    &openid,
                    &order.description,
                    &no,
                    order.total,
                    &notify_url,
                )
                .await?;
            store::set_prepay(&deps.table, &pk, &no, &prepay_id).await?;
            prepay_id
        }
    };
    tracing::info!(order = %no, total = order.total, "order ready to pay");
    Ok(json!({"order": order, "payment": payment(&m, &session.app, &prepay_id)}))
}

/// Moves an order to paid from WeChat Pay's transaction (a notification or a query), if it is the order's: the same
/// sub-merchant and amount. True when it is paid now (or was already).
async fn settle_paid(deps: &Deps, pk: &str, order: &Order, tx: &Value) -> AppResult<bool> {
    let total = tx["amount"]["total"].as_i64();
    if tx["sub_mchid"].as_str() != Some(order.sub_mchid.as_str()) || total != Some(order.total) {
        tracing::error!(order = %order.out_trade_no, "a paid transaction does not match its order: not marked paid");
        return Err(AppError::Conflict(format!(
            "the transaction does not match order {}",
            order.out_trade_no
        )));
    }
    let transaction_id = tx["transaction_id"].as_str().unwrap_or_default().to_owned();
    let moved = store::transition(
        &deps.table,
        pk,
        &order.out_trade_no,
        OrderState::Created,
        OrderState::Paid,
        Some(order.total),
        &[
            ("transaction_id", s(transaction_id)),
            ("paid_ms", crate::store::item::n(now_millis())),
        ],
    )
    .await?;
    if moved {
        tracing::info!(order = %order.out_trade_no, "order paid");
        return Ok(true);
    }
    Ok(store::get(&deps.table, pk, &order.out_trade_no)
        .await?
        .is_some_and(|o| matches!(o.state, OrderState::Paid | OrderState::Refunded)))
}

/// What `POST /pay/notify/{componentAppid}` answers WeChat Pay: 204 ends its retries; an error asks for them.
pub struct NotifyAnswer {
    pub status: u16,
    pub message: &'static str,
}

fn answer(status: u16, message: &'static str) -> NotifyAnswer {
    NotifyAnswer { status, message }
}

/// WeChat Pay's notification: signature (and its five-minute window) checked over the raw body, the resource
/// decrypted, and a successful payment applied to its order once, whatever the number of deliveries.
pub async fn notify(deps: &Deps, component: &str, signed: &Signed, body: &str) -> NotifyAnswer {
    let m = match merchant(deps, component).await {
        Ok(m) => m,
        Err(_) => return answer(404, "unknown merchant"),
    };
    if let Err(e) = deps.pay.verify(&m, signed, body).await {
        tracing::warn!(component, error = %e, "pay notification refused");
        return answer(401, "signature check failed");
    }
    let envelope: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => return answer(400, "not JSON"),
    };
    let r = &envelope["resource"];
    let plain = m.decrypt(
        r["nonce"].as_str().unwrap_or_default(),
        r["associated_data"].as_str().unwrap_or_default(),
        r["ciphertext"].as_str().unwrap_or_default(),
    );
    let tx: Value = match plain.ok().and_then(|p| serde_json::from_slice(&p).ok()) {
        Some(v) => v,
        None => return answer(400, "the resource does not decrypt"),
    };
    if envelope["event_type"] != "TRANSACTION.SUCCESS" || tx["trade_state"] != "SUCCESS" {
        tracing::info!(component, event = %envelope["event_type"], "pay notification noted");
        return answer(204, "");
    }
    if tx["sp_mchid"].as_str() != Some(m.sp_mchid.as_str()) {
        return answer(400, "another merchant's transaction");
    }
    let (Some(appid), Some(no)) = (tx["sub_appid"].as_str(), tx["out_trade_no"].as_str()) else {
        return answer(400, "no order named");
    };
    let pk = runtime::pk(component, appid);
    let settled = match store::get(&deps.table, &pk, no).await {
        Ok(Some(order)) => settle_paid(deps, &pk, &order, &tx).await,
        Ok(None) => return answer(404, "no such order"),
        Err(e) => Err(e.into()),
    };
    match settled {
        Ok(true) => answer(204, ""),
        Ok(false) => answer(409, "the order is closed"),
        Err(AppError::Conflict(_)) => answer(400, "the transaction does not match the order"),
        Err(e) => {
            tracing::error!(error = %crate::error::chain(&e), order = no, "pay notification not applied");
            answer(500, "try again")
        }
    }
}

/// An unpaid order closed here (WeChat Pay has closed it, or never heard of it).
async fn close_here(deps: &Deps, pk: &str, no: &str) -> AppResult<bool> {
    Ok(store::transition(
        &deps.table,
        pk,
        no,
        OrderState::Created,
        OrderState::Closed,
        None,
        &[],
    )
    .await?)
}

fn own_order(order: Option<Order>, session: &Session, no: &str) -> AppResult<Order> {
    order
        .filter(|o| o.customer_id == session.sub)
        .ok_or_else(|| AppError::NotFound(format!("order {no}")))
}

fn check_no(no: &str) -> AppResult<()> {
    if orders::valid_trade_no(no) {
        Ok(())
    } else {
        Err(AppError::InvalidId("outTradeNo is an order number".into()))
    }
}

/// `GET /app/pay/order?outTradeNo=` (the customer who made it): the order; one not yet paid is looked up at
/// WeChat Pay first, so a payment whose notification has not arrived is seen.
pub async fn order(deps: &Deps, session: &Session, no: &str) -> AppResult<Order> {
    check_no(no)?;
    let pk = session.pk();
    let order = own_order(store::get(&deps.table, &pk, no).await?, session, no)?;
    if order.state != OrderState::Created || order.prepay_id.is_none() {
        return Ok(order);
    }
    let m = merchant(deps, &session.cmp).await?;
    let tx = deps.pay.query(&m, &order.sub_mchid, no).await?;
    match tx["trade_state"].as_str() {
        Some("SUCCESS") => {
            settle_paid(deps, &pk, &order, &tx).await?;
        }
        Some("CLOSED" | "REVOKED") => {
            close_here(deps, &pk, no).await?;
        }
        _ => return Ok(order),
    }
    own_order(store::get(&deps.table, &pk, no).await?, session, no)
}

/// `GET /app/pay/orders`: a customer's own orders, newest first; the merchant's side (`customer` None) every
/// order of the mini-program.
pub async fn orders(
    deps: &Deps,
    pk: &str,
    customer: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> AppResult<crate::store::authorizers::Page<Order>> {
    Ok(match customer {
        Some(c) => store::of_customer(&deps.table, pk, c, limit, cursor).await?,
        None => store::all(&deps.table, pk, limit, cursor).await?,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderRef {
    pub out_trade_no: String,
}

/// `POST /app/pay/close` (the customer who made it): an unpaid order closed at WeChat Pay and here.
pub async fn close(deps: &Deps, session: &Session, req: OrderRef) -> AppResult<Order> {
    let no = &req.out_trade_no;
    check_no(no)?;
    let pk = session.pk();
    let order = own_order(store::get(&deps.table, &pk, no).await?, session, no)?;
    match order.state {
        OrderState::Closed => return Ok(order),
        OrderState::Created => {}
        other => {
            return Err(AppError::Conflict(format!(
                "order {no} is {} and cannot be closed",
                other.as_str()
            )))
        }
    }
    if order.prepay_id.is_some() {
        let m = merchant(deps, &session.cmp).await?;
        if let Err(e) = deps.pay.close(&m, &order.sub_mchid, no).await {
            // Paid meanwhile: record it, and refuse the close.
            if e.code() == Some("ORDERPAID") || e.code() == Some("ORDER_PAID") {
                let tx = deps.pay.query(&m, &order.sub_mchid, no).await?;
                settle_paid(deps, &pk, &order, &tx).await?;
                return Err(AppError::Conflict(format!("order {no} was paid meanwhile")));
            }
            return Err(e.into());
        }
    }
    close_here(deps, &pk, no).await?;
    own_order(store::get(&deps.table, &pk, no).await?, session, no)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundRequest {
    pub ma_app_id: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub reason: String,
}

/// `POST /app/pay/refund` (the merchant's side, `pk` checked): a paid order refunded in full. The refund number is
/// the order's, so a retry is the same refund at WeChat Pay.
pub async fn refund(
    deps: &Deps,
    component: &str,
    pk: &str,
    req: RefundRequest,
) -> AppResult<Order> {
    let no = &req.out_trade_no;
    check_no(no)?;
    if req.reason.chars().count() > 80 {
        return Err(AppError::BadRequest(
            "reason is at most 80 characters".into(),
        ));
    }
    let order = store::get(&deps.table, pk, no)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("order {no}")))?;
    match order.state {
        OrderState::Refunded => return Ok(order),
        OrderState::Paid => {}
        other => {
            return Err(AppError::Conflict(format!(
                "order {no} is {}: only a paid order is refunded",
                other.as_str()
            )))
        }
    }
    let m = merchant(deps, component).await?;
    let refund_no = format!("r{}", &no[1..]);
    let answer = deps
        .pay
        .refund(
            &m,
            &order.sub_mchid,
            no,
            &refund_no,
            order.total,
            order.total,
            &req.reason,
        )
        .await?;
    if !matches!(answer["status"].as_str(), Some("SUCCESS" | "PROCESSING")) {
        return Err(PayError::Refused {
            status: 200,
            code: answer["status"].as_str().unwrap_or("UNKNOWN").to_owned(),
            message: "the refund was not accepted".into(),
        }
        .into());
    }
    let refund_id = answer["refund_id"].as_str().unwrap_or_default().to_owned();
    store::transition(
        &deps.table,
        pk,
        no,
        OrderState::Paid,
        OrderState::Refunded,
        None,
        &[("refund_id", s(refund_id))],
    )
    .await?;
    tracing::info!(order = %no, "order refunded");
    store::get(&deps.table, pk, no)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("order {no}")))
}
