//! Access tokens with expiry, a version and a refresh lease, so exactly one writer refreshes at a time.
//! `PK=COMP#{appid}`, `SK=TOKEN#COMPONENT` or `SK=TOKEN#AUTHZ#{authorizerAppid}`. Authorizer tokens are indexed by
//! expiry for the scheduled refresh: `GSI1PK=TOKENDUE#{n}` (one of `DUE_SHARDS`), `GSI1SK={expiresAt:010}#{component}#{authorizer}`.
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
    /// In the expiry index the scheduled refresh reads (authorizer tokens written before it existed are not).
    pub indexed: bool,
}

const DUE_INDEX: &str = "TOKENDUE";
pub const DUE_SHARDS: u32 = 8;

fn due_pk(component: &str, authorizer: &str) -> String {
    format!(
        "{DUE_INDEX}#{}",
        super::shard_of(&format!("{component}#{authorizer}"), DUE_SHARDS)
    )
}

fn due_sk(expires_at: i64, component: &str, authorizer: &str) -> String {
    format!("{:010}#{component}#{authorizer}", expires_at.max(0))
}

pub fn due_partitions() -> Vec<String> {
    (0..DUE_SHARDS)
        .map(|n| format!("{DUE_INDEX}#{n}"))
        .collect()
}

/// One page of the authorizer tokens of one index partition expiring before `before` (seconds): (component,
/// authorizer) pairs, and where the next page starts.
pub async fn due_authorizer_tokens(
    table: &Table,
    partition: &str,
    before: i64,
    limit: i32,
    start: Option<super::item::Item>,
) -> Result<(Vec<(String, String)>, Option<super::item::Item>), StoreError> {
    let (items, next) = table
        .query_due(
            partition,
            &format!("{before:010}"),
            limit,
            start,
            "Query due tokens",
        )
        .await?;
    let due = items
        .iter()
        .filter_map(|i| {
            let sk = get_s(i, "GSI1SK")?;
            let mut parts = sk.splitn(3, '#');
            let (_, c, a) = (parts.next()?, parts.next()?, parts.next()?);
            Some((c.to_owned(), a.to_owned()))
        })
        .collect();
    Ok((due, next))
}

/// Takes a token out of the expiry index: its mini-program must be authorized again before it can be refreshed.
pub async fn unindex_authorizer_token(
    table: &Table,
    component: &str,
    authorizer: &str,
) -> Result<(), StoreError> {
    let res = table
        .update(
            component_pk(component),
            Subject::Authorizer(authorizer).sk(),
        )
        .update_expression("REMOVE GSI1PK, GSI1SK")
        .condition_expression("attribute_exists(PK)")
        .send()
        .await;
    applied("UpdateItem token unindex", res).map(|_| ())
}

/// Where the scheduled refresh's rolling passes over a component stand: the last authorizer record looked at, and
/// the offset in WeChat's authorizer list (`SK=REFRESHPASS`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RefreshPass {
    pub cursor: Option<String>,
    pub offset: i64,
}

pub async fn refresh_pass(table: &Table, component: &str) -> Result<RefreshPass, StoreError> {
    let item = table
        .get(
            component_pk(component),
            "REFRESHPASS".into(),
            "GetItem refresh pass",
        )
        .await?;
    Ok(item
        .map(|i| RefreshPass {
            cursor: get_s(&i, "cursor"),
            offset: get_n(&i, "offset").unwrap_or(0),
        })
        .unwrap_or_default())
}

pub async fn save_refresh_pass(
    table: &Table,
    component: &str,
    pass: &RefreshPass,
) -> Result<(), StoreError> {
    let mut item = key(component_pk(component), "REFRESHPASS".into());
    if let Some(c) = &pass.cursor {
        item.insert("cursor".into(), s(c));
    }
    item.insert("offset".into(), n(pass.offset));
    table.put(item, "PutItem refresh pass").await
}

/// Puts an authorizer token written before the expiry index existed into it (unless it changed meanwhile).
pub async fn index_authorizer_token(
    table: &Table,
    component: &str,
    authorizer: &str,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(
            component_pk(component),
            Subject::Authorizer(authorizer).sk(),
        )
        .update_expression("SET GSI1PK = :p, GSI1SK = :s")
        .condition_expression("expires_at = :e AND attribute_not_exists(GSI1PK)")
        .expression_attribute_values(":p", s(due_pk(component, authorizer)))
        .expression_attribute_values(":s", s(due_sk(expires_at, component, authorizer)))
        .expression_attribute_values(":e", n(expires_at))
        .send()
        .await;
    applied("UpdateItem token index", res)
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
        indexed: i.contains_key("GSI1PK"),
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

/// Takes the refresh lease only if the token expires by `due_before` (or does not exist) and no live holder has
/// it: the scheduled refresh's one write that both checks and claims.
pub async fn try_lease_if_due(
    table: &Table,
    component: &str,
    subject: Subject<'_>,
    owner: &str,
    now: i64,
    lease_secs: i64,
    due_before: i64,
) -> Result<bool, StoreError> {
    applied(
        "UpdateItem token lease if due",
        table
            .update(component_pk(component), subject.sk())
            .update_expression("SET lease_owner = :o, lease_until = :u")
            .condition_expression(
                "(attribute_not_exists(lease_until) OR lease_until < :now) \
                 AND (attribute_not_exists(expires_at) OR expires_at <= :due)",
            )
            .expression_attribute_values(":o", s(owner))
            .expression_attribute_values(":u", n(now + lease_secs))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":due", n(due_before))
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
    let mut update = table.update(component_pk(component), subject.sk());
    let mut set = String::from(
        "SET #t = :t, expires_at = :e, refreshed_at = :now, version = if_not_exists(version, :zero) + :one",
    );
    if let Subject::Authorizer(authorizer) = subject {
        set.push_str(", GSI1PK = :due_p, GSI1SK = :due_s");
        update = update
            .expression_attribute_values(":due_p", s(due_pk(component, authorizer)))
            .expression_attribute_values(":due_s", s(due_sk(expires_at, component, authorizer)));
    }
    applied(
        "UpdateItem token",
        update
            .update_expression(format!("{set} REMOVE lease_owner, lease_until"))
            .condition_expression("lease_owner = :o")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":t", s(value))
            .expression_attribute_values(":e", n(expires_at))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":o", s(owner))
            .send()
            .await,
    )
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
    let mut update = table.update(component_pk(component), subject.sk());
    let mut set = "SET expires_at = :zero";
    if let Subject::Authorizer(authorizer) = subject {
        // Due at once for the scheduled refresh too (when the token is indexed).
        set = "SET expires_at = :zero, GSI1SK = :due_s";
        update = update.expression_attribute_values(":due_s", s(due_sk(0, component, authorizer)));
    }
    let res = update
        .update_expression(set)
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
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), subject.sk())))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("DeleteItem token", e))?;
    Ok(())
}
