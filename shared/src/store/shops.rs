//! Merchants' shops (seed 000): `SK=SHOP#{merchant}#{shopId}` with its name, its mini-program and official account,
//! and `SK=SHOPLINK#{maAppId}` naming the one shop a mini-program belongs to, written in the same transaction as
//! the shop.
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::authorizers::Page;
use super::item::{built, get_n, get_s, key, n, require_s, s, Item};
use super::{component_pk, StoreError, Table};

#[derive(Debug, Clone, PartialEq)]
pub struct Shop {
    pub id: String,
    pub merchant: String,
    pub name: String,
    pub ma_app_id: Option<String>,
    pub official_account_app_id: Option<String>,
    pub version: i64,
    pub create_time: i64,
    pub update_time: i64,
}

/// The shop a mini-program belongs to (its name as of the shop's last write).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub shop_id: String,
    pub merchant: String,
    pub shop_name: Option<String>,
}

fn prefix(merchant: &str) -> String {
    format!("SHOP#{merchant}#")
}

fn shop_sk(merchant: &str, id: &str) -> String {
    format!("{}{id}", prefix(merchant))
}

pub(super) fn link_sk(appid: &str) -> String {
    format!("SHOPLINK#{appid}")
}

fn from_item(item: &Item) -> Result<Shop, StoreError> {
    Ok(Shop {
        id: require_s(item, "shop_id")?,
        merchant: require_s(item, "merchant")?,
        name: require_s(item, "name")?,
        ma_app_id: get_s(item, "ma_app_id"),
        official_account_app_id: get_s(item, "oa_app_id"),
        version: get_n(item, "version").unwrap_or(1),
        create_time: get_n(item, "create_time").unwrap_or(0),
        update_time: get_n(item, "update_time").unwrap_or(0),
    })
}

fn item_of(component: &str, shop: &Shop) -> Item {
    let mut item = key(component_pk(component), shop_sk(&shop.merchant, &shop.id));
    item.insert("shop_id".into(), s(&shop.id));
    item.insert("merchant".into(), s(&shop.merchant));
    item.insert("name".into(), s(&shop.name));
    if let Some(a) = &shop.ma_app_id {
        item.insert("ma_app_id".into(), s(a));
    }
    if let Some(a) = &shop.official_account_app_id {
        item.insert("oa_app_id".into(), s(a));
    }
    item.insert("version".into(), n(shop.version));
    item.insert("create_time".into(), n(shop.create_time));
    item.insert("update_time".into(), n(shop.update_time));
    item
}

pub async fn get(
    table: &Table,
    component: &str,
    merchant: &str,
    id: &str,
) -> Result<Option<Shop>, StoreError> {
    table
        .get(
            component_pk(component),
            shop_sk(merchant, id),
            "GetItem shop",
        )
        .await?
        .map(|i| from_item(&i))
        .transpose()
}

pub async fn link(table: &Table, component: &str, appid: &str) -> Result<Option<Link>, StoreError> {
    Ok(table
        .get(component_pk(component), link_sk(appid), "GetItem shop link")
        .await?
        .and_then(|i| link_of(&i)))
}

/// The attributes `link_of` reads.
pub(super) const LINK_ATTRIBUTES: &str = "shop_id, merchant, shop_name";

pub(super) fn link_of(item: &Item) -> Option<Link> {
    Some(Link {
        shop_id: get_s(item, "shop_id")?,
        merchant: get_s(item, "merchant")?,
        shop_name: get_s(item, "shop_name"),
    })
}

/// A merchant's shops, in id order (ids begin with their creation time in milliseconds, so oldest first).
pub async fn list(
    table: &Table,
    component: &str,
    merchant: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Shop>, StoreError> {
    let (pk, prefix) = (component_pk(component), prefix(merchant));
    table
        .page_prefix(pk, prefix, false, limit, cursor, "Query shops", from_item)
        .await
}

/// How the shop's mini-program link changes in a write.
pub enum LinkChange<'a> {
    /// The shop keeps its mini-program (if any): the link is rewritten with the shop's name.
    Keep,
    /// The shop takes the mini-program: nobody's link (`taken_from` None), or a link left by a merchant who no
    /// longer owns the mini-program (its shop loses it in the same transaction).
    Take {
        appid: &'a str,
        taken_from: Option<&'a Link>,
    },
    /// The shop lets its mini-program go.
    Drop { appid: &'a str },
}

fn link_put(
    table: &Table,
    component: &str,
    shop: &Shop,
    appid: &str,
    from: Option<&Link>,
) -> TransactWriteItem {
    let mut item = key(component_pk(component), link_sk(appid));
    item.insert("shop_id".into(), s(&shop.id));
    item.insert("merchant".into(), s(&shop.merchant));
    item.insert("shop_name".into(), s(&shop.name));
    let put = Put::builder().table_name(&table.name).set_item(Some(item));
    let put = match from {
        None => put.condition_expression("attribute_not_exists(PK)"),
        Some(old) => put
            .condition_expression("shop_id = :old")
            .expression_attribute_values(":old", s(&old.shop_id)),
    };
    TransactWriteItem::builder().put(built(put.build())).build()
}

fn link_delete(table: &Table, component: &str, shop_id: &str, appid: &str) -> TransactWriteItem {
    let delete = Delete::builder()
        .table_name(&table.name)
        .set_key(Some(key(component_pk(component), link_sk(appid))))
        .condition_expression("shop_id = :mine")
        .expression_attribute_values(":mine", s(shop_id));
    TransactWriteItem::builder()
        .delete(built(delete.build()))
        .build()
}

/// The former owner's shop loses the mini-program it no longer owns.
fn taken_from_shop(
    table: &Table,
    component: &str,
    old: &Link,
    appid: &str,
    now: i64,
) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(
            component_pk(component),
            shop_sk(&old.merchant, &old.shop_id),
        )))
        .update_expression("REMOVE ma_app_id SET version = version + :one, update_time = :now")
        .condition_expression("ma_app_id = :appid")
        .expression_attribute_values(":appid", s(appid))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", n(now));
    TransactWriteItem::builder()
        .update(built(update.build()))
        .build()
}

fn link_items(
    table: &Table,
    component: &str,
    shop: &Shop,
    change: &LinkChange<'_>,
) -> Vec<TransactWriteItem> {
    match change {
        LinkChange::Keep => match &shop.ma_app_id {
            // Only while the link is still this shop's (the same condition as taking it from itself).
            Some(appid) => vec![link_put(
                table,
                component,
                shop,
                appid,
                Some(&Link {
                    shop_id: shop.id.clone(),
                    merchant: shop.merchant.clone(),
                    shop_name: None,
                }),
            )],
            None => vec![],
        },
        LinkChange::Take { appid, taken_from } => {
            let mut out = vec![link_put(table, component, shop, appid, *taken_from)];
            if let Some(old) = taken_from {
                out.push(taken_from_shop(
                    table,
                    component,
                    old,
                    appid,
                    shop.update_time,
                ));
            }
            out
        }
        LinkChange::Drop { appid } => vec![link_delete(table, component, &shop.id, appid)],
    }
}

/// Writes a new shop with its link. False: the mini-program's link changed meanwhile (nothing written).
pub async fn create(
    table: &Table,
    component: &str,
    shop: &Shop,
    change: LinkChange<'_>,
) -> Result<bool, StoreError> {
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(item_of(component, shop)));
    for item in link_items(table, component, shop, &change) {
        tx = tx.transact_items(item);
    }
    table.transact(tx, "TransactWriteItems create shop").await
}

/// Replaces the shop (at `version`, which `shop` carries plus one) with its link changes. False: the shop or
/// the link changed meanwhile (nothing written).
pub async fn replace(
    table: &Table,
    component: &str,
    shop: &Shop,
    version: i64,
    change: LinkChange<'_>,
) -> Result<bool, StoreError> {
    let put = Put::builder()
        .table_name(&table.name)
        .set_item(Some(item_of(component, shop)))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", n(version));
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(built(put.build())).build());
    for item in link_items(table, component, shop, &change) {
        tx = tx.transact_items(item);
    }
    table.transact(tx, "TransactWriteItems update shop").await
}

/// Deletes the shop (at `version`) and its link. False: it changed meanwhile.
pub async fn delete(table: &Table, component: &str, shop: &Shop) -> Result<bool, StoreError> {
    let delete = Delete::builder()
        .table_name(&table.name)
        .set_key(Some(key(
            component_pk(component),
            shop_sk(&shop.merchant, &shop.id),
        )))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", n(shop.version));
    let mut tx = table.client().transact_write_items().transact_items(
        TransactWriteItem::builder()
            .delete(built(delete.build()))
            .build(),
    );
    if let Some(appid) = &shop.ma_app_id {
        tx = tx.transact_items(link_delete(table, component, &shop.id, appid));
    }
    table.transact(tx, "TransactWriteItems delete shop").await
}
