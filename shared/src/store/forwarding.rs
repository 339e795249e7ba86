//! Forwarding rules (`SK=FWDRULE#{id}`, counted by `SK=FWDRULES`, at most `MAX_RULES` a component) and their
//! deliveries (`SK=FWDDEL#{ruleId}#{startedMs:013}#{deliveryId}`, newest read first, kept for the push records'
//! time). A rule's HMAC secret is stored with it and never read back out through the API.
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use super::authorizers::Page;
use super::item::{built, get_n, get_s, get_s_list, key, n, s, s_list, Item};
use super::{component_pk, StoreError, Table};
use crate::domain::forwarding::{Matcher, MAX_RULES};

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub url: String,
    pub info_types: Vec<String>,
    pub msg_types: Vec<String>,
    pub events: Vec<String>,
    pub appids: Vec<String>,
    pub created_at: i64,
    pub created_by: String,
    #[serde(skip)]
    pub secret: String,
}

impl Rule {
    pub fn matcher(&self) -> Matcher {
        Matcher {
            info_types: self.info_types.clone(),
            msg_types: self.msg_types.clone(),
            events: self.events.clone(),
            appids: self.appids.clone(),
        }
    }
}

fn rule_sk(id: &str) -> String {
    format!("FWDRULE#{id}")
}

const COUNT_SK: &str = "FWDRULES";

fn from_item(i: &Item) -> Rule {
    Rule {
        id: get_s(i, "rule_id").unwrap_or_default(),
        name: get_s(i, "name").unwrap_or_default(),
        url: get_s(i, "url").unwrap_or_default(),
        info_types: get_s_list(i, "info_types"),
        msg_types: get_s_list(i, "msg_types"),
        events: get_s_list(i, "events"),
        appids: get_s_list(i, "appids"),
        created_at: get_n(i, "created_at").unwrap_or(0),
        created_by: get_s(i, "created_by").unwrap_or_default(),
        secret: get_s(i, "secret").unwrap_or_default(),
    }
}

/// Creates a rule and counts it, in one transaction that holds only below `MAX_RULES`. False when full.
pub async fn create(table: &Table, component: &str, rule: &Rule) -> Result<bool, StoreError> {
    let pk = component_pk(component);
    let item: Item = [
        ("PK", s(pk.clone())),
        ("SK", s(rule_sk(&rule.id))),
        ("rule_id", s(&rule.id)),
        ("name", s(&rule.name)),
        ("url", s(&rule.url)),
        ("info_types", s_list(&rule.info_types)),
        ("msg_types", s_list(&rule.msg_types)),
        ("events", s_list(&rule.events)),
        ("appids", s_list(&rule.appids)),
        ("created_at", n(rule.created_at)),
        ("created_by", s(&rule.created_by)),
        ("secret", s(&rule.secret)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let put = Put::builder()
        .table_name(&table.name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)");
    let count = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk, COUNT_SK.into())))
        .update_expression("ADD rule_count :one")
        .condition_expression("attribute_not_exists(rule_count) OR rule_count < :max")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":max", n(MAX_RULES));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(built(put.build())).build())
        .transact_items(
            TransactWriteItem::builder()
                .update(built(count.build()))
                .build(),
        );
    table
        .transact(tx, "TransactWriteItems forwarding rule")
        .await
}

/// Deletes a rule and uncounts it. False when there was no such rule.
pub async fn delete(table: &Table, component: &str, id: &str) -> Result<bool, StoreError> {
    let pk = component_pk(component);
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.clone(), rule_sk(id))))
        .condition_expression("attribute_exists(PK)");
    let count = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk, COUNT_SK.into())))
        .update_expression("ADD rule_count :minus")
        .expression_attribute_values(":minus", n(-1));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .delete(built(delete.build()))
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(built(count.build()))
                .build(),
        );
    table
        .transact(tx, "TransactWriteItems delete forwarding rule")
        .await
}

pub async fn get(table: &Table, component: &str, id: &str) -> Result<Option<Rule>, StoreError> {
    Ok(table
        .get(
            component_pk(component),
            rule_sk(id),
            "GetItem forwarding rule",
        )
        .await?
        .as_ref()
        .map(from_item))
}

/// Every rule of the component (at most `MAX_RULES`, one page).
pub async fn list(table: &Table, component: &str) -> Result<Vec<Rule>, StoreError> {
    let out = table
        .query_prefix(component_pk(component), "FWDRULE#".into())
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query forwarding rules", e))?;
    Ok(out.items().iter().map(from_item).collect())
}

/// One delivery of one push to one rule, as its tries went.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub delivery_id: String,
    pub rule_id: String,
    pub push_type: String,
    pub appid: Option<String>,
    /// `pending`, `retrying`, `delivered` or `dead` (dead-lettered after the last try).
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
}

fn delivery_sk(rule_id: &str, started_ms: i64, delivery_id: &str) -> String {
    format!("FWDDEL#{rule_id}#{started_ms:013}#{delivery_id}")
}

/// What one try left behind.
pub struct Attempt<'a> {
    pub rule_id: &'a str,
    pub delivery_id: &'a str,
    pub started_ms: i64,
    pub push_type: &'a str,
    pub appid: Option<&'a str>,
    pub attempt: i64,
    pub state: &'a str,
    pub status: Option<i64>,
    pub error: Option<&'a str>,
    pub now: i64,
    pub ttl: i64,
}

/// Records a try. A redelivered message of an earlier try never moves the record back (`attempts` only grows,
/// and a delivered one stays delivered).
pub async fn record_attempt(
    table: &Table,
    component: &str,
    a: &Attempt<'_>,
) -> Result<bool, StoreError> {
    let mut update = table
        .update(
            component_pk(component),
            delivery_sk(a.rule_id, a.started_ms, a.delivery_id),
        )
        .update_expression(
            "SET delivery_id = :d, rule_id = :r, push_type = :p, appid = :a, #state = :s, attempts = :n, \
             last_status = :st, last_error = :e, started_at = :start, updated_at = :now, #ttl = :ttl",
        )
        .condition_expression(
            "attribute_not_exists(attempts) OR (attempts <= :n AND #state <> :delivered)",
        )
        .expression_attribute_names("#state", "state")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":d", s(a.delivery_id))
        .expression_attribute_values(":r", s(a.rule_id))
        .expression_attribute_values(":p", s(a.push_type))
        .expression_attribute_values(":a", s(a.appid.unwrap_or("")))
        .expression_attribute_values(":s", s(a.state))
        .expression_attribute_values(":n", n(a.attempt))
        .expression_attribute_values(":start", n(a.started_ms / 1000))
        .expression_attribute_values(":now", n(a.now))
        .expression_attribute_values(":ttl", n(a.ttl))
        .expression_attribute_values(":delivered", s("delivered"));
    update = update
        .expression_attribute_values(":st", a.status.map_or(s(""), n))
        .expression_attribute_values(":e", s(a.error.unwrap_or("")));
    super::item::applied("UpdateItem forwarding delivery", update.send().await)
}

fn delivery_from(i: &Item) -> Delivery {
    Delivery {
        delivery_id: get_s(i, "delivery_id").unwrap_or_default(),
        rule_id: get_s(i, "rule_id").unwrap_or_default(),
        push_type: get_s(i, "push_type").unwrap_or_default(),
        appid: get_s(i, "appid").filter(|a| !a.is_empty()),
        state: get_s(i, "state").unwrap_or_default(),
        attempts: get_n(i, "attempts").unwrap_or(0),
        last_status: get_n(i, "last_status"),
        last_error: get_s(i, "last_error").filter(|e| !e.is_empty()),
        started_at: get_n(i, "started_at").unwrap_or(0),
        updated_at: get_n(i, "updated_at").unwrap_or(0),
    }
}

/// A rule's deliveries, newest first, a page at a time.
pub async fn deliveries(
    table: &Table,
    component: &str,
    rule_id: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Delivery>, StoreError> {
    let pk = component_pk(component);
    let prefix = format!("FWDDEL#{rule_id}#");
    let start = cursor.and_then(|c| super::item::decode_cursor(&pk, c, &prefix));
    let out = table
        .query_prefix(pk, prefix)
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query forwarding deliveries", e))?;
    Ok(Page {
        items: out.items().iter().map(delivery_from).collect(),
        next_cursor: super::item::encode_cursor(out.last_evaluated_key()),
    })
}
