//! Access tokens with expiry, a version and a refresh lease, so exactly one writer refreshes at a time.
//! `PK=COMP#{appid}`, `SK=TOKEN#COMPONENT` or `SK=TOKEN#AUTHZ#{authorizerAppid}`.
use super::item::{applied, get_n, get_s, key, n, s};
use super::{component_pk, StoreError, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Component,
    Authorizer(&'a str),
}

impl Subject<'_> {
    fn sk(&self) -> String {
        match self {
            Subject::Component => "TOKEN#COMPONENT".into(),
            Subject::Authorizer(appid) => format!("TOKEN#AUTHZ#{appid}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredToken {
    pub value: Option<String>,
    pub expires_at: i64,
    pub refreshed_at: i64,
    pub version: i64,
}

pub async fn get(
    table: &Table,
    component: &str,
    subject: Subject<'_>,
) -> Result<Option<StoredToken>, StoreError> {
    let item = table
        .get(component_pk(component), subject.sk(), "GetItem token")
        .await?;
    Ok(item.map(|i| StoredToken {
        value: get_s(&i, "token"),
        expires_at: get_n(&i, "expires_at").unwrap_or(0),
        refreshed_at: get_n(&i, "refreshed_at").unwrap_or(0),
        version: get_n(&i, "version").unwrap_or(0),
    }))
}

/// Takes the refresh lease unless another live holder has it.
pub async fn try_lease(
    table: &Table,
    component: &str,
    subject: Subject<'_>,
    owner: &str,
    now: i64,
    lease_secs: i64,
) -> Result<bool, StoreError> {
    applied(
        "UpdateItem token lease",
        table
            .update(component_pk(component), subject.sk())
            .update_expression("SET lease_owner = :o, lease_until = :u")
            .condition_expression("attribute_not_exists(lease_until) OR lease_until < :now")
            .expression_attribute_values(":o", s(owner))
            .expression_attribute_values(":u", n(now + lease_secs))
            .expression_attribute_values(":now", n(now))
            .send()
            .await,
    )
}

/// Writes a refreshed token and releases the lease, only while `owner` still holds it.
pub async fn store_refreshed(
    table: &Table,
    component: &str,
    subject: Subject<'_>,
    owner: &str,
    value: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool, StoreError> {
    applied("UpdateItem token", table.update(component_pk(component), subject.sk())
        .update_expression(
            "SET #t = :t, expires_at = :e, refreshed_at = :now, version = if_not_exists(version, :zero) + :one \
             REMOVE lease_owner, lease_until",
        )
        .condition_expression("lease_owner = :o")
        .expression_attribute_names("#t", "token")
        .expression_attribute_values(":t", s(value))
        .expression_attribute_values(":e", n(expires_at))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":o", s(owner))
        .send()
        .await)
}

pub async fn release_lease(
    table: &Table,
    component: &str,
    subject: Subject<'_>,
    owner: &str,
) -> Result<(), StoreError> {
    let res = table
        .update(component_pk(component), subject.sk())
        .update_expression("REMOVE lease_owner, lease_until")
        .condition_expression("lease_owner = :o")
        .expression_attribute_values(":o", s(owner))
        .send()
        .await;
    // Not holding the lease any more (it expired and was taken) is fine: nothing to release.
    applied("UpdateItem token lease release", res).map(|_| ())
}

/// Marks the token expired only if it is still the value WeChat rejected; a newer token is left alone.
pub async fn expire_if_current(
    table: &Table,
    component: &str,
    subject: Subject<'_>,
    rejected: &str,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), subject.sk())
        .update_expression("SET expires_at = :zero")
        .condition_expression("#t = :rejected")
        .expression_attribute_names("#t", "token")
        .expression_attribute_values(":rejected", s(rejected))
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
    applied("UpdateItem token expire", res)
}

pub async fn delete(
    table: &Table,
    component: &str,
    subject: Subject<'_>,
) -> Result<(), StoreError> {
    table
        .client
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), subject.sk())))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("DeleteItem token", e))?;
    Ok(())
}
