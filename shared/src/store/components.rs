//! Component (third-party platform app) records and their verify ticket.
//! `PK=COMP#{appid}`: `SK=META` the record (GSI1 lists components), `SK=TICKET` the last good verify ticket.
use super::item::{applied, get_n, get_s, key, n, require_s, s, Item};
use super::{component_pk, StoreError, Table};
use crate::clock::now_secs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub appid: String,
    pub tenant: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub value: String,
    /// WeChat's CreateTime of the push.
    pub create_time: i64,
    pub received_at: i64,
}

/// A verify ticket is valid for 12 hours after WeChat issued it.
pub const TICKET_LIFETIME_SECS: i64 = 12 * 3600;

impl Ticket {
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.received_at.max(self.create_time) + TICKET_LIFETIME_SECS > now
    }
}

pub enum Registration {
    Created,
    Updated,
    /// The appid is registered by another tenant.
    OwnedByOtherTenant,
}

pub async fn get(table: &Table, appid: &str) -> Result<Option<Component>, StoreError> {
    let out = table
        .client()
        .get_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(appid), "META".into())))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("GetItem component", e))?;
    out.item.map(|i| from_item(&i)).transpose()
}

fn from_item(item: &Item) -> Result<Component, StoreError> {
    Ok(Component {
        appid: require_s(item, "appid")?,
        tenant: require_s(item, "tenant")?,
        created_at: get_n(item, "created_at").unwrap_or(0),
        updated_at: get_n(item, "updated_at").unwrap_or(0),
    })
}

/// Creates the record, or touches it when the same tenant registers again (secret rotation).
pub async fn register(
    table: &Table,
    appid: &str,
    tenant: &str,
) -> Result<Registration, StoreError> {
    let now = now_secs();
    let existing = get(table, appid).await?;
    if let Some(c) = &existing {
        if c.tenant != tenant {
            return Ok(Registration::OwnedByOtherTenant);
        }
    }
    let res = table.update(component_pk(appid), "META".into())
        .update_expression(
            "SET appid = :a, tenant = :t, updated_at = :now, created_at = if_not_exists(created_at, :now), \
             GSI1PK = :g, GSI1SK = :a",
        )
        .condition_expression("attribute_not_exists(PK) OR tenant = :t")
        .expression_attribute_values(":a", s(appid))
        .expression_attribute_values(":t", s(tenant))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":g", s("COMPONENTS"))
        .send()
        .await;
    match res {
        Ok(_) if existing.is_some() => Ok(Registration::Updated),
        Ok(_) => Ok(Registration::Created),
        Err(e) if super::item::is_conditional_failure(&e) => Ok(Registration::OwnedByOtherTenant),
        Err(e) => Err(StoreError::dynamo("UpdateItem component", e)),
    }
}

/// Deletes a component record this tenant has just created, when its secret could not be written.
pub async fn forget_unused(table: &Table, appid: &str, tenant: &str) -> Result<(), StoreError> {
    let res = table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(appid), "META".into())))
        .condition_expression("tenant = :t")
        .expression_attribute_values(":t", s(tenant))
        .send()
        .await;
    applied("DeleteItem component", res).map(|_| ())
}

/// Every registered component (scheduled jobs only; a Query on GSI1, never a Scan).
pub async fn list_all(table: &Table) -> Result<Vec<Component>, StoreError> {
    table
        .query_gsi1_all("COMPONENTS".into(), "Query components")
        .await?
        .iter()
        .map(from_item)
        .collect()
}

/// Stores a ticket unless a newer one is already stored. Returns whether it was stored.
pub async fn put_ticket(
    table: &Table,
    appid: &str,
    ticket: &str,
    create_time: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(appid), "TICKET".into())
        .update_expression("SET ticket = :v, create_time = :ct, received_at = :now")
        .condition_expression("attribute_not_exists(create_time) OR create_time < :ct")
        .expression_attribute_values(":v", s(ticket))
        .expression_attribute_values(":ct", n(create_time))
        .expression_attribute_values(":now", n(now_secs()))
        .send()
        .await;
    super::item::applied("UpdateItem ticket", res)
}

pub async fn get_ticket(table: &Table, appid: &str) -> Result<Option<Ticket>, StoreError> {
    let item = table
        .get(component_pk(appid), "TICKET".into(), "GetItem ticket")
        .await?;
    Ok(item.and_then(|i| {
        Some(Ticket {
            value: get_s(&i, "ticket")?,
            create_time: get_n(&i, "create_time")?,
            received_at: get_n(&i, "received_at")?,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_is_valid_for_twelve_hours() {
        let t = Ticket {
            value: "x".into(),
            create_time: 1000,
            received_at: 1000,
        };
        assert!(t.is_valid_at(1000 + TICKET_LIFETIME_SECS - 1));
        assert!(!t.is_valid_at(1000 + TICKET_LIFETIME_SECS));
    }
}
