//! Platform users (developers, operators, merchants, admins). Account names are global (login names one).
//! `PK=USER#{account}`, `SK=META`; GSI1 `USERS#{tenant}` / account lists a tenant's users.
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{
    applied, decode_cursor_with, encode_cursor_with, get_n, get_s, key, n, require_s, s, Item,
};
use super::{authorizers::Page, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub account: String,
    pub tenant: String,
    pub role: String,
    pub components: Vec<String>,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub created_at: i64,
}

fn pk(account: &str) -> String {
    format!("USER#{account}")
}

fn from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        account: require_s(item, "account")?,
        tenant: require_s(item, "tenant")?,
        role: require_s(item, "role")?,
        components: item
            .get("components")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        password_hash: require_s(item, "password_hash")?,
        failed_logins: get_n(item, "failed_logins").unwrap_or(0),
        locked_until: get_n(item, "locked_until").unwrap_or(0),
        created_at: get_n(item, "created_at").unwrap_or(0),
    })
}

pub async fn get(table: &Table, account: &str) -> Result<Option<User>, StoreError> {
    table
        .get(pk(account), "META".into(), "GetItem user")
        .await?
        .map(|i| from_item(&i))
        .transpose()
}

/// Creates a user; false when the account name is taken.
pub async fn create(table: &Table, user: &User) -> Result<bool, StoreError> {
    let mut item = key(pk(&user.account), "META".into());
    item.insert("account".into(), s(&user.account));
    item.insert("tenant".into(), s(&user.tenant));
    item.insert("role".into(), s(&user.role));
    item.insert(
        "components".into(),
        AttributeValue::L(user.components.iter().map(s).collect()),
    );
    item.insert("password_hash".into(), s(&user.password_hash));
    item.insert("failed_logins".into(), n(0));
    item.insert("created_at".into(), n(user.created_at));
    item.insert("GSI1PK".into(), s(format!("USERS#{}", user.tenant)));
    item.insert("GSI1SK".into(), s(&user.account));
    let res = table
        .client
        .put_item()
        .table_name(&table.name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await;
    applied("PutItem user", res)
}

/// Counts a failed login and, past the free attempts, locks the account for a doubling delay.
pub async fn record_failed_login(
    table: &Table,
    account: &str,
    locked_until: i64,
) -> Result<(), StoreError> {
    let res = table
        .update(pk(account), "META".into())
        .update_expression("SET locked_until = :l ADD failed_logins :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":l", n(locked_until))
        .expression_attribute_values(":one", n(1))
        .send()
        .await;
    applied("UpdateItem failed login", res).map(|_| ())
}

pub async fn reset_failed_logins(table: &Table, account: &str) -> Result<(), StoreError> {
    let res = table
        .update(pk(account), "META".into())
        .update_expression("SET failed_logins = :zero, locked_until = :zero")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
    applied("UpdateItem reset logins", res).map(|_| ())
}

/// Replaces the password hash only if it is still `expected` (no lost update between check and write).
pub async fn set_password(
    table: &Table,
    account: &str,
    expected: &str,
    new_hash: &str,
) -> Result<bool, StoreError> {
    let res = table
        .update(pk(account), "META".into())
        .update_expression("SET password_hash = :new, failed_logins = :zero, locked_until = :zero")
        .condition_expression("password_hash = :old")
        .expression_attribute_values(":new", s(new_hash))
        .expression_attribute_values(":old", s(expected))
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
    applied("UpdateItem password", res)
}

pub async fn list(
    table: &Table,
    tenant: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<User>, StoreError> {
    let gpk = format!("USERS#{tenant}");
    let start = cursor.and_then(|c| {
        decode_cursor_with(c, |account| {
            let mut k = key(pk(account), "META".into());
            k.insert("GSI1PK".into(), s(&gpk));
            k.insert("GSI1SK".into(), s(account));
            k
        })
    });
    let out = table
        .client
        .query()
        .table_name(&table.name)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :g")
        .expression_attribute_values(":g", s(&gpk))
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query users", e))?;
    let items = out
        .items()
        .iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    let next_cursor = encode_cursor_with(out.last_evaluated_key(), |k| get_s(k, "GSI1SK"));
    Ok(Page { items, next_cursor })
}
