//! A mini-program's goods categories and products (the runtime API), in its `RT#{component}#{appid}` partition.
//! `SK=CAT#{id}` a category with the counts of its children and products (kept in the transactions that change
//! them, so a category still in use is never deleted), `SK=CATCOUNT` how many categories there are (the cap),
//! `SK=PROD#{id}` a product; products on sale in a category carry `GSI1PK=RTCAT#{pk}#{categoryId}`,
//! `GSI1SK={sort:04}#{id}`, the customers' list of a category.
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::authorizers::Page;
use super::item::{built, get_n, get_s, key, n, require_s, s, Item};
use super::{StoreError, Table};
use crate::domain::runtime::{Category, Product, ProductInput};

/// At most this many categories in one mini-program.
pub const MAX_CATEGORIES: i64 = 200;

fn category_sk(id: &str) -> String {
    format!("CAT#{id}")
}

fn product_sk(id: &str) -> String {
    format!("PROD#{id}")
}

fn shelf(pk: &str, category: &str) -> String {
    format!("RTCAT#{pk}#{category}")
}

fn shelf_sk(sort: i64, id: &str) -> String {
    format!("{sort:04}#{id}")
}

fn update(table: &Table, pk: &str, sk: String) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), sk)))
}

fn tx_update(u: aws_sdk_dynamodb::types::builders::UpdateBuilder) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(built(u.build()))
        .build()
}

/// `counter` of the category moves by `delta`; the category must exist (a product cannot land in a deleted one).
fn count_in_category(
    table: &Table,
    pk: &str,
    category: &str,
    counter: &str,
    delta: i64,
) -> TransactWriteItem {
    tx_update(
        update(table, pk, category_sk(category))
            .update_expression("SET #c = if_not_exists(#c, :zero) + :d")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#c", counter)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":d", n(delta)),
    )
}

fn category_of(item: &Item) -> Result<Category, StoreError> {
    Ok(Category {
        id: require_s(item, "id")?,
        name: require_s(item, "name")?,
        parent_id: get_s(item, "parent"),
        sort: get_n(item, "sort").unwrap_or(0),
        children: get_n(item, "children").unwrap_or(0),
        products: get_n(item, "products").unwrap_or(0),
        version: get_n(item, "version").unwrap_or(0),
    })
}

pub async fn category(table: &Table, pk: &str, id: &str) -> Result<Option<Category>, StoreError> {
    table
        .get(pk.to_owned(), category_sk(id), "GetItem category")
        .await?
        .map(|i| category_of(&i))
        .transpose()
}

/// Every category of the mini-program (at most `MAX_CATEGORIES`, so one bounded read).
pub async fn categories(table: &Table, pk: &str) -> Result<Vec<Category>, StoreError> {
    let page = table
        .page_prefix(
            pk.to_owned(),
            "CAT#".into(),
            false,
            MAX_CATEGORIES as i32,
            None,
            "Query categories",
            category_of,
        )
        .await?;
    Ok(page.items)
}

/// A new category, counted, and under a top-level parent when it has one (the parent's child count moves in the
/// same transaction; a parent that is itself a child, or gone, fails it). False: a condition failed.
pub async fn create_category(table: &Table, pk: &str, c: &Category) -> Result<bool, StoreError> {
    let mut item = key(pk.to_owned(), category_sk(&c.id));
    item.insert("id".into(), s(&c.id));
    item.insert("name".into(), s(&c.name));
    item.insert("sort".into(), n(c.sort));
    item.insert("version".into(), n(1));
    if let Some(p) = &c.parent_id {
        item.insert("parent".into(), s(p));
    }
    let counted = update(table, pk, "CATCOUNT".into())
        .update_expression("SET #n = if_not_exists(#n, :zero) + :one")
        .condition_expression("attribute_not_exists(#n) OR #n < :cap")
        .expression_attribute_names("#n", "n")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":cap", n(MAX_CATEGORIES));
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(item))
        .transact_items(tx_update(counted));
    if let Some(parent) = &c.parent_id {
        tx = tx.transact_items(tx_update(
            update(table, pk, category_sk(parent))
                .update_expression("SET #children = if_not_exists(#children, :zero) + :one")
                .condition_expression("attribute_exists(PK) AND attribute_not_exists(#parent)")
                .expression_attribute_names("#children", "children")
                .expression_attribute_names("#parent", "parent")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1)),
        ));
    }
    table.transact(tx, "TransactWriteItems category").await
}

/// A category's name and place, at the version read. False when it changed or is gone.
pub async fn rename_category(
    table: &Table,
    pk: &str,
    id: &str,
    name: &str,
    sort: i64,
    version: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(pk.to_owned(), category_sk(id))
        .update_expression("SET #name = :name, #sort = :sort, version = version + :one")
        .condition_expression("version = :v")
        .expression_attribute_names("#name", "name")
        .expression_attribute_names("#sort", "sort")
        .expression_attribute_values(":name", s(name))
        .expression_attribute_values(":sort", n(sort))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":v", n(version))
        .send()
        .await;
    super::item::applied("UpdateItem category", res)
}

/// Deletes a category with no children and no products (seed 304 otherwise), uncounting it (and it from its
/// parent). False: it is gone, changed, or in use.
pub async fn delete_category(table: &Table, pk: &str, c: &Category) -> Result<bool, StoreError> {
    let gone = Delete::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), category_sk(&c.id))))
        .condition_expression(
            "version = :v AND (attribute_not_exists(#children) OR #children = :zero) \
             AND (attribute_not_exists(#products) OR #products = :zero)",
        )
        .expression_attribute_names("#children", "children")
        .expression_attribute_names("#products", "products")
        .expression_attribute_values(":v", n(c.version))
        .expression_attribute_values(":zero", n(0));
    let uncounted = update(table, pk, "CATCOUNT".into())
        .update_expression("SET #n = #n - :one")
        .expression_attribute_names("#n", "n")
        .expression_attribute_values(":one", n(1));
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .delete(built(gone.build()))
                .build(),
        )
        .transact_items(tx_update(uncounted));
    if let Some(parent) = &c.parent_id {
        tx = tx.transact_items(count_in_category(table, pk, parent, "children", -1));
    }
    table
        .transact(tx, "TransactWriteItems category delete")
        .await
}

fn product_of(item: &Item) -> Result<Product, StoreError> {
    let input: ProductInput = serde_json::from_str(&require_s(item, "input")?)
        .map_err(|_| StoreError::Malformed("attribute input".into()))?;
    Ok(Product {
        id: require_s(item, "id")?,
        input,
        forwards: get_n(item, "forwards").unwrap_or(0),
        version: get_n(item, "version").unwrap_or(0),
        updated_ms: get_n(item, "updated_ms").unwrap_or(0),
    })
}

pub async fn product(table: &Table, pk: &str, id: &str) -> Result<Option<Product>, StoreError> {
    table
        .get(pk.to_owned(), product_sk(id), "GetItem product")
        .await?
        .map(|i| product_of(&i))
        .transpose()
}

/// Writes a product — new (`before` None) or replacing `before` at its version — and moves the product counts of
/// the categories it leaves and joins, in one transaction. False: a condition failed (the product changed, or a
/// category it joins is gone).
pub async fn save_product(
    table: &Table,
    pk: &str,
    id: &str,
    input: &ProductInput,
    before: Option<&Product>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let shelved = match (input.on_sale, &input.category_id) {
        (true, Some(category)) => Some((shelf(pk, category), shelf_sk(input.sort, id))),
        _ => None,
    };
    // An update, not a put: the forward count is the customers', never rewritten by the merchant's save.
    let mut write = update(table, pk, product_sk(id))
        .update_expression(format!(
            "SET #id = :id, #input = :input, version = :next, updated_ms = :now, \
             forwards = if_not_exists(forwards, :zero){}",
            if shelved.is_some() {
                ", GSI1PK = :g, GSI1SK = :gs"
            } else {
                " REMOVE GSI1PK, GSI1SK"
            }
        ))
        .expression_attribute_names("#id", "id")
        .expression_attribute_names("#input", "input")
        .expression_attribute_values(":id", s(id))
        .expression_attribute_values(
            ":input",
            s(serde_json::to_string(input).expect("a product serializes")),
        )
        .expression_attribute_values(":next", n(before.map_or(1, |b| b.version + 1)))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":zero", n(0));
    if let Some((g, gs)) = shelved {
        write = write
            .expression_attribute_values(":g", s(g))
            .expression_attribute_values(":gs", s(gs));
    }
    write = match before {
        None => write.condition_expression("attribute_not_exists(PK)"),
        Some(b) => write
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(b.version)),
    };
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(tx_update(write));
    let left = before.and_then(|b| b.input.category_id.as_deref());
    let joins = input.category_id.as_deref();
    if left != joins {
        if let Some(c) = left {
            tx = tx.transact_items(count_in_category(table, pk, c, "products", -1));
        }
        if let Some(c) = joins {
            tx = tx.transact_items(count_in_category(table, pk, c, "products", 1));
        }
    }
    table.transact(tx, "TransactWriteItems product").await
}

/// Deletes the product at its version and uncounts it from its category. False: changed or gone.
pub async fn delete_product(table: &Table, pk: &str, p: &Product) -> Result<bool, StoreError> {
    let gone = Delete::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), product_sk(&p.id))))
        .condition_expression("version = :v")
        .expression_attribute_values(":v", n(p.version));
    let mut tx = table.client().transact_write_items().transact_items(
        TransactWriteItem::builder()
            .delete(built(gone.build()))
            .build(),
    );
    if let Some(c) = &p.input.category_id {
        tx = tx.transact_items(count_in_category(table, pk, c, "products", -1));
    }
    table
        .transact(tx, "TransactWriteItems product delete")
        .await
}

/// One page of the mini-program's products in id order (all of them: the merchant's list).
pub async fn products(
    table: &Table,
    pk: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Product>, StoreError> {
    table
        .page_prefix(
            pk.to_owned(),
            "PROD#".into(),
            false,
            limit,
            cursor,
            "Query products",
            product_of,
        )
        .await
}

/// One page of the products on sale in a category, in `sort` order (the customers' shelf).
pub async fn shelf_page(
    table: &Table,
    pk: &str,
    category: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Product>, StoreError> {
    table
        .page_gsi1(
            &shelf(pk, category),
            false,
            limit,
            cursor,
            // The cursor is the last item's GSI1SK (`{sort}#{id}`): its table key follows from the id.
            |last| {
                let id = last.split_once('#').map(|(_, id)| id).unwrap_or_default();
                key(pk.to_owned(), product_sk(id))
            },
            "Query shelf",
            product_of,
        )
        .await
}

/// One more forward of the product, read back. None when there is no such product.
pub async fn count_forward(
    table: &Table,
    pk: &str,
    id: &str,
) -> Result<Option<Product>, StoreError> {
    super::runtime::add_one(
        table,
        pk,
        product_sk(id),
        "forwards",
        "UpdateItem product forward",
    )
    .await?
    .as_ref()
    .map(product_of)
    .transpose()
}
