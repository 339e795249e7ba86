//! Punishments WeChat pushed for a mini-program (`wxa_punish_event`): `SK=PUNISH#{maAppId}#{punishTime:010}#{id}`,
//! kept as long as the mini-program's history, newest read first, each with a marker
//! `SK=PUNISHID#{maAppId}#{id}` written in the same transaction: a punishment is one by its id, even pushed again
//! with another time. WeChat's own violation records are read from
//! WeChat each time; only the pushes are ours to keep.
use super::item::{get_n, get_s, n, s, Item};
use super::{component_pk, StoreError, Table};
use crate::wechat::push::Punishment;

fn sk_prefix(appid: &str) -> String {
    format!("PUNISH#{appid}#")
}

/// Records a punishment once (a redelivered push changes nothing). False when it was recorded before.
pub async fn record(
    table: &Table,
    component: &str,
    appid: &str,
    p: &Punishment,
    now: i64,
) -> Result<bool, StoreError> {
    let sk = format!(
        "{}{:010}#{}",
        sk_prefix(appid),
        p.punish_time.max(0),
        p.punish_id
    );
    let item: Item = [
        ("PK", s(component_pk(component))),
        ("SK", s(sk)),
        ("punish_id", s(&p.punish_id)),
        ("event_type", n(p.event_type)),
        ("punish_time", n(p.punish_time)),
        ("illegal_reason", s(&p.illegal_reason)),
        ("illegal_content", s(&p.illegal_content)),
        ("rule_name", s(&p.rule_name)),
        ("rule_url", s(&p.rule_url)),
        ("adjust_guide_url", s(&p.adjust_guide_url)),
        ("detail", s(&p.detail)),
        ("recorded_at", n(now)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let marker: Item = [
        ("PK", s(component_pk(component))),
        ("SK", s(format!("PUNISHID#{appid}#{}", p.punish_id))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(marker))
        .transact_items(table.create_in_transaction(item));
    table.transact(tx, "TransactWriteItems punishment").await
}

/// The newest `limit` punishments of a mini-program.
pub async fn latest(
    table: &Table,
    component: &str,
    appid: &str,
    limit: i32,
) -> Result<Vec<Punishment>, StoreError> {
    let out = table
        .query_prefix(component_pk(component), sk_prefix(appid))
        .scan_index_forward(false)
        .limit(limit)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query punishments", e))?;
    Ok(out
        .items()
        .iter()
        .map(|i| Punishment {
            punish_id: get_s(i, "punish_id").unwrap_or_default(),
            event_type: get_n(i, "event_type").unwrap_or(0),
            punish_time: get_n(i, "punish_time").unwrap_or(0),
            illegal_reason: get_s(i, "illegal_reason").unwrap_or_default(),
            illegal_content: get_s(i, "illegal_content").unwrap_or_default(),
            rule_name: get_s(i, "rule_name").unwrap_or_default(),
            rule_url: get_s(i, "rule_url").unwrap_or_default(),
            adjust_guide_url: get_s(i, "adjust_guide_url").unwrap_or_default(),
            detail: get_s(i, "detail").unwrap_or_default(),
        })
        .collect())
}
