//! Push idempotency (`SK=DEDUP#{hash}`: in_progress → completed, removed on failure, TTL) and the push log
//! (`SK=PUSH#{createTime}#{hash}`, one record per push however often it is delivered; GSI1 by type).
use super::item::{
    decode_cursor, encode_cursor, get_n, get_s, is_conditional_failure, key, n, s, Item,
};
use super::{component_pk, StoreError, Table};
use serde::Serialize;

#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// This delivery owns the push and must complete or abandon it.
    Started,
    /// A previous delivery completed it.
    AlreadyDone,
    /// Another delivery is handling it right now.
    InProgress,
}

const STATE_IN_PROGRESS: &str = "in_progress";
const STATE_COMPLETED: &str = "completed";

/// Claims a push for one delivery (`owner`) for `lease_secs`; an expired claim of a delivery that died is
/// taken over.
pub async fn begin(
    table: &Table,
    component: &str,
    hash: &str,
    owner: &str,
    now: i64,
    lease_secs: i64,
    ttl: i64,
) -> Result<Begin, StoreError> {
    let mut item = key(component_pk(component), format!("DEDUP#{hash}"));
    item.insert("state".into(), s(STATE_IN_PROGRESS));
    item.insert("owner".into(), s(owner));
    item.insert("lease_until".into(), n(now + lease_secs));
    item.insert("ttl".into(), n(ttl));
    let res = table
        .client()
        .put_item()
        .table_name(&table.name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK) OR (#s = :p AND lease_until < :now)")
        .expression_attribute_names("#s", "state")
        .expression_attribute_values(":p", s(STATE_IN_PROGRESS))
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    match res {
        Ok(_) => Ok(Begin::Started),
        Err(e) if is_conditional_failure(&e) => {
            let existing = table
                .client()
                .get_item()
                .table_name(&table.name)
                .set_key(Some(key(component_pk(component), format!("DEDUP#{hash}"))))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("GetItem dedup", e))?;
            let done =
                existing.item.and_then(|i| get_s(&i, "state")).as_deref() == Some(STATE_COMPLETED);
            Ok(if done {
                Begin::AlreadyDone
            } else {
                Begin::InProgress
            })
        }
        Err(e) => Err(StoreError::dynamo("PutItem dedup", e)),
    }
}

/// Marks the push done. Any delivery that applied it may (its effect is idempotent); only the claim's owner
/// may release it (`abandon`).
pub async fn complete(table: &Table, component: &str, hash: &str) -> Result<(), StoreError> {
    table
        .update(component_pk(component), format!("DEDUP#{hash}"))
        .update_expression("SET #s = :c REMOVE lease_until, #owner")
        .expression_attribute_names("#s", "state")
        .expression_attribute_names("#owner", "owner")
        .expression_attribute_values(":c", s(STATE_COMPLETED))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("UpdateItem dedup", e))?;
    Ok(())
}

/// Releases `owner`'s claim so WeChat's next delivery can run the handler again; a claim another delivery took
/// over meanwhile is theirs and stays.
pub async fn abandon(
    table: &Table,
    component: &str,
    hash: &str,
    owner: &str,
) -> Result<(), StoreError> {
    let res = table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), format!("DEDUP#{hash}"))))
        .condition_expression("#s = :p AND #owner = :o")
        .expression_attribute_names("#s", "state")
        .expression_attribute_names("#owner", "owner")
        .expression_attribute_values(":p", s(STATE_IN_PROGRESS))
        .expression_attribute_values(":o", s(owner))
        .send()
        .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_conditional_failure(&e) => Ok(()),
        Err(e) => Err(StoreError::dynamo("DeleteItem dedup", e)),
    }
}

/// One push as shown by `GET /callback/records`. The body has credentials redacted.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PushRecord {
    pub push_type: String,
    pub url_kind: String,
    pub authorizer_appid: Option<String>,
    pub create_time: i64,
    pub first_received_at: i64,
    pub last_received_at: i64,
    pub deliveries: i64,
    pub outcome: String,
    pub body: String,
}

pub struct NewRecord<'a> {
    pub hash: &'a str,
    pub push_type: &'a str,
    pub url_kind: &'a str,
    pub authorizer_appid: Option<&'a str>,
    pub create_time: i64,
    pub outcome: &'a str,
    pub body: &'a str,
}

fn record_sk(create_time: i64, hash: &str) -> String {
    format!("PUSH#{create_time:011}#{hash}")
}

/// Upserts the record of a push and counts the delivery.
pub async fn record(
    table: &Table,
    component: &str,
    rec: &NewRecord<'_>,
    now: i64,
    ttl: i64,
) -> Result<(), StoreError> {
    let sk = record_sk(rec.create_time, rec.hash);
    let mut update = table.update(component_pk(component), sk.clone())
        .update_expression(
            "SET push_type = :t, url_kind = :k, create_time = :ct, body = :b, outcome = :o, \
             first_received_at = if_not_exists(first_received_at, :now), last_received_at = :now, #ttl = :ttl, \
             GSI1PK = :g, GSI1SK = :sk, authorizer_appid = :a ADD deliveries :one",
        )
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":t", s(rec.push_type))
        .expression_attribute_values(":k", s(rec.url_kind))
        .expression_attribute_values(":ct", n(rec.create_time))
        .expression_attribute_values(":b", s(rec.body))
        .expression_attribute_values(":o", s(rec.outcome))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":ttl", n(ttl))
        .expression_attribute_values(":g", s(type_index_pk(component, rec.push_type, &sk)))
        .expression_attribute_values(":sk", s(sk))
        .expression_attribute_values(":one", n(1));
    update = update.expression_attribute_values(":a", s(rec.authorizer_appid.unwrap_or("")));
    update
        .send()
        .await
        .map_err(|e| StoreError::dynamo("UpdateItem push record", e))?;
    Ok(())
}

/// Push records of one type are spread over `TYPE_SHARDS` index partitions (by record), so a burst of one type never
/// lands on one partition; records from before sharding stay in the unsuffixed one.
const TYPE_SHARDS: u32 = 4;

fn type_index_pk(component: &str, push_type: &str, sk: &str) -> String {
    format!(
        "PUSHTYPE#{component}#{push_type}#{}",
        super::shard_of(sk, TYPE_SHARDS)
    )
}

fn type_partitions(component: &str, push_type: &str) -> Vec<String> {
    let mut out: Vec<String> = (0..TYPE_SHARDS)
        .map(|n| format!("PUSHTYPE#{component}#{push_type}#{n}"))
        .collect();
    out.push(format!("PUSHTYPE#{component}#{push_type}"));
    out
}

fn from_item(item: &Item) -> PushRecord {
    PushRecord {
        push_type: get_s(item, "push_type").unwrap_or_default(),
        url_kind: get_s(item, "url_kind").unwrap_or_default(),
        authorizer_appid: get_s(item, "authorizer_appid").filter(|a| !a.is_empty()),
        create_time: get_n(item, "create_time").unwrap_or(0),
        first_received_at: get_n(item, "first_received_at").unwrap_or(0),
        last_received_at: get_n(item, "last_received_at").unwrap_or(0),
        deliveries: get_n(item, "deliveries").unwrap_or(0),
        outcome: get_s(item, "outcome").unwrap_or_default(),
        body: get_s(item, "body").unwrap_or_default(),
    }
}

pub struct RecordFilter<'a> {
    pub push_type: Option<&'a str>,
    pub authorizer_appid: Option<&'a str>,
}

/// Newest first; filtered by type through GSI1 (every shard, merged by sort key), by authorizer with a filter
/// expression.
pub async fn list(
    table: &Table,
    component: &str,
    filter: &RecordFilter<'_>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<super::authorizers::Page<PushRecord>, StoreError> {
    let pk = component_pk(component);
    let start = cursor.and_then(|c| decode_cursor(&pk, c, "PUSH#"));
    if let Some(push_type) = filter.push_type {
        // The cursor is the last record's SK, which is also its index sort key: each shard continues below it.
        let before = start.as_ref().and_then(|k| get_s(k, "SK"));
        let mut items: Vec<Item> = Vec::new();
        for gpk in type_partitions(component, push_type) {
            let mut q = table
                .client()
                .query()
                .table_name(&table.name)
                .index_name("GSI1")
                .scan_index_forward(false)
                .limit(limit)
                .expression_attribute_values(":g", s(gpk));
            q = match &before {
                Some(b) => q
                    .key_condition_expression("GSI1PK = :g AND GSI1SK < :before")
                    .expression_attribute_values(":before", s(b)),
                None => q.key_condition_expression("GSI1PK = :g"),
            };
            if let Some(a) = filter.authorizer_appid {
                q = q
                    .filter_expression("authorizer_appid = :a")
                    .expression_attribute_values(":a", s(a));
            }
            let out = q
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query push records by type", e))?;
            items.extend(out.items.unwrap_or_default());
        }
        items.sort_by_key(|i| std::cmp::Reverse(get_s(i, "SK")));
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more || items.len() == limit as usize {
            encode_cursor(items.last())
        } else {
            None
        };
        return Ok(super::authorizers::Page {
            items: items.iter().map(from_item).collect(),
            next_cursor,
        });
    }
    let mut q = table
        .client()
        .query()
        .table_name(&table.name)
        .scan_index_forward(false)
        .limit(limit)
        .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
        .expression_attribute_values(":pk", s(&pk))
        .expression_attribute_values(":prefix", s("PUSH#"))
        .set_exclusive_start_key(start);
    if let Some(a) = filter.authorizer_appid {
        q = q
            .filter_expression("authorizer_appid = :a")
            .expression_attribute_values(":a", s(a));
    }
    let out = q
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query push records", e))?;
    Ok(super::authorizers::Page {
        items: out.items().iter().map(from_item).collect(),
        next_cursor: encode_cursor(out.last_evaluated_key()),
    })
}
