//! How many of a component's decorated mini-programs are in each release state: `SK=RELCOUNT#{shard}` records with
//! one number per state, moved in the same transaction as every release step (and the first save), so the fleet's
//! counts are one Query of `SHARDS` small records, never a scan. Sharded by mini-program so that a batch's
//! concurrent steps do not all update one record.
use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::item::{built, key, n};
use super::{component_pk, StoreError, Table};

pub const SHARDS: u32 = 16;
const PREFIX: &str = "RELCOUNT#";

fn shard_sk(appid: &str) -> String {
    format!("{PREFIX}{:02}", super::shard_of(appid, SHARDS))
}

/// The attribute that counts one state (state names are plain words: `submit_pending`, `rolling_back`).
fn attribute(state: &str) -> String {
    format!("n_{state}")
}

/// The counts moved by one mini-program going `from` one state (none: its first save) `to` another.
pub fn moved(
    table: &Table,
    component: &str,
    appid: &str,
    from: Option<&str>,
    to: &str,
) -> TransactWriteItem {
    let mut update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), shard_sk(appid))))
        .expression_attribute_names("#to", attribute(to))
        .expression_attribute_values(":up", n(1));
    update = match from {
        Some(from) => update
            .update_expression("ADD #to :up, #from :down")
            .expression_attribute_names("#from", attribute(from))
            .expression_attribute_values(":down", n(-1)),
        None => update.update_expression("ADD #to :up"),
    };
    TransactWriteItem::builder()
        .update(built(update.build()))
        .build()
}

/// The component's counts by release state (states never reached are absent).
pub async fn counts(table: &Table, component: &str) -> Result<BTreeMap<String, i64>, StoreError> {
    let out = table
        .query_prefix(component_pk(component), PREFIX.to_owned())
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query release counts", e))?;
    Ok(sum(out.items()))
}

fn sum(records: &[super::item::Item]) -> BTreeMap<String, i64> {
    let mut total = BTreeMap::new();
    for record in records {
        for (name, value) in record {
            let (Some(state), Ok(count)) = (name.strip_prefix("n_"), value.as_n()) else {
                continue;
            };
            *total.entry(state.to_owned()).or_insert(0) += count.parse::<i64>().unwrap_or(0);
        }
    }
    total.retain(|_, count| *count != 0);
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn shards_are_summed_per_state_and_empty_states_left_out() {
        let record = |pairs: &[(&str, i64)]| {
            let mut item = key("COMP#wx1".into(), "RELCOUNT#00".into());
            for (name, count) in pairs {
                item.insert(attribute(name), AttributeValue::N(count.to_string()));
            }
            item
        };
        let counts = sum(&[
            record(&[("saved", 2), ("auditing", 1)]),
            record(&[("saved", -1), ("auditing", -1), ("released", 3)]),
        ]);
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            vec![("released".to_owned(), 3), ("saved".to_owned(), 1)]
        );
    }

    #[test]
    fn a_mini_program_always_counts_in_the_same_shard() {
        assert_eq!(
            shard_sk("wx1234567890abcdef"),
            shard_sk("wx1234567890abcdef")
        );
        let shards: std::collections::HashSet<_> =
            (0..200).map(|i| shard_sk(&format!("wx{i:016}"))).collect();
        assert!(shards.len() > SHARDS as usize / 2, "{shards:?}");
        assert!(shards.iter().all(|s| s.len() == PREFIX.len() + 2));
    }
}
