//! Merchants' saved decoration: the user template (`SK=UT#{maAppId}`) and its pages (`SK=UTPAGE#{maAppId}#{pageKey}`),
//! written in one transaction together with the industry templates' usage counts.
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use serde::Serialize;
use serde_json::Value;

use super::item::{applied, built, get_n, get_s, key, n, require_s, s, Item};
use super::{component_pk, fleet, history, StoreError, Table};
use crate::domain::events::Event;
use crate::domain::release::ReleaseState;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTemplate {
    pub seller_id: String,
    pub ma_app_id: String,
    pub template_id: String,
    pub config: Value,
    pub code_commit_info: Value,
    pub audit_id: Option<i64>,
    pub audit_status: Option<String>,
    pub audit_reason: Option<String>,
    pub qr_code_path: Option<String>,
    pub access_status: String,
    /// Where the code stands in the release pipeline (`domain::release::ReleaseState`).
    pub release_state: String,
    pub ext: Value,
    /// The online version as last reported by WeChat after a publish or rollback.
    pub release_info: Value,
    pub version: i64,
    pub create_time: i64,
    pub update_time: i64,
    /// The stored record, so a save keeps attributes it does not know about.
    #[serde(skip)]
    pub raw: Item,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    /// Seed 000's page config id: kept from the page's first save (its pageValue for pages saved before ids).
    pub id: String,
    pub page_key: String,
    pub page_value: String,
    pub name: String,
    pub config: Value,
    pub url: String,
    /// 1 shown, 0 hidden by the merchant.
    pub status: i64,
    pub ext: Value,
}

impl UserTemplate {
    /// A numeric attribute of the stored record that the view does not carry.
    pub fn raw_n(&self, name: &str) -> Option<i64> {
        get_n(&self.raw, name)
    }
}

pub(super) fn ut_sk(appid: &str) -> String {
    format!("UT#{appid}")
}

fn page_sk(appid: &str, page_key: &str) -> String {
    format!("UTPAGE#{appid}#{page_key}")
}

fn json_of(item: &Item, name: &str) -> Value {
    get_s(item, name)
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or(Value::Null)
}

fn from_item(item: &Item) -> Result<UserTemplate, StoreError> {
    Ok(UserTemplate {
        seller_id: require_s(item, "seller_id")?,
        ma_app_id: require_s(item, "ma_app_id")?,
        template_id: require_s(item, "template_id")?,
        config: json_of(item, "config"),
        code_commit_info: json_of(item, "code_commit_info"),
        audit_id: get_n(item, "audit_id"),
        audit_status: get_s(item, "audit_status"),
        audit_reason: get_s(item, "audit_reason"),
        qr_code_path: get_s(item, "qr_code_path"),
        access_status: get_s(item, "access_status").unwrap_or_else(|| "open".into()),
        release_state: get_s(item, "release_state").unwrap_or_else(|| "saved".into()),
        ext: json_of(item, "ext"),
        release_info: json_of(item, "release_info"),
        version: get_n(item, "version").unwrap_or(0),
        create_time: get_n(item, "create_time").unwrap_or(0),
        update_time: get_n(item, "update_time").unwrap_or(0),
        raw: item.clone(),
    })
}

pub async fn get(
    table: &Table,
    component: &str,
    appid: &str,
) -> Result<Option<UserTemplate>, StoreError> {
    table
        .get(
            component_pk(component),
            ut_sk(appid),
            "GetItem user template",
        )
        .await?
        .map(|i| from_item(&i))
        .transpose()
}

pub async fn pages(
    table: &Table,
    component: &str,
    appid: &str,
) -> Result<Vec<UserPage>, StoreError> {
    let out = table
        .query_prefix(component_pk(component), format!("UTPAGE#{appid}#"))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query user pages", e))?;
    out.items()
        .iter()
        .map(|i| {
            let page_value = require_s(i, "page_value")?;
            Ok(UserPage {
                id: get_s(i, "page_id").unwrap_or_else(|| page_value.clone()),
                page_key: require_s(i, "page_key")?,
                page_value,
                name: require_s(i, "name")?,
                config: json_of(i, "config"),
                url: get_s(i, "url").unwrap_or_default(),
                status: get_n(i, "status").unwrap_or(1),
                ext: match json_of(i, "ext") {
                    Value::Null => Value::Object(Default::default()),
                    ext => ext,
                },
            })
        })
        .collect()
}

/// One save: the user template (new, or at `previous_version`), its pages, and usage counts when the chosen
/// industry template changes. False when the version check or a first-save race failed (nothing written).
pub struct Save<'a> {
    pub component: &'a str,
    pub seller_id: &'a str,
    pub ma_app_id: &'a str,
    pub template_id: &'a str,
    pub config: &'a Value,
    /// Seed 000's `ext` of the user template: None keeps what is saved (`{}` on the first save).
    pub ext: Option<&'a Value>,
    pub pages: &'a [UserPage],
    pub removed_pages: &'a [String],
    /// None for the first save.
    pub previous: Option<(&'a UserTemplate, i64)>,
    pub now: i64,
}

pub const MAX_TRANSACTION_ITEMS: usize = 100;

pub fn transaction_size(save: &Save<'_>) -> usize {
    let switches = save
        .previous
        .map(|(p, _)| p.template_id != save.template_id)
        .unwrap_or(true);
    let first = usize::from(save.previous.is_none());
    1 + first + save.pages.len() + save.removed_pages.len() + if switches { 2 } else { 0 }
}

fn usage(table: &Table, component: &str, template_id: &str, delta: i64) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(
            component_pk(component),
            format!("TPL#{template_id}"),
        )))
        .update_expression("ADD mini_programs :d")
        .condition_expression("attribute_exists(PK) AND attribute_not_exists(deleted)")
        .expression_attribute_values(":d", n(delta));
    TransactWriteItem::builder()
        .update(built(update.build()))
        .build()
}

pub async fn save(table: &Table, save: &Save<'_>) -> Result<bool, StoreError> {
    let pk = component_pk(save.component);
    let record = match save.previous {
        // Only the decoration fields change: the pipeline's fields (state, audit, QR code, online version, open
        // index) may have been moved by a step since the caller read the record, and stay as that step left them.
        Some((_, v)) => {
            let mut set = String::from(
                "SET seller_id = :seller, template_id = :tpl, config = :config, version = :next, \
                 update_time = :now",
            );
            let mut update = record_update(table, save.component, save.ma_app_id)
                .condition_expression("version = :v")
                .expression_attribute_values(":seller", s(save.seller_id))
                .expression_attribute_values(":tpl", s(save.template_id))
                .expression_attribute_values(":config", s(save.config.to_string()))
                .expression_attribute_values(":next", n(v + 1))
                .expression_attribute_values(":now", n(save.now))
                .expression_attribute_values(":v", n(v));
            if let Some(ext) = save.ext {
                set.push_str(", ext = :ext");
                update = update.expression_attribute_values(":ext", s(ext.to_string()));
            }
            TransactWriteItem::builder()
                .update(built(update.update_expression(set).build()))
                .build()
        }
        None => {
            let mut item = key(pk.clone(), ut_sk(save.ma_app_id));
            for (name, value) in [
                ("code_commit_info", "null"),
                ("access_status", "open"),
                ("release_state", "saved"),
            ] {
                item.insert(name.into(), s(value));
            }
            let ext = save
                .ext
                .map(Value::to_string)
                .unwrap_or_else(|| "{}".into());
            item.insert("ext".into(), s(ext));
            item.insert("seller_id".into(), s(save.seller_id));
            item.insert("ma_app_id".into(), s(save.ma_app_id));
            item.insert("template_id".into(), s(save.template_id));
            item.insert("config".into(), s(save.config.to_string()));
            item.insert("version".into(), n(1));
            item.insert("create_time".into(), n(save.now));
            item.insert("update_time".into(), n(save.now));
            table.create_in_transaction(item)
        }
    };
    let prev = save.previous.map(|(p, _)| p);
    let mut tx = table.client().transact_write_items().transact_items(record);
    for page in save.pages {
        let mut p = key(pk.clone(), page_sk(save.ma_app_id, &page.page_key));
        p.insert("page_key".into(), s(&page.page_key));
        p.insert("page_value".into(), s(&page.page_value));
        p.insert("name".into(), s(&page.name));
        p.insert("config".into(), s(page.config.to_string()));
        p.insert("url".into(), s(&page.url));
        p.insert("page_id".into(), s(&page.id));
        p.insert("status".into(), n(page.status));
        p.insert("ext".into(), s(page.ext.to_string()));
        tx = tx.transact_items(
            TransactWriteItem::builder()
                .put(built(
                    Put::builder()
                        .table_name(&table.name)
                        .set_item(Some(p))
                        .build(),
                ))
                .build(),
        );
    }
    for removed in save.removed_pages {
        let del = Delete::builder()
            .table_name(&table.name)
            .set_key(Some(key(pk.clone(), page_sk(save.ma_app_id, removed))));
        tx = tx.transact_items(
            TransactWriteItem::builder()
                .delete(built(del.build()))
                .build(),
        );
    }
    let switched_from = match prev {
        Some(p) if p.template_id == save.template_id => None,
        Some(p) => Some(Some(p.template_id.as_str())),
        None => Some(None),
    };
    if prev.is_none() {
        tx = tx.transact_items(fleet::moved(
            table,
            save.component,
            save.ma_app_id,
            None,
            "saved",
        ));
    }
    if let Some(from) = switched_from {
        tx = tx.transact_items(usage(table, save.component, save.template_id, 1));
        if let Some(old) = from {
            tx = tx.transact_items(usage(table, save.component, old, -1));
        }
    }
    table.transact(tx, "TransactWriteItems user template").await
}

/// Records whose state waits for WeChat (`ReleaseState::is_open`) are indexed for the sweep in `OPEN_SHARDS`
/// partitions `RELEASEOPEN#{n}`, sorted by when the sweep should look next (`{dueMs:013}#{component}#{maAppId}`).
/// Records written before sharding sit in the one partition `RELEASEOPEN` (`{component}#{maAppId}`).
const OPEN_INDEX: &str = "RELEASEOPEN";
pub const OPEN_SHARDS: u32 = 8;

fn open_pk(component: &str, appid: &str) -> String {
    format!(
        "{OPEN_INDEX}#{}",
        super::shard_of(&format!("{component}#{appid}"), OPEN_SHARDS)
    )
}

fn open_sk(due_ms: i64, component: &str, appid: &str) -> String {
    format!("{due_ms:013}#{component}#{appid}")
}

/// The index partitions the sweep reads: the shards, then the one from before sharding.
pub fn open_partitions() -> Vec<String> {
    let mut out: Vec<String> = (0..OPEN_SHARDS)
        .map(|n| format!("{OPEN_INDEX}#{n}"))
        .collect();
    out.push(OPEN_INDEX.to_owned());
    out
}

/// One step of the release pipeline: from one of the states the caller saw to `to`, with extra attributes and the
/// history event that describes it, all in one transaction.
pub struct Move<'a> {
    pub component: &'a str,
    pub appid: &'a str,
    /// The state the caller saw: the step applies only from it, and the fleet's counts move from it.
    pub from: &'a str,
    pub to: &'a str,
    pub sets: Vec<(&'a str, AttributeValue)>,
    /// An attribute that must still hold this value (an intent's token), besides the state.
    pub guard: Option<(&'a str, AttributeValue)>,
    pub event: Option<Event>,
    pub now: i64,
}

/// False when the record was not in one of `from` (someone else moved it first): nothing written.
pub async fn move_release(table: &Table, mv: Move<'_>) -> Result<bool, StoreError> {
    let mut set = String::from("release_state = :to, update_time = :now");
    let mut update = record_update(table, mv.component, mv.appid)
        .expression_attribute_values(":to", s(mv.to))
        .expression_attribute_values(":now", n(mv.now));
    update = update.expression_attribute_values(":from", s(mv.from));
    // A record entering an open state is due for the sweep at once; the sweep defers it when there is nothing to do.
    let remove = if ReleaseState::parse(mv.to).is_some_and(ReleaseState::is_open) {
        set.push_str(", GSI1PK = :open, GSI1SK = :ref, sweep_misses = :zero");
        update = update
            .expression_attribute_values(":open", s(open_pk(mv.component, mv.appid)))
            .expression_attribute_values(":ref", s(open_sk(mv.now * 1000, mv.component, mv.appid)))
            .expression_attribute_values(":zero", n(0));
        ""
    } else {
        " REMOVE GSI1PK, GSI1SK, sweep_misses"
    };
    let mut guard = String::new();
    if let Some((name, value)) = mv.guard {
        guard = " AND #guard = :guard".into();
        update = update
            .expression_attribute_names("#guard", name)
            .expression_attribute_values(":guard", value);
    }
    let update = update.condition_expression(format!(
        "attribute_exists(PK) AND release_state = :from{guard}"
    ));
    // The fleet's counts move with the step (a step to the same state moves none).
    let counted = (mv.from != mv.to)
        .then(|| fleet::moved(table, mv.component, mv.appid, Some(mv.from), mv.to));
    let write = Write {
        update,
        set,
        sets: mv.sets,
        remove,
        event: mv.event.as_ref(),
        counted,
    };
    write.commit(table, "TransactWriteItems release step").await
}

/// Sets attributes that are not part of the pipeline's state (visit status, online version), with their event.
/// False when the user template does not exist: nothing written.
pub async fn set_fields(
    table: &Table,
    component: &str,
    appid: &str,
    sets: Vec<(&str, AttributeValue)>,
    event: Option<&Event>,
    now: i64,
) -> Result<bool, StoreError> {
    let update = record_update(table, component, appid)
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":now", n(now));
    let write = Write {
        update,
        set: "update_time = :now".into(),
        sets,
        remove: "",
        event,
        counted: None,
    };
    write
        .commit(table, "TransactWriteItems user template fields")
        .await
}

fn record_update(table: &Table, component: &str, appid: &str) -> UpdateBuilder {
    Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), ut_sk(appid))))
}

/// One conditional update of a user template — `SET {set}, {sets}{remove}` — committed together with the history
/// record of the event that describes it.
struct Write<'a> {
    update: UpdateBuilder,
    set: String,
    sets: Vec<(&'a str, AttributeValue)>,
    remove: &'static str,
    event: Option<&'a Event>,
    /// The fleet's counts moved by a change of release state.
    counted: Option<TransactWriteItem>,
}

impl Write<'_> {
    async fn commit(self, table: &Table, operation: &'static str) -> Result<bool, StoreError> {
        let (mut expr, mut update) = (format!("SET {}", self.set), self.update);
        for (i, (name, value)) in self.sets.into_iter().enumerate() {
            expr.push_str(&format!(", #a{i} = :a{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":a{i}"), value);
        }
        expr.push_str(self.remove);
        let update = update.update_expression(expr);
        let mut tx = table.client().transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(built(update.build()))
                .build(),
        );
        if let Some(event) = self.event {
            tx = history::add_to(tx, table, event);
        }
        if let Some(counted) = self.counted {
            tx = tx.transact_items(counted);
        }
        table.transact(tx, operation).await
    }
}

/// An open release the sweep should look at now.
pub struct DueRelease {
    pub component: String,
    pub appid: String,
}

/// One page of the open releases of one index partition that are due before `now_ms`, and where the next starts.
pub async fn due_releases(
    table: &Table,
    partition: &str,
    now_ms: i64,
    limit: i32,
    start: Option<Item>,
) -> Result<(Vec<DueRelease>, Option<Item>), StoreError> {
    // Before sharding the sort key held no due time: everything in that partition is due.
    let before = if partition == OPEN_INDEX {
        "~".to_owned()
    } else {
        format!("{now_ms:013}")
    };
    let (items, next) = table
        .query_due(partition, &before, limit, start, "Query open releases")
        .await?;
    let due = items
        .iter()
        .filter_map(|item| {
            let sk = get_s(item, "GSI1SK")?;
            let rest = match sk.split_once('#') {
                Some((due, rest)) if due.len() == 13 && due.bytes().all(|b| b.is_ascii_digit()) => {
                    rest
                }
                _ => sk.as_str(),
            };
            let (c, a) = rest.split_once('#')?;
            Some(DueRelease {
                component: c.to_owned(),
                appid: a.to_owned(),
            })
        })
        .collect();
    Ok((due, next))
}

/// Tells the sweep to look at an open release again at `due_ms`, after `misses` looks that found nothing to do (the
/// back-off grows with them). Only while the record is still in `state`; false otherwise.
pub async fn defer(
    table: &Table,
    component: &str,
    appid: &str,
    state: &str,
    due_ms: i64,
    misses: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), ut_sk(appid))
        .update_expression("SET GSI1PK = :open, GSI1SK = :ref, sweep_misses = :misses")
        .condition_expression("release_state = :state AND attribute_exists(GSI1PK)")
        .expression_attribute_values(":open", s(open_pk(component, appid)))
        .expression_attribute_values(":ref", s(open_sk(due_ms, component, appid)))
        .expression_attribute_values(":misses", n(misses))
        .expression_attribute_values(":state", s(state))
        .send()
        .await;
    applied("UpdateItem sweep deferral", res)
}

/// What a listing shows of a mini-program's saved decoration and release.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSummary {
    pub state: String,
    pub template_id: Option<String>,
    pub audit_reason: Option<String>,
    pub access_status: String,
    /// The version last committed (the trial version), and the one WeChat last reported online.
    pub trial_version: Option<String>,
    pub online_version: Option<String>,
}

/// The attributes `summary_of` reads.
pub(super) const SUMMARY_ATTRIBUTES: &str =
    "release_state, template_id, audit_reason, access_status, code_commit_info, release_info";

pub(super) fn summary_of(item: &Item) -> ReleaseSummary {
    let version = |field: &str, key: &str| json_of(item, field)[key].as_str().map(str::to_owned);
    ReleaseSummary {
        state: get_s(item, "release_state").unwrap_or_else(|| "saved".into()),
        template_id: get_s(item, "template_id"),
        audit_reason: get_s(item, "audit_reason").filter(|r| !r.is_empty()),
        access_status: get_s(item, "access_status").unwrap_or_else(|| "open".into()),
        trial_version: version("code_commit_info", "userVersion"),
        online_version: version("release_info", "release_version"),
    }
}
