//! Fast registrations (代注册) the platform asked WeChat for: `SK=REGTASK#{taskid}` in the component's partition,
//! and for a company `SK=REGCODE#{code}` naming its latest task (WeChat's push names the company, not the task).
//! Only what is needed to settle the push and show the status is kept: no legal person's name or WeChat id.
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::item::{built, get_n, get_s, n, s, Item};
use super::{component_pk, StoreError, Table};

pub const AWAITING: &str = "awaiting_confirmation";
pub const REGISTERED: &str = "registered";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegTask {
    pub task_id: String,
    /// `company` or `person`.
    pub kind: String,
    /// The company's registered name (companies only).
    pub name: Option<String>,
    /// Its unified social credit code (companies only).
    pub code: Option<String>,
    /// The merchant the new mini-program is linked to once registered.
    pub merchant: Option<String>,
    pub requested_by: String,
    pub state: String,
    /// The link the legal person (or the person) opens within 24 h to confirm.
    pub authorize_url: String,
    pub ma_app_id: Option<String>,
    pub message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn task_sk(task_id: &str) -> String {
    format!("REGTASK#{task_id}")
}

fn code_sk(code: &str) -> String {
    format!("REGCODE#{code}")
}

fn from_item(i: &Item) -> RegTask {
    RegTask {
        task_id: get_s(i, "task_id").unwrap_or_default(),
        kind: get_s(i, "kind").unwrap_or_default(),
        name: get_s(i, "name"),
        code: get_s(i, "code"),
        merchant: get_s(i, "merchant"),
        requested_by: get_s(i, "requested_by").unwrap_or_default(),
        state: get_s(i, "state").unwrap_or_default(),
        authorize_url: get_s(i, "authorize_url").unwrap_or_default(),
        ma_app_id: get_s(i, "ma_app_id"),
        message: get_s(i, "message"),
        created_at: get_n(i, "created_at").unwrap_or(0),
        updated_at: get_n(i, "updated_at").unwrap_or(0),
    }
}

/// Records a task WeChat accepted (and, for a company, makes it the one its code names). False when a task with
/// that id exists already (nothing written).
pub async fn create(table: &Table, component: &str, t: &RegTask) -> Result<bool, StoreError> {
    let pk = component_pk(component);
    let mut item: Item = [
        ("PK", s(pk.clone())),
        ("SK", s(task_sk(&t.task_id))),
        ("task_id", s(&t.task_id)),
        ("kind", s(&t.kind)),
        ("requested_by", s(&t.requested_by)),
        ("state", s(&t.state)),
        ("authorize_url", s(&t.authorize_url)),
        ("created_at", n(t.created_at)),
        ("updated_at", n(t.updated_at)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in [
        ("name", &t.name),
        ("code", &t.code),
        ("merchant", &t.merchant),
    ] {
        if let Some(v) = v {
            item.insert(k.to_owned(), s(v));
        }
    }
    let put = Put::builder()
        .table_name(&table.name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)");
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(built(put.build())).build());
    if let Some(code) = &t.code {
        let pointer: Item = [
            ("PK", s(pk)),
            ("SK", s(code_sk(code))),
            ("task_id", s(&t.task_id)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let put = Put::builder()
            .table_name(&table.name)
            .set_item(Some(pointer));
        tx = tx.transact_items(TransactWriteItem::builder().put(built(put.build())).build());
    }
    table
        .transact(tx, "TransactWriteItems registration task")
        .await
}

pub async fn get(
    table: &Table,
    component: &str,
    task_id: &str,
) -> Result<Option<RegTask>, StoreError> {
    Ok(table
        .get(
            component_pk(component),
            task_sk(task_id),
            "GetItem registration task",
        )
        .await?
        .as_ref()
        .map(from_item))
}

/// The latest task of the company with this code.
pub async fn by_code(
    table: &Table,
    component: &str,
    code: &str,
) -> Result<Option<RegTask>, StoreError> {
    let Some(pointer) = table
        .get(
            component_pk(component),
            code_sk(code),
            "GetItem registration code",
        )
        .await?
    else {
        return Ok(None);
    };
    match get_s(&pointer, "task_id") {
        Some(id) => get(table, component, &id).await,
        None => Ok(None),
    }
}

/// Settles a task awaiting confirmation: registered (with its mini-program) or failed (with WeChat's message).
/// False when it was settled before (a redelivered push).
pub async fn settle(
    table: &Table,
    component: &str,
    task_id: &str,
    state: &str,
    ma_app_id: Option<&str>,
    message: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), task_sk(task_id))
        .update_expression("SET #state = :to, ma_app_id = :a, message = :m, updated_at = :now")
        .condition_expression("#state = :awaiting")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":to", s(state))
        .expression_attribute_values(":a", s(ma_app_id.unwrap_or("")))
        .expression_attribute_values(":m", s(message.unwrap_or("")))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":awaiting", s(AWAITING))
        .send()
        .await;
    super::item::applied("UpdateItem registration task", res)
}
