//! Tenants (service providers) and their invitation codes.
//! `PK=TENANT#{tenantId}`, `SK=META`: the tenant. `PK=INVITE#{sha256(code)}`, `SK=META`: an invitation, GSI1
//! `INVITES#{tenant}` / `{createdMs:013}#{hash}`; only the code's hash is stored, never the code.
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::item::{built, get_n, get_s, get_s_list, key, n, require_s, s, s_list, Item};
use super::users::{self, User};
use super::{StoreError, Table};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: i64,
}

fn tenant_pk(id: &str) -> String {
    format!("TENANT#{id}")
}

pub async fn get(table: &Table, id: &str) -> Result<Option<Tenant>, StoreError> {
    let Some(item) = table
        .get(tenant_pk(id), "META".into(), "GetItem tenant")
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Tenant {
        id: require_s(&item, "tenant_id")?,
        name: get_s(&item, "name").unwrap_or_default(),
        created_by: get_s(&item, "created_by").unwrap_or_default(),
        created_at: get_n(&item, "created_at").unwrap_or(0),
    }))
}

/// Creates a tenant and its first admin together; false (nothing written) when the account name is taken.
pub async fn create_with_admin(
    table: &Table,
    tenant: &Tenant,
    admin: &User,
) -> Result<bool, StoreError> {
    let mut item = key(tenant_pk(&tenant.id), "META".into());
    item.insert("tenant_id".into(), s(&tenant.id));
    item.insert("name".into(), s(&tenant.name));
    item.insert("created_by".into(), s(&tenant.created_by));
    item.insert("created_at".into(), n(tenant.created_at));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(item))
        .transact_items(users::create_in_transaction(table, admin));
    table.transact(tx, "TransactWriteItems tenant signup").await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// SHA-256 of the code, hex.
    pub hash: String,
    pub tenant: String,
    pub role: String,
    pub components: Vec<String>,
    pub created_by: String,
    pub created_ms: i64,
    pub expires_at: i64,
    pub used_by: Option<String>,
    pub used_at: Option<i64>,
    /// An admin took it back before it was used (it expired at that moment).
    pub revoked_at: Option<i64>,
}

fn invite_pk(hash: &str) -> String {
    format!("INVITE#{hash}")
}

fn invitation_from(item: &Item) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        hash: require_s(item, "hash")?,
        tenant: require_s(item, "tenant")?,
        role: require_s(item, "role")?,
        components: get_s_list(item, "components"),
        created_by: get_s(item, "created_by").unwrap_or_default(),
        created_ms: get_n(item, "created_ms").unwrap_or(0),
        expires_at: get_n(item, "expires_at").unwrap_or(0),
        used_by: get_s(item, "used_by"),
        used_at: get_n(item, "used_at"),
        revoked_at: get_n(item, "revoked_at"),
    })
}

/// Days an invitation record is kept after it expired (for the tenant's own list), then TTL removes it.
const KEEP_EXPIRED_DAYS: i64 = 30;

/// Stores a new invitation; false when one with the same hash exists (a code is never issued twice).
pub async fn put_invitation(table: &Table, inv: &Invitation) -> Result<bool, StoreError> {
    let mut item = key(invite_pk(&inv.hash), "META".into());
    item.insert("hash".into(), s(&inv.hash));
    item.insert("tenant".into(), s(&inv.tenant));
    item.insert("role".into(), s(&inv.role));
    item.insert("components".into(), s_list(&inv.components));
    item.insert("created_by".into(), s(&inv.created_by));
    item.insert("created_ms".into(), n(inv.created_ms));
    item.insert("expires_at".into(), n(inv.expires_at));
    item.insert("ttl".into(), n(inv.expires_at + KEEP_EXPIRED_DAYS * 86_400));
    item.insert("GSI1PK".into(), s(format!("INVITES#{}", inv.tenant)));
    item.insert(
        "GSI1SK".into(),
        s(format!("{:013}#{}", inv.created_ms, inv.hash)),
    );
    table.create(item, "PutItem invitation").await
}

pub async fn get_invitation(table: &Table, hash: &str) -> Result<Option<Invitation>, StoreError> {
    table
        .get(invite_pk(hash), "META".into(), "GetItem invitation")
        .await?
        .map(|i| invitation_from(&i))
        .transpose()
}

/// Takes an unused, unexpired invitation of `tenant` back: it expires now, so it can no longer be accepted.
/// False when it is another tenant's, used, expired or gone (nothing written).
pub async fn revoke_invitation(
    table: &Table,
    tenant: &str,
    hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(invite_pk(hash), "META".into())
        .update_expression("SET expires_at = :now, revoked_at = :now")
        .condition_expression(
            "attribute_exists(PK) AND tenant = :t AND attribute_not_exists(used_at) AND expires_at > :now",
        )
        .expression_attribute_values(":t", s(tenant))
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    super::item::applied("UpdateItem revoke invitation", res)
}

/// A tenant's invitations, newest first, a page at a time (the cursor is the last one's index key).
pub async fn list_invitations(
    table: &Table,
    tenant: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<Invitation>, Option<String>), StoreError> {
    let gsi1pk = format!("INVITES#{tenant}");
    let start = cursor.and_then(|c| {
        super::item::decode_cursor_with(c, |sk| {
            let hash = sk.rsplit('#').next().unwrap_or_default();
            let mut k = key(invite_pk(hash), "META".into());
            k.insert("GSI1PK".into(), s(&gsi1pk));
            k.insert("GSI1SK".into(), s(sk));
            k
        })
    });
    let out = table
        .client()
        .query()
        .table_name(&table.name)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :g")
        .expression_attribute_values(":g", s(&gsi1pk))
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query invitations", e))?;
    let items = out
        .items()
        .iter()
        .map(invitation_from)
        .collect::<Result<Vec<_>, _>>()?;
    let next = super::item::encode_cursor_with(out.last_evaluated_key(), |k| get_s(k, "GSI1SK"));
    Ok((items, next))
}

/// Uses an invitation for `user` (created in the same transaction) while it is unused and unexpired.
/// False (nothing written) when the invitation is gone, used or expired, or the account name is taken.
pub async fn accept_invitation(
    table: &Table,
    hash: &str,
    user: &User,
    now: i64,
) -> Result<bool, StoreError> {
    let use_it = TransactWriteItem::builder()
        .update(built(
            Update::builder()
                .table_name(&table.name)
                .set_key(Some(key(invite_pk(hash), "META".into())))
                .update_expression("SET used_by = :u, used_at = :now")
                .condition_expression(
                    "attribute_exists(PK) AND attribute_not_exists(used_at) AND expires_at > :now \
                     AND tenant = :t",
                )
                .expression_attribute_values(":u", s(&user.account))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":t", s(&user.tenant))
                .build(),
        ))
        .build();
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(use_it)
        .transact_items(users::create_in_transaction(table, user));
    table
        .transact(tx, "TransactWriteItems accept invitation")
        .await
}
