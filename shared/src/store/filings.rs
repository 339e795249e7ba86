//! The ICP filing status WeChat last reported for a mini-program (`SK=ICP#{maAppId}`), kept whenever the product
//! asks (a readiness check, a publish) so that listings show it without asking WeChat for every row.
use super::item::{get_n, n, Item};
use super::{component_pk, StoreError, Table};

#[derive(Debug, Clone, PartialEq)]
pub struct Filing {
    /// WeChat's `info.status` (6: filed).
    pub status: i64,
    pub filed: bool,
    pub checked_ms: i64,
}

pub(super) fn sk(appid: &str) -> String {
    format!("ICP#{appid}")
}

/// The attributes `from_item` reads.
pub(super) const ATTRIBUTES: &str = "icp_status, icp_filed, checked_ms";

pub(super) fn from_item(item: &Item) -> Option<Filing> {
    Some(Filing {
        status: get_n(item, "icp_status")?,
        filed: get_n(item, "icp_filed")? == 1,
        checked_ms: get_n(item, "checked_ms").unwrap_or(0),
    })
}

/// Keeps what WeChat answered; an older answer never replaces a newer one.
pub async fn record(
    table: &Table,
    component: &str,
    appid: &str,
    filing: &Filing,
) -> Result<(), StoreError> {
    let res = table
        .update(component_pk(component), sk(appid))
        .update_expression("SET icp_status = :s, icp_filed = :f, checked_ms = :t")
        .condition_expression("attribute_not_exists(checked_ms) OR checked_ms <= :t")
        .expression_attribute_values(":s", n(filing.status))
        .expression_attribute_values(":f", n(i64::from(filing.filed)))
        .expression_attribute_values(":t", n(filing.checked_ms))
        .send()
        .await;
    super::item::applied("UpdateItem ICP filing", res).map(|_| ())
}

pub async fn get(
    table: &Table,
    component: &str,
    appid: &str,
) -> Result<Option<Filing>, StoreError> {
    Ok(table
        .get(component_pk(component), sk(appid), "GetItem ICP filing")
        .await?
        .and_then(|i| from_item(&i)))
}
