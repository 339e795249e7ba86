//! Per-merchant daily counters of the WeChat operations all merchants of a component share (audit submissions,
//! undos, speed-ups, authorization links). `PK=COMP#{component}`, `SK=QUOTA#{merchant}#{kind}#{day}`, `count`, TTL.
//! A unit is taken with a conditional ADD that holds only below the limit, so concurrent requests never overshoot.
use super::item::{applied, n};
use super::{component_pk, StoreError, Table};

fn sk(merchant: &str, kind: &str, day: i64) -> String {
    format!("QUOTA#{merchant}#{kind}#{day}")
}

/// Takes one unit of today's `limit`; false when it is used up (nothing written).
pub async fn take(
    table: &Table,
    component: &str,
    merchant: &str,
    kind: &str,
    day: i64,
    limit: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), sk(merchant, kind, day))
        .update_expression("ADD #count :one SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(#count) OR #count < :limit")
        .expression_attribute_names("#count", "count")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":limit", n(limit))
        .expression_attribute_values(":ttl", n((day + 2) * 86_400))
        .send()
        .await;
    applied("UpdateItem merchant quota", res)
}

/// Gives a unit back when the operation did not reach WeChat.
pub async fn give_back(
    table: &Table,
    component: &str,
    merchant: &str,
    kind: &str,
    day: i64,
) -> Result<(), StoreError> {
    let res = table
        .update(component_pk(component), sk(merchant, kind, day))
        .update_expression("ADD #count :minus")
        .condition_expression("#count > :zero")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":minus", n(-1))
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
    applied("UpdateItem merchant quota", res).map(|_| ())
}
