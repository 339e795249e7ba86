//! A mini-program's name change under WeChat's review: `SK=NICK#{maAppId}`, the latest request, settled by the
//! `wxa_nickname_audit` push.
use super::item::{get_n, get_s, n, s};
use super::{component_pk, StoreError, Table};

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NameChange {
    pub nickname: String,
    pub audit_id: i64,
    /// `auditing`, `approved` or `rejected`.
    pub state: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
}

fn sk(appid: &str) -> String {
    format!("NICK#{appid}")
}

pub async fn requested(
    table: &Table,
    component: &str,
    appid: &str,
    change: &NameChange,
) -> Result<(), StoreError> {
    table
        .update(component_pk(component), sk(appid))
        .update_expression(
            "SET nickname = :n, audit_id = :a, #state = :s, reason = :r, requested_by = :b, requested_at = :t",
        )
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":n", s(&change.nickname))
        .expression_attribute_values(":a", n(change.audit_id))
        .expression_attribute_values(":s", s(&change.state))
        .expression_attribute_values(":r", s(&change.reason))
        .expression_attribute_values(":b", s(&change.requested_by))
        .expression_attribute_values(":t", n(change.requested_at))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("UpdateItem name change", e))?;
    Ok(())
}

pub async fn latest(
    table: &Table,
    component: &str,
    appid: &str,
) -> Result<Option<NameChange>, StoreError> {
    Ok(table
        .get(component_pk(component), sk(appid), "GetItem name change")
        .await?
        .map(|i| NameChange {
            nickname: get_s(&i, "nickname").unwrap_or_default(),
            audit_id: get_n(&i, "audit_id").unwrap_or(0),
            state: get_s(&i, "state").unwrap_or_default(),
            reason: get_s(&i, "reason").unwrap_or_default(),
            requested_by: get_s(&i, "requested_by").unwrap_or_default(),
            requested_at: get_n(&i, "requested_at").unwrap_or(0),
        }))
}

/// Settles the name under review with WeChat's decision; false when no review of that name was open.
pub async fn decided(
    table: &Table,
    component: &str,
    appid: &str,
    nickname: &str,
    approved: bool,
    reason: &str,
) -> Result<bool, StoreError> {
    let res = table
        .update(component_pk(component), sk(appid))
        .update_expression("SET #state = :s, reason = :r")
        .condition_expression("nickname = :n AND #state = :auditing")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":s", s(if approved { "approved" } else { "rejected" }))
        .expression_attribute_values(":r", s(reason))
        .expression_attribute_values(":n", s(nickname))
        .expression_attribute_values(":auditing", s("auditing"))
        .send()
        .await;
    super::item::applied("UpdateItem name decided", res)
}
