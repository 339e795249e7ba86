//! What the mini-program listing shows beside each authorizer, read for a whole page in one batch: the release
//! summary (`UT#`), the shop (`SHOPLINK#`), whether a privacy contact is set (`PRIVACY#`) and the ICP filing last
//! reported (`ICP#`).
use std::collections::HashMap;

use super::filings::{self, Filing};
use super::item::get_s;
use super::shops::{self, Link};
use super::user_templates::{self, ReleaseSummary};
use super::{component_pk, privacy, StoreError, Table};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Facts {
    /// None before any saved decoration.
    pub release: Option<ReleaseSummary>,
    pub shop: Option<Link>,
    pub privacy_contact: bool,
    /// None until the filing was first asked for.
    pub icp: Option<Filing>,
}

pub async fn read(
    table: &Table,
    component: &str,
    appids: &[&str],
) -> Result<HashMap<String, Facts>, StoreError> {
    let sks: Vec<String> = appids
        .iter()
        .flat_map(|a| {
            [
                user_templates::ut_sk(a),
                shops::link_sk(a),
                privacy::sk(a),
                filings::sk(a),
            ]
        })
        .collect();
    let projection = format!(
        "SK, {}, {}, {}",
        user_templates::SUMMARY_ATTRIBUTES,
        shops::LINK_ATTRIBUTES,
        filings::ATTRIBUTES
    );
    let items = table
        .batch_get(
            &component_pk(component),
            &sks,
            &projection,
            "BatchGetItem listing facts",
        )
        .await?;
    let mut facts: HashMap<String, Facts> = HashMap::new();
    for item in &items {
        let Some(sk) = get_s(item, "SK") else {
            continue;
        };
        let Some((kind, appid)) = sk.split_once('#') else {
            continue;
        };
        let entry = facts.entry(appid.to_owned()).or_default();
        match kind {
            "UT" => entry.release = Some(user_templates::summary_of(item)),
            "SHOPLINK" => entry.shop = shops::link_of(item),
            "PRIVACY" => entry.privacy_contact = true,
            "ICP" => entry.icp = filings::from_item(item),
            _ => {}
        }
    }
    Ok(facts)
}
