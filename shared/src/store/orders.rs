//! Orders, in the mini-program's runtime partition (`RT#{component}#{appid}`): `SK=ORDER#{outTradeNo}` with its
//! lines, total, state and WeChat Pay's ids; `GSI1PK={pk}#ORDERS#{customerId}`, `GSI1SK={created_ms:013}#{no}`
//! lists a customer's orders, newest first. Every state change is one conditional update from the state it leaves.
use super::authorizers::Page;
use super::item::{get_n, get_s, key, n, require_s, s, Item};
use super::{StoreError, Table};
use crate::domain::orders::{Order, OrderLine, OrderState};

fn order_sk(no: &str) -> String {
    format!("ORDER#{no}")
}

fn order_of(item: &Item) -> Result<Order, StoreError> {
    let malformed = || StoreError::Malformed("order".into());
    Ok(Order {
        out_trade_no: require_s(item, "no")?,
        customer_id: require_s(item, "customer")?,
        lines: get_s(item, "lines")
            .and_then(|l| serde_json::from_str::<Vec<OrderLine>>(&l).ok())
            .ok_or_else(malformed)?,
        total: get_n(item, "total").ok_or_else(malformed)?,
        description: get_s(item, "description").unwrap_or_default(),
        state: get_s(item, "state")
            .and_then(|st| OrderState::parse(&st))
            .ok_or_else(malformed)?,
        sub_mchid: require_s(item, "sub_mchid")?,
        prepay_id: get_s(item, "prepay_id"),
        transaction_id: get_s(item, "transaction_id"),
        refund_id: get_s(item, "refund_id"),
        created_ms: get_n(item, "created_ms").unwrap_or(0),
        paid_ms: get_n(item, "paid_ms"),
    })
}

/// Records a new order; false when one with its number exists (the same create again).
pub async fn create(table: &Table, pk: &str, o: &Order) -> Result<bool, StoreError> {
    let mut item = key(pk.to_owned(), order_sk(&o.out_trade_no));
    item.insert("no".into(), s(o.out_trade_no.clone()));
    item.insert("customer".into(), s(o.customer_id.clone()));
    item.insert(
        "lines".into(),
        s(serde_json::to_string(&o.lines).expect("order lines serialise")),
    );
    item.insert("total".into(), n(o.total));
    item.insert("description".into(), s(o.description.clone()));
    item.insert("state".into(), s(o.state.as_str()));
    item.insert("sub_mchid".into(), s(o.sub_mchid.clone()));
    item.insert("created_ms".into(), n(o.created_ms));
    item.insert("GSI1PK".into(), s(format!("{pk}#ORDERS#{}", o.customer_id)));
    item.insert(
        "GSI1SK".into(),
        s(format!("{:013}#{}", o.created_ms, o.out_trade_no)),
    );
    let res = table
        .client()
        .put_item()
        .table_name(&table.name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await;
    super::item::applied("PutItem order", res)
}

pub async fn get(table: &Table, pk: &str, no: &str) -> Result<Option<Order>, StoreError> {
    table
        .get(pk.to_owned(), order_sk(no), "GetItem order")
        .await?
        .map(|i| order_of(&i))
        .transpose()
}

/// Keeps the prepay id WeChat Pay gave a created order (asking again for the same order gives the same one).
pub async fn set_prepay(
    table: &Table,
    pk: &str,
    no: &str,
    prepay_id: &str,
) -> Result<bool, StoreError> {
    let res = table
        .update(pk.to_owned(), order_sk(no))
        .update_expression("SET prepay_id = :p")
        .condition_expression("#st = :created")
        .expression_attribute_names("#st", "state")
        .expression_attribute_values(":p", s(prepay_id))
        .expression_attribute_values(":created", s(OrderState::Created.as_str()))
        .send()
        .await;
    super::item::applied("UpdateItem order prepay", res)
}

/// Moves an order from `from` to `to`, setting `extra` (name, value) pairs; false when it was not in `from`, or
/// (with `total`) its total is not that amount — nothing written then.
pub async fn transition(
    table: &Table,
    pk: &str,
    no: &str,
    from: OrderState,
    to: OrderState,
    total: Option<i64>,
    extra: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> Result<bool, StoreError> {
    let mut set = String::from("SET #st = :to");
    let mut update = table
        .update(pk.to_owned(), order_sk(no))
        .expression_attribute_names("#st", "state")
        .expression_attribute_values(":to", s(to.as_str()))
        .expression_attribute_values(":from", s(from.as_str()));
    for (i, (name, value)) in extra.iter().enumerate() {
        set.push_str(&format!(", #x{i} = :x{i}"));
        update = update
            .expression_attribute_names(format!("#x{i}"), *name)
            .expression_attribute_values(format!(":x{i}"), value.clone());
    }
    update = match total {
        Some(t) => update
            .condition_expression("#st = :from AND #total = :total")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":total", n(t)),
        None => update.condition_expression("#st = :from"),
    };
    let res = update.update_expression(set).send().await;
    super::item::applied("UpdateItem order state", res)
}

/// One page of a customer's orders, newest first.
pub async fn of_customer(
    table: &Table,
    pk: &str,
    customer: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Order>, StoreError> {
    table
        .page_gsi1(
            &format!("{pk}#ORDERS#{customer}"),
            true,
            limit,
            cursor,
            // The cursor is the last item's GSI1SK (`{created}#{no}`): its table key follows from the number.
            |last| {
                let no = last.split_once('#').map(|(_, no)| no).unwrap_or_default();
                key(pk.to_owned(), order_sk(no))
            },
            "Query customer orders",
            order_of,
        )
        .await
}

/// One page of all the mini-program's orders, by number (the merchant's list).
pub async fn all(
    table: &Table,
    pk: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Order>, StoreError> {
    table
        .page_prefix(
            pk.to_owned(),
            "ORDER#".into(),
            false,
            limit,
            cursor,
            "Query orders",
            order_of,
        )
        .await
}
