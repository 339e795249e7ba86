//! Testers we bound (`SK=TESTER#{maAppId}#{userstr}`): WeChat lists testers only by an opaque `userstr`, so the
//! WeChat id a merchant typed is kept here to show them who is who.
use super::item::{get_n, get_s, key, n, s};
use super::{component_pk, StoreError, Table};

fn sk(appid: &str, userstr: &str) -> String {
    format!("TESTER#{appid}#{userstr}")
}

pub async fn put(
    table: &Table,
    component: &str,
    appid: &str,
    userstr: &str,
    wechat_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let mut item = key(component_pk(component), sk(appid, userstr));
    item.insert("wechat_id".into(), s(wechat_id));
    item.insert("bound_at".into(), n(now));
    table.put(item, "PutItem tester").await
}

/// (userstr, wechat id, bound at) of the testers bound through the platform.
pub async fn list(
    table: &Table,
    component: &str,
    appid: &str,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let prefix = format!("TESTER#{appid}#");
    let out = table
        .query_prefix(component_pk(component), prefix.clone())
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query testers", e))?;
    Ok(out
        .items()
        .iter()
        .filter_map(|i| {
            let userstr = get_s(i, "SK")?.strip_prefix(&prefix)?.to_owned();
            Some((
                userstr,
                get_s(i, "wechat_id").unwrap_or_default(),
                get_n(i, "bound_at").unwrap_or(0),
            ))
        })
        .collect())
}

pub async fn delete(
    table: &Table,
    component: &str,
    appid: &str,
    userstr: &str,
) -> Result<(), StoreError> {
    table
        .client()
        .delete_item()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), sk(appid, userstr))))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StoreError::dynamo("DeleteItem tester", e))
}
