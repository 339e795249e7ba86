//! Platform users (developers, operators, merchants, admins). Account names are global (login names one).
//! `PK=USER#{account}`, `SK=META`; GSI1 `USERS#{tenant}` / account lists a tenant's users.
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::item::{
    applied, decode_cursor_with, encode_cursor_with, get_n, get_s, get_s_list, key, n, require_s,
    s, s_list, Item,
};
use super::{authorizers::Page, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub account: String,
    pub tenant: String,
    pub role: String,
    pub components: Vec<String>,
    pub password_hash: String,
    /// A disabled user cannot log in, and their tokens stop working.
    pub disabled: bool,
    /// Tokens issued before this (seconds) are no longer accepted: set by a password, role or status change.
    pub sessions_valid_after: i64,
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
        components: get_s_list(item, "components"),
        password_hash: require_s(item, "password_hash")?,
        disabled: item
            .get("disabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        sessions_valid_after: get_n(item, "sessions_valid_after").unwrap_or(0),
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

/// The stored form of a new user.
fn new_item(user: &User) -> Item {
    let mut item = key(pk(&user.account), "META".into());
    item.insert("account".into(), s(&user.account));
    item.insert("tenant".into(), s(&user.tenant));
    item.insert("role".into(), s(&user.role));
    item.insert("components".into(), s_list(&user.components));
    item.insert("password_hash".into(), s(&user.password_hash));
    item.insert("disabled".into(), AttributeValue::Bool(false));
    item.insert("created_at".into(), n(user.created_at));
    item.insert("GSI1PK".into(), s(format!("USERS#{}", user.tenant)));
    item.insert("GSI1SK".into(), s(&user.account));
    item
}

/// Creates a user; false when the account name is taken.
pub async fn create(table: &Table, user: &User) -> Result<bool, StoreError> {
    table.create(new_item(user), "PutItem user").await
}

/// The same creation as one item of a transaction (it fails the transaction when the account name is taken).
pub fn create_in_transaction(table: &Table, user: &User) -> TransactWriteItem {
    table.create_in_transaction(new_item(user))
}

/// Replaces the password hash only if it is still `expected` (no lost update between check and write).
/// Tokens carry whole seconds: a change at second `now` ends every token issued up to and including it.
fn sessions_end(now: i64) -> i64 {
    now + 1
}

/// Existing sessions end with it.
pub async fn set_password(
    table: &Table,
    account: &str,
    expected: &str,
    new_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(pk(account), "META".into())
        .update_expression("SET password_hash = :new, sessions_valid_after = :now")
        .condition_expression("password_hash = :old")
        .expression_attribute_values(":new", s(new_hash))
        .expression_attribute_values(":old", s(expected))
        .expression_attribute_values(":now", n(sessions_end(now)))
        .send()
        .await;
    applied("UpdateItem password", res)
}

/// Enables or disables a user of `tenant`; disabling ends their sessions. False when no such user.
pub async fn set_disabled(
    table: &Table,
    tenant: &str,
    account: &str,
    disabled: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let mut update = table
        .update(pk(account), "META".into())
        .update_expression("SET disabled = :d")
        .condition_expression("tenant = :t")
        .expression_attribute_values(":d", AttributeValue::Bool(disabled))
        .expression_attribute_values(":t", s(tenant));
    if disabled {
        update = update
            .update_expression("SET disabled = :d, sessions_valid_after = :now")
            .expression_attribute_values(":now", n(sessions_end(now)));
    }
    let res = update.send().await;
    applied("UpdateItem user status", res)
}

/// Gives a user of `tenant` another role; their sessions (which carry the old role) end. False when no such user.
pub async fn set_role(
    table: &Table,
    tenant: &str,
    account: &str,
    role: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(pk(account), "META".into())
        .update_expression("SET #role = :r, sessions_valid_after = :now")
        .condition_expression("tenant = :t")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":r", s(role))
        .expression_attribute_values(":t", s(tenant))
        .expression_attribute_values(":now", n(sessions_end(now)))
        .send()
        .await;
    applied("UpdateItem user role", res)
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
        .client()
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
