//! Alipay records. A provider's third-party application is claimed by one tenant (`PK=ALIPAYAPP#{appId}`, `SK=META`:
//! tenant and the component workspace it serves) and named by that component (`COMP#{component}`, `SK=ALIPAYAPP`).
//! A merchant's authorization (`COMP#{component}`, `SK=ALIPAYAUTH#{miniAppId}`) keeps `app_auth_token` and
//! `app_refresh_token` as durable data: written only by an answer issued later than the one stored.
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::item::{applied, built, get_n, get_s, key, n, require_s, s, Item};
use super::{component_pk, StoreError, Table};

fn app_pk(app_id: &str) -> String {
    format!("ALIPAYAPP#{app_id}")
}

const APP_OF_COMPONENT: &str = "ALIPAYAPP";

fn auth_sk(mini_app_id: &str) -> String {
    format!("ALIPAYAUTH#{mini_app_id}")
}

/// Authorizations are indexed by when their tokens are due for a refresh, over this many GSI1 partitions.
pub const DUE_SHARDS: u32 = 8;
/// Tokens are refreshed this long before `expires_at` (Alipay's live about a year).
pub const REFRESH_AHEAD_SECS: i64 = 30 * 86_400;

fn due_pk(shard: u32) -> String {
    format!("ALIPAYDUE#{shard}")
}

fn due_sk(due_at: i64, component: &str, mini_app_id: &str) -> String {
    format!("{due_at:010}#{component}#{mini_app_id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Created,
    Updated,
    /// Another tenant, or another component of this tenant, holds the application.
    Taken,
}

/// Claims `app_id` for the tenant's component (new, or already theirs) and makes it the component's application, in
/// one transaction.
pub async fn claim_app(
    table: &Table,
    app_id: &str,
    tenant: &str,
    component: &str,
    now_ms: i64,
) -> Result<Claim, StoreError> {
    let existing = table
        .get(app_pk(app_id), "META".into(), "GetItem Alipay application")
        .await?;
    if let Some(item) = &existing {
        if get_s(item, "tenant").as_deref() != Some(tenant)
            || get_s(item, "component").as_deref() != Some(component)
        {
            return Ok(Claim::Taken);
        }
    }
    let claim = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(app_pk(app_id), "META".into())))
        .update_expression(
            "SET app_id = :a, tenant = :t, component = :c, updated_ms = :now, \
             created_ms = if_not_exists(created_ms, :now)",
        )
        .condition_expression("attribute_not_exists(PK) OR (tenant = :t AND component = :c)")
        .expression_attribute_values(":a", s(app_id))
        .expression_attribute_values(":t", s(tenant))
        .expression_attribute_values(":c", s(component))
        .expression_attribute_values(":now", n(now_ms));
    let mut pointer = key(component_pk(component), APP_OF_COMPONENT.into());
    pointer.insert("app_id".into(), s(app_id));
    pointer.insert("updated_ms".into(), n(now_ms));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(built(claim.build()))
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .put(built(
                    Put::builder()
                        .table_name(&table.name)
                        .set_item(Some(pointer))
                        .build(),
                ))
                .build(),
        );
    Ok(
        match table
            .transact(tx, "TransactWriteItems claim Alipay application")
            .await?
        {
            false => Claim::Taken,
            true if existing.is_some() => Claim::Updated,
            true => Claim::Created,
        },
    )
}

/// Takes back a claim just created whose secret could not be written (the component's pointer with it).
pub async fn forget_new_app(
    table: &Table,
    app_id: &str,
    tenant: &str,
    component: &str,
) -> Result<(), StoreError> {
    let res = table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(app_pk(app_id), "META".into())))
        .condition_expression("tenant = :t")
        .expression_attribute_values(":t", s(tenant))
        .send()
        .await;
    applied("DeleteItem Alipay application", res)?;
    let res = table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), APP_OF_COMPONENT.into())))
        .condition_expression("app_id = :a")
        .expression_attribute_values(":a", s(app_id))
        .send()
        .await;
    applied("DeleteItem component's Alipay application", res).map(|_| ())
}

/// The Alipay application the component works with, if one is registered.
pub async fn app_of_component(
    table: &Table,
    component: &str,
) -> Result<Option<String>, StoreError> {
    Ok(table
        .get(
            component_pk(component),
            APP_OF_COMPONENT.into(),
            "GetItem component's Alipay application",
        )
        .await?
        .and_then(|i| get_s(&i, "app_id")))
}

/// A merchant mini-program's authorization of the provider's application.
#[derive(Clone, PartialEq)]
pub struct Authorization {
    pub mini_app_id: String,
    /// The provider's application it was granted to.
    pub app_id: String,
    pub user_id: String,
    pub merchant: Option<String>,
    pub app_auth_token: String,
    pub app_refresh_token: String,
    /// When Alipay issued these tokens (ms): an older answer never replaces a newer one.
    pub issued_ms: i64,
    pub expires_at: i64,
    pub refresh_expires_at: i64,
    pub authorized_at: i64,
    /// `authorized`, `cancelled` (at Alipay, by the merchant) or `reauthorization_required` (the refresh token
    /// was refused); what is saved is always `authorized`.
    pub status: String,
}

/// What an authorization in force says.
pub const AUTHORIZED: &str = "authorized";

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("mini_app_id", &self.mini_app_id)
            .field("merchant", &self.merchant)
            .field("issued_ms", &self.issued_ms)
            .finish_non_exhaustive()
    }
}

fn authorization_of(item: &Item) -> Result<Authorization, StoreError> {
    Ok(Authorization {
        mini_app_id: require_s(item, "mini_app_id")?,
        app_id: require_s(item, "app_id")?,
        user_id: get_s(item, "user_id").unwrap_or_default(),
        merchant: get_s(item, "merchant"),
        app_auth_token: require_s(item, "app_auth_token")?,
        app_refresh_token: require_s(item, "app_refresh_token")?,
        issued_ms: get_n(item, "issued_ms").unwrap_or(0),
        expires_at: get_n(item, "expires_at").unwrap_or(0),
        refresh_expires_at: get_n(item, "refresh_expires_at").unwrap_or(0),
        authorized_at: get_n(item, "authorized_at").unwrap_or(0),
        status: get_s(item, "auth_status").unwrap_or_else(|| AUTHORIZED.into()),
    })
}

/// Keeps the tokens unless newer ones are stored; the first merchant to authorize keeps the mini-program. Returns
/// what is stored afterwards (None: a newer answer was there, nothing written).
pub async fn save_authorization(
    table: &Table,
    component: &str,
    a: &Authorization,
) -> Result<Option<Authorization>, StoreError> {
    let mut update = table
        .update(component_pk(component), auth_sk(&a.mini_app_id))
        .update_expression(
            "SET mini_app_id = :m, app_id = :a, user_id = :u, app_auth_token = :t, app_refresh_token = :r, \
             issued_ms = :i, expires_at = :e, refresh_expires_at = :re, \
             authorized_at = if_not_exists(authorized_at, :at), merchant = if_not_exists(merchant, :who), \
             auth_status = :ok, GSI1PK = :g, GSI1SK = :due",
        )
        .condition_expression("attribute_not_exists(issued_ms) OR issued_ms < :i")
        .expression_attribute_values(":m", s(&a.mini_app_id))
        .expression_attribute_values(":a", s(&a.app_id))
        .expression_attribute_values(":u", s(&a.user_id))
        .expression_attribute_values(":t", s(&a.app_auth_token))
        .expression_attribute_values(":r", s(&a.app_refresh_token))
        .expression_attribute_values(":i", n(a.issued_ms))
        .expression_attribute_values(":e", n(a.expires_at))
        .expression_attribute_values(":re", n(a.refresh_expires_at))
        .expression_attribute_values(":at", n(a.authorized_at))
        .expression_attribute_values(":ok", s(AUTHORIZED))
        .expression_attribute_values(":g", s(due_pk(super::shard_of(&a.mini_app_id, DUE_SHARDS))))
        .expression_attribute_values(
            ":due",
            s(due_sk(a.expires_at - REFRESH_AHEAD_SECS, component, &a.mini_app_id)),
        )
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
    // Without a merchant (a notification), `merchant` is left as it is.
    update = match &a.merchant {
        Some(m) => update.expression_attribute_values(":who", s(m)),
        None => update
            .update_expression(
                "SET mini_app_id = :m, app_id = :a, user_id = :u, app_auth_token = :t, app_refresh_token = :r, \
                 issued_ms = :i, expires_at = :e, refresh_expires_at = :re, \
                 authorized_at = if_not_exists(authorized_at, :at), auth_status = :ok, GSI1PK = :g, GSI1SK = :due",
            ),
    };
    match update.send().await {
        Ok(out) => out.attributes.map(|i| authorization_of(&i)).transpose(),
        Err(e) if super::item::is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(StoreError::dynamo("UpdateItem Alipay authorization", e)),
    }
}

pub async fn authorization(
    table: &Table,
    component: &str,
    mini_app_id: &str,
) -> Result<Option<Authorization>, StoreError> {
    table
        .get(
            component_pk(component),
            auth_sk(mini_app_id),
            "GetItem Alipay authorization",
        )
        .await?
        .map(|i| authorization_of(&i))
        .transpose()
}

/// The tenant and component workspace that hold `app_id`, if it is registered.
pub async fn app_claim(
    table: &Table,
    app_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(table
        .get(app_pk(app_id), "META".into(), "GetItem Alipay application")
        .await?
        .and_then(|i| Some((get_s(&i, "tenant")?, get_s(&i, "component")?))))
}

/// The merchant withdrew the authorization at Alipay: its tokens no longer work (kept for the record).
pub async fn mark_cancelled(
    table: &Table,
    component: &str,
    mini_app_id: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), auth_sk(mini_app_id))
        .update_expression("SET auth_status = :c, cancelled_ms = :at REMOVE GSI1PK, GSI1SK")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":c", s("cancelled"))
        .expression_attribute_values(":at", n(at_ms))
        .send()
        .await;
    applied("UpdateItem Alipay authorization cancelled", res)
}

/// The latest audit result Alipay notified for one of the mini-program's versions.
pub async fn record_audit(
    table: &Table,
    component: &str,
    mini_app_id: &str,
    version: &str,
    passed: bool,
    reason: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), auth_sk(mini_app_id))
        .update_expression(
            "SET last_audit_version = :v, last_audit_passed = :p, last_audit_reason = :r, last_audit_ms = :at",
        )
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":v", s(version))
        .expression_attribute_values(":p", n(i64::from(passed)))
        .expression_attribute_values(":r", s(reason))
        .expression_attribute_values(":at", n(at_ms))
        .send()
        .await;
    applied("UpdateItem Alipay audit result", res)
}

/// An authorization due for a refresh, as the due index names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub component: String,
    pub mini_app_id: String,
}

/// A page of authorizations of one shard whose refresh is due before `now` (oldest first), and where to go on.
pub async fn due_page(
    table: &Table,
    shard: u32,
    now: i64,
    limit: i32,
    start: Option<Item>,
) -> Result<(Vec<Due>, Option<Item>), StoreError> {
    let (items, next) = table
        .query_due(
            &due_pk(shard),
            &format!("{now:010}#~"),
            limit,
            start,
            "Query Alipay tokens due",
        )
        .await?;
    let due = items
        .iter()
        .filter_map(|i| {
            let sk = get_s(i, "GSI1SK")?;
            let mut parts = sk.splitn(3, '#');
            let (_, component, mini) = (parts.next()?, parts.next()?, parts.next()?);
            Some(Due {
                component: component.to_owned(),
                mini_app_id: mini.to_owned(),
            })
        })
        .collect();
    Ok((due, next))
}

/// The refresh token no longer works (revoked, expired): out of the due index until the merchant authorizes again.
pub async fn mark_reauthorization_required(
    table: &Table,
    component: &str,
    mini_app_id: &str,
    refresh_token: &str,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), auth_sk(mini_app_id))
        .update_expression("SET auth_status = :r REMOVE GSI1PK, GSI1SK")
        // Only if nothing newer arrived meanwhile (a new consent brings new tokens).
        .condition_expression("app_refresh_token = :t")
        .expression_attribute_values(":r", s("reauthorization_required"))
        .expression_attribute_values(":t", s(refresh_token))
        .send()
        .await;
    applied("UpdateItem Alipay reauthorization required", res)
}

/// What a listing shows of an Alipay mini-program (never its tokens).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub mini_app_id: String,
    pub merchant: Option<String>,
    pub status: String,
    pub authorized_at: i64,
    pub expires_at: i64,
    /// The latest audit result Alipay notified: the version, whether it passed, and why not.
    pub last_audit_version: Option<String>,
    pub last_audit_passed: Option<bool>,
    pub last_audit_reason: Option<String>,
}

fn summary_of(item: &Item) -> Result<Summary, StoreError> {
    Ok(Summary {
        mini_app_id: require_s(item, "mini_app_id")?,
        merchant: get_s(item, "merchant"),
        status: get_s(item, "auth_status").unwrap_or_else(|| AUTHORIZED.into()),
        authorized_at: get_n(item, "authorized_at").unwrap_or(0),
        expires_at: get_n(item, "expires_at").unwrap_or(0),
        last_audit_version: get_s(item, "last_audit_version"),
        last_audit_passed: get_n(item, "last_audit_passed").map(|p| p == 1),
        last_audit_reason: get_s(item, "last_audit_reason").filter(|r| !r.is_empty()),
    })
}

/// A page of the workspace's Alipay mini-programs in id order.
pub async fn list(
    table: &Table,
    component: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<super::authorizers::Page<Summary>, StoreError> {
    table
        .page_prefix(
            component_pk(component),
            "ALIPAYAUTH#".into(),
            false,
            limit,
            cursor,
            "Query Alipay mini-programs",
            summary_of,
        )
        .await
}
