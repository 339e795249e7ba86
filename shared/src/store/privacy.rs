//! The privacy owner contact a merchant (or an operator for them) gave for a mini-program
//! (`SK=PRIVACY#{maAppId}`): the pipeline puts it into the privacy guide it sets before every audit.
use super::item::{get_n, get_s, key, n, s};
use super::{component_pk, StoreError, Table};
use crate::domain::readiness::OwnerSetting;

pub(super) fn sk(appid: &str) -> String {
    format!("PRIVACY#{appid}")
}

pub struct StoredOwner {
    pub owner: OwnerSetting,
    pub updated_ms: i64,
}

pub async fn put(
    table: &Table,
    component: &str,
    appid: &str,
    owner: &OwnerSetting,
    by: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut item = key(component_pk(component), sk(appid));
    item.insert(
        "owner".into(),
        s(serde_json::to_string(owner).expect("owner setting serializes")),
    );
    item.insert("updated_by".into(), s(by));
    item.insert("updated_ms".into(), n(now_ms));
    table.put(item, "PutItem privacy owner").await
}

pub async fn get(
    table: &Table,
    component: &str,
    appid: &str,
) -> Result<Option<StoredOwner>, StoreError> {
    let Some(item) = table
        .get(component_pk(component), sk(appid), "GetItem privacy owner")
        .await?
    else {
        return Ok(None);
    };
    let owner = get_s(&item, "owner")
        .and_then(|o| serde_json::from_str(&o).ok())
        .ok_or_else(|| StoreError::Malformed("attribute owner".into()))?;
    Ok(Some(StoredOwner {
        owner,
        updated_ms: get_n(&item, "updated_ms").unwrap_or(0),
    }))
}
