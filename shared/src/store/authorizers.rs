//! Authorized mini-programs and their refresh tokens. A refresh token is durable data: it is only ever replaced
//! by a newer one (`refresh_token_at` increases), and only dropped when the merchant unauthorizes.
//! `PK=COMP#{appid}`, `SK=AUTHZ#{authorizerAppid}`.
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::item::{
    applied, decode_cursor, encode_cursor, get_n, get_n_list, get_s, key, n, require_s, s, Item,
};
use super::{component_pk, StoreError, Table};
use crate::domain::events::Event;

pub const STATUS_AUTHORIZED: &str = "authorized";
pub const STATUS_UNAUTHORIZED: &str = "unauthorized";
pub const STATUS_REAUTH_REQUIRED: &str = "reauthorization_required";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorizer {
    pub appid: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub nick_name: String,
    pub user_name: String,
    pub principal_name: String,
    pub head_img: String,
    pub is_mini_program: bool,
    pub func_ids: Vec<i64>,
    pub refresh_token: Option<String>,
    /// The merchant (account) who authorized it through our link; cleared when it is unauthorized or unlinked.
    pub merchant: Option<String>,
    /// Who owned it last, kept when the ownership ended.
    pub last_merchant: Option<String>,
    pub authorized_at: i64,
    pub updated_at: i64,
    /// WeChat's time (seconds) of the last authorization event applied.
    pub last_event_time: i64,
    /// The time (ms) that event was recorded at in the history; an ownership event decided later is dated after it.
    pub last_event_ms: i64,
    /// The merchant who hosts this mini-program with the provider (托管). Hosting is in force only while that
    /// merchant still owns it (`is_hosted`), so a change of owner ends it without a write.
    pub hosted_by: Option<String>,
    pub hosted_since: Option<i64>,
}

impl Authorizer {
    /// The provider's operators may decorate it on its merchant's behalf.
    pub fn is_hosted(&self) -> bool {
        self.hosted_by.is_some() && self.hosted_by == self.merchant
    }
}

/// What an authorization (push, redirect or reconcile) learned about a mini-program.
pub struct Authorization<'a> {
    pub authorizer_appid: &'a str,
    pub refresh_token: &'a str,
    /// When the refresh token was obtained (ms); orders competing writers.
    pub refresh_token_at: i64,
    pub func_ids: &'a [i64],
    pub nick_name: &'a str,
    pub user_name: &'a str,
    pub principal_name: &'a str,
    pub head_img: &'a str,
    pub is_mini_program: bool,
    /// WeChat's CreateTime of the event; an older event never undoes a newer one.
    pub event_time: i64,
}

fn sk(appid: &str) -> String {
    format!("AUTHZ#{appid}")
}

fn from_item(item: &Item) -> Result<Authorizer, StoreError> {
    Ok(Authorizer {
        appid: require_s(item, "authorizer_appid")?,
        status: require_s(item, "status")?,
        status_reason: get_s(item, "status_reason"),
        nick_name: get_s(item, "nick_name").unwrap_or_default(),
        user_name: get_s(item, "user_name").unwrap_or_default(),
        principal_name: get_s(item, "principal_name").unwrap_or_default(),
        head_img: get_s(item, "head_img").unwrap_or_default(),
        is_mini_program: item
            .get("is_mini_program")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        func_ids: get_n_list(item, "func_ids"),
        refresh_token: get_s(item, "refresh_token"),
        merchant: get_s(item, "merchant"),
        last_merchant: get_s(item, "last_merchant"),
        authorized_at: get_n(item, "authorized_at").unwrap_or(0),
        updated_at: get_n(item, "updated_at").unwrap_or(0),
        last_event_time: get_n(item, "last_event_time").unwrap_or(0),
        // Records from before `last_event_ms` was kept: the event lay somewhere in WeChat's second.
        last_event_ms: get_n(item, "last_event_ms")
            .unwrap_or_else(|| get_n(item, "last_event_time").unwrap_or(0) * 1000 + 999),
        hosted_by: get_s(item, "hosted_by"),
        hosted_since: get_n(item, "hosted_since"),
    })
}

pub async fn get(
    table: &Table,
    component: &str,
    appid: &str,
) -> Result<Option<Authorizer>, StoreError> {
    let item = table
        .get(component_pk(component), sk(appid), "GetItem authorizer")
        .await?;
    item.map(|i| from_item(&i)).transpose()
}

/// Who a recorded authorization makes the owner: a merchant claiming an unowned mini-program through the link.
pub struct Claim<'a> {
    pub merchant: &'a str,
    /// The event announcing the new owner, written in the same transaction.
    pub event: &'a Event,
}

fn record_update(component: &str, appid: &str) -> UpdateBuilder {
    Update::builder().set_key(Some(key(component_pk(component), sk(appid))))
}

/// Records an authorization with its event and, when `claim` is given, the new owner, all in one transaction.
/// The claim holds only while nobody owns the mini-program. Returns false when a newer event or refresh token
/// already won, the event was recorded before, or the claim lost to another owner (nothing written).
pub async fn save_authorization(
    table: &Table,
    component: &str,
    auth: &Authorization<'_>,
    event: &Event,
    claim: Option<Claim<'_>>,
    now: i64,
) -> Result<bool, StoreError> {
    let funcs = AttributeValue::L(auth.func_ids.iter().map(|id| n(*id)).collect());
    let mut set = String::from(
        "SET authorizer_appid = :a, #st = :authorized, refresh_token = :rt, refresh_token_at = :rta, \
         func_ids = :f, nick_name = :nick, user_name = :user, principal_name = :principal, head_img = :head, \
         is_mini_program = :mp, authorized_at = :now, updated_at = :now, last_event_time = :et, \
         last_event_ms = :ems",
    );
    let mut condition = String::from(
        "(attribute_not_exists(last_event_time) OR last_event_time <= :et) AND \
         (attribute_not_exists(refresh_token_at) OR refresh_token_at <= :rta)",
    );
    let mut update = record_update(component, auth.authorizer_appid)
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":a", s(auth.authorizer_appid))
        .expression_attribute_values(":authorized", s(STATUS_AUTHORIZED))
        .expression_attribute_values(":rt", s(auth.refresh_token))
        .expression_attribute_values(":rta", n(auth.refresh_token_at))
        .expression_attribute_values(":f", funcs)
        .expression_attribute_values(":nick", s(auth.nick_name))
        .expression_attribute_values(":user", s(auth.user_name))
        .expression_attribute_values(":principal", s(auth.principal_name))
        .expression_attribute_values(":head", s(auth.head_img))
        .expression_attribute_values(":mp", AttributeValue::Bool(auth.is_mini_program))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":et", n(auth.event_time))
        .expression_attribute_values(":ems", n(event.at_ms));
    let mut events = vec![event];
    if let Some(claim) = &claim {
        set.push_str(", merchant = :m, GSI1PK = :g, GSI1SK = :a");
        condition.push_str(" AND attribute_not_exists(merchant)");
        update = update
            .expression_attribute_values(":m", s(claim.merchant))
            .expression_attribute_values(":g", s(merchant_index(component, claim.merchant)));
        events.push(claim.event);
    }
    let update = update
        .update_expression(format!("{set} REMOVE status_reason"))
        .condition_expression(condition);
    table
        .update_with_events(update, &events, "TransactWriteItems authorization")
        .await
}

fn merchant_index(component: &str, merchant: &str) -> String {
    format!("MERCHANT#{component}#{merchant}")
}

/// Replaces the refresh token after a token refresh, only with a newer one and only while still authorized.
pub async fn save_refresh_token(
    table: &Table,
    component: &str,
    appid: &str,
    refresh_token: &str,
    refresh_token_at: i64,
) -> Result<bool, StoreError> {
    applied("UpdateItem refresh token", table.update(component_pk(component), sk(appid))
        .update_expression("SET refresh_token = :rt, refresh_token_at = :rta, updated_at = :now")
        .condition_expression(
            "#st = :authorized AND (attribute_not_exists(refresh_token_at) OR refresh_token_at < :rta)",
        )
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":authorized", s(STATUS_AUTHORIZED))
        .expression_attribute_values(":rt", s(refresh_token))
        .expression_attribute_values(":rta", n(refresh_token_at))
        .expression_attribute_values(":now", n(refresh_token_at / 1000))
        .send()
        .await)
}

/// Restores a refresh token found in WeChat's authorizer list where ours is missing (never replaces one).
pub async fn restore_refresh_token(
    table: &Table,
    component: &str,
    appid: &str,
    refresh_token: &str,
    auth_time: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    applied("UpdateItem restore refresh token", table.update(component_pk(component), sk(appid))
        .update_expression(
            "SET authorizer_appid = :a, refresh_token = :rt, refresh_token_at = :rta, #st = :authorized, \
             authorized_at = if_not_exists(authorized_at, :at), updated_at = :now REMOVE status_reason",
        )
        .condition_expression("attribute_not_exists(refresh_token)")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":a", s(appid))
        .expression_attribute_values(":rt", s(refresh_token))
        .expression_attribute_values(":rta", n(now_ms))
        .expression_attribute_values(":authorized", s(STATUS_AUTHORIZED))
        .expression_attribute_values(":at", n(auth_time))
        .expression_attribute_values(":now", n(now_ms / 1000))
        .send()
        .await)
}

/// The mini-program's admin revoked the authorization: the refresh token is dead at WeChat, so it is dropped with
/// the status, and the merchant loses the mini-program in the same transaction as its event. `owner` is the
/// merchant the caller read; the write holds only if it is still the owner. False when nothing was written (an
/// older event, the event recorded before, or the owner changed meanwhile).
pub async fn mark_unauthorized(
    table: &Table,
    component: &str,
    appid: &str,
    owner: Option<&str>,
    event: &Event,
    now: i64,
) -> Result<bool, StoreError> {
    let (set, owner_condition) = match owner {
        Some(_) => (", last_merchant = :owner", "merchant = :owner"),
        None => ("", "attribute_not_exists(merchant)"),
    };
    let mut update = record_update(component, appid)
        .update_expression(format!(
            "SET authorizer_appid = :a, #st = :unauth, updated_at = :now, last_event_time = :et, \
             last_event_ms = :ems{set} \
             REMOVE refresh_token, refresh_token_at, status_reason, merchant, GSI1PK, GSI1SK"
        ))
        .condition_expression(format!(
            "(attribute_not_exists(last_event_time) OR last_event_time <= :et) AND {owner_condition}"
        ))
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":a", s(appid))
        .expression_attribute_values(":unauth", s(STATUS_UNAUTHORIZED))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":et", n(event.at_ms / 1000))
        .expression_attribute_values(":ems", n(event.at_ms));
    if let Some(owner) = owner {
        update = update.expression_attribute_values(":owner", s(owner));
    }
    table
        .update_with_events(update, &[event], "TransactWriteItems unauthorize")
        .await
}

/// WeChat refused the refresh token (61023): keep it for the record, but make the state visible.
pub async fn mark_reauthorization_required(
    table: &Table,
    component: &str,
    appid: &str,
    reason: &str,
    now: i64,
) -> Result<(), StoreError> {
    let res = table
        .update(component_pk(component), sk(appid))
        .update_expression("SET #st = :re, status_reason = :reason, updated_at = :now")
        .condition_expression("#st = :authorized")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":re", s(STATUS_REAUTH_REQUIRED))
        .expression_attribute_values(":authorized", s(STATUS_AUTHORIZED))
        .expression_attribute_values(":reason", s(reason))
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    applied("UpdateItem reauth", res).map(|_| ())
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub async fn list(
    table: &Table,
    component: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Authorizer>, StoreError> {
    let pk = component_pk(component);
    let start = cursor.and_then(|c| decode_cursor(&pk, c, "AUTHZ#"));
    let out = table
        .query_prefix(pk.clone(), "AUTHZ#".into())
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query authorizers", e))?;
    let items = out
        .items()
        .iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        next_cursor: encode_cursor(out.last_evaluated_key()),
    })
}

fn code_sk(code: &str) -> String {
    use sha1::{Digest, Sha1};
    format!(
        "AUTHCODE#{}",
        crate::domain::ids::hex_lower(&Sha1::digest(code.as_bytes()))
    )
}

/// What we know of an authorization code (the code itself is not stored, only its hash).
pub enum Recalled {
    /// Exchanged at WeChat, not yet stored as an authorizer: a delivery died in between. `at_ms`: when.
    Exchanged {
        info: crate::wechat::client::AuthorizationInfo,
        at_ms: i64,
    },
    /// Stored: the push and the redirect of one authorization agree on this mini-program.
    Recorded(String),
}

/// Keeps an exchange's result the moment WeChat gave it: the code cannot be exchanged twice, so a handler that
/// dies before storing the authorizer must not take the refresh token with it. TTL: the push records' own.
pub async fn remember_exchange(
    table: &Table,
    component: &str,
    code: &str,
    info: &crate::wechat::client::AuthorizationInfo,
    at_ms: i64,
    ttl: i64,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(info).map_err(|e| StoreError::Malformed(e.to_string()))?;
    let res = table
        .update(component_pk(component), code_sk(code))
        .update_expression(
            "SET authorizer_appid = :a, exchange = :x, exchanged_at = :at, #ttl = :ttl",
        )
        .condition_expression("attribute_not_exists(recorded)")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":a", s(&info.authorizer_appid))
        .expression_attribute_values(":x", s(json))
        .expression_attribute_values(":at", n(at_ms))
        .expression_attribute_values(":ttl", n(ttl))
        .send()
        .await;
    // Not applied: the other path of the same authorization recorded it already.
    applied("UpdateItem auth code exchange", res).map(|_| ())
}

/// The code's exchange is stored as an authorizer: its credentials leave the code's record.
pub async fn remember_code(
    table: &Table,
    component: &str,
    code: &str,
    appid: &str,
    ttl: i64,
) -> Result<(), StoreError> {
    table
        .update(component_pk(component), code_sk(code))
        .update_expression(
            "SET authorizer_appid = :a, recorded = :yes, #ttl = :ttl REMOVE exchange",
        )
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":a", s(appid))
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .expression_attribute_values(":ttl", n(ttl))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("UpdateItem auth code", e))?;
    Ok(())
}

pub async fn recall_code(
    table: &Table,
    component: &str,
    code: &str,
) -> Result<Option<Recalled>, StoreError> {
    let Some(item) = table
        .get(component_pk(component), code_sk(code), "GetItem auth code")
        .await?
    else {
        return Ok(None);
    };
    let appid = require_s(&item, "authorizer_appid")?;
    // Records written before exchanges were kept carry only the appid: they were recorded.
    match get_s(&item, "exchange") {
        Some(json) if item.get("recorded").is_none() => {
            let info = serde_json::from_str(&json)
                .map_err(|_| StoreError::Malformed("auth code exchange".into()))?;
            let at_ms = get_n(&item, "exchanged_at").unwrap_or(0);
            Ok(Some(Recalled::Exchanged { info, at_ms }))
        }
        _ => Ok(Some(Recalled::Recorded(appid))),
    }
}

/// Gives an unowned, authorized mini-program to `merchant`, with the event that announces it. False when it is
/// owned, not authorized or missing by now (nothing written).
pub async fn link_merchant(
    table: &Table,
    component: &str,
    appid: &str,
    merchant: &str,
    event: &Event,
    now: i64,
) -> Result<bool, StoreError> {
    let update = record_update(component, appid)
        .update_expression("SET merchant = :m, GSI1PK = :g, GSI1SK = :a, updated_at = :now")
        .condition_expression(
            "attribute_exists(PK) AND attribute_not_exists(merchant) AND #st = :authorized",
        )
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":authorized", s(STATUS_AUTHORIZED))
        .expression_attribute_values(":m", s(merchant))
        .expression_attribute_values(":g", s(merchant_index(component, merchant)))
        .expression_attribute_values(":a", s(appid))
        .expression_attribute_values(":now", n(now));
    table
        .update_with_events(update, &[event], "TransactWriteItems link merchant")
        .await
}

/// Takes the mini-program away from `owner` (an admin's decision), with its event. False when `owner` no longer
/// owns it (nothing written).
pub async fn unlink_merchant(
    table: &Table,
    component: &str,
    appid: &str,
    owner: &str,
    event: &Event,
    now: i64,
) -> Result<bool, StoreError> {
    let update = record_update(component, appid)
        .update_expression(
            "SET last_merchant = :m, updated_at = :now REMOVE merchant, GSI1PK, GSI1SK",
        )
        .condition_expression("merchant = :m")
        .expression_attribute_values(":m", s(owner))
        .expression_attribute_values(":now", n(now));
    table
        .update_with_events(update, &[event], "TransactWriteItems unlink merchant")
        .await
}

/// Starts or ends hosting, with its event, only while `owner` owns the mini-program and hosting is not already as
/// asked. False when either does not hold (nothing written).
pub async fn set_hosting(
    table: &Table,
    component: &str,
    appid: &str,
    owner: &str,
    hosted: bool,
    event: &Event,
    now: i64,
) -> Result<bool, StoreError> {
    let update = if hosted {
        record_update(component, appid)
            .update_expression("SET hosted_by = :m, hosted_since = :now, updated_at = :now")
            .condition_expression(
                "merchant = :m AND (attribute_not_exists(hosted_by) OR hosted_by <> :m)",
            )
    } else {
        record_update(component, appid)
            .update_expression("SET updated_at = :now REMOVE hosted_by, hosted_since")
            .condition_expression("merchant = :m AND hosted_by = :m")
    };
    let update = update
        .expression_attribute_values(":m", s(owner))
        .expression_attribute_values(":now", n(now));
    table
        .update_with_events(update, &[event], "TransactWriteItems hosting")
        .await
}

/// The merchant's mini-programs.
pub async fn list_for_merchant(
    table: &Table,
    component: &str,
    merchant: &str,
) -> Result<Vec<Authorizer>, StoreError> {
    table
        .query_gsi1_all(
            merchant_index(component, merchant),
            "Query merchant mini-programs",
        )
        .await?
        .iter()
        .map(from_item)
        .collect()
}
