//! `GET /miniprogram/violations` and `GET /miniprogram/appeals`: what WeChat holds against a mini-program (its
//! violation records and the appeals against each, read from WeChat) and the punishments it pushed (kept here).
//! Merchants see their own mini-programs', the component's operators any.
use serde_json::{json, Value};

use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::access;
use crate::services::tokens::with_authorizer_token;
use crate::store::punishments;

/// Punishments shown with the violations.
const PUNISHMENTS_SHOWN: i32 = 50;

fn illegal_record(r: &Value) -> Value {
    json!({
        "illegalRecordId": r["illegal_record_id"],
        "createTime": r["create_time"],
        "illegalReason": r["illegal_reason"],
        "illegalContent": r["illegal_content"],
        "ruleName": r["rule_name"],
        "ruleUrl": r["rule_url"],
    })
}

fn appeal_status(code: Option<i64>) -> &'static str {
    match code {
        Some(1) => "processing",
        Some(2) => "approved",
        Some(3) => "rejected",
        Some(4) => "withdrawn",
        _ => "unknown",
    }
}

fn appeal_record(r: &Value) -> Value {
    json!({
        "appealRecordId": r["appeal_record_id"],
        "appealTime": r["appeal_time"],
        "appealCount": r["appeal_count"],
        "appealFrom": if r["appeal_from"].as_i64() == Some(1) { "provider" } else { "owner" },
        "appealStatus": appeal_status(r["appeal_status"].as_i64()),
        "appealStatusCode": r["appeal_status"],
        "auditTime": r["audit_time"],
        "auditReason": r["audit_reason"],
        "punishDescription": r["punish_description"],
    })
}

fn records(v: &Value, view: fn(&Value) -> Value) -> Vec<Value> {
    v["records"]
        .as_array()
        .map(|r| r.iter().map(view).collect())
        .unwrap_or_default()
}

pub async fn violations(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<Value> {
    access::owned_mini_program(deps, caller, component, appid).await?;
    let got = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.illegal_records(&aat, &json!({})).await
    })
    .await?;
    let punished = punishments::latest(&deps.table, component, appid, PUNISHMENTS_SHOWN).await?;
    Ok(json!({
        "maAppId": appid,
        "illegalRecords": records(&got, illegal_record),
        "punishments": punished,
    }))
}

pub async fn appeals(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
    record_id: &str,
) -> AppResult<Value> {
    if record_id.is_empty()
        || record_id.len() > 64
        || !record_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AppError::BadRequest(
            "illegalRecordId must be 1 to 64 letters, digits, - or _".into(),
        ));
    }
    access::owned_mini_program(deps, caller, component, appid).await?;
    let got = with_authorizer_token(deps, component, appid, |aat| async move {
        deps.wechat.appeal_records(&aat, record_id).await
    })
    .await?;
    Ok(json!({
        "maAppId": appid,
        "illegalRecordId": record_id,
        "appeals": records(&got, appeal_record),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechats_records_are_shown_in_the_apis_words() {
        let got = json!({"records": [{"appeal_record_id": 5, "appeal_time": 1, "appeal_count": 1, "appeal_from": 1,
                                      "appeal_status": 3, "audit_time": 2, "audit_reason": "no",
                                      "punish_description": "ban"}]});
        let shown = records(&got, appeal_record);
        assert_eq!(
            (&shown[0]["appealStatus"], &shown[0]["appealFrom"]),
            (&json!("rejected"), &json!("provider"))
        );
        assert_eq!(records(&json!({}), illegal_record), Vec::<Value>::new());
        assert_eq!(appeal_status(Some(9)), "unknown");
    }
}
