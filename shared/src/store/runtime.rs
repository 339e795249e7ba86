//! What a templated mini-program's own backend keeps (the runtime API), one partition per mini-program of a
//! component: `PK=RT#{component}#{appid}`, so a customer of one shop never reaches another's records and a
//! mini-program that moves to another component starts afresh there.
//! `SK=CUST#{customerId}` a customer (with the session key, never answered), `SK=OPENID#{openid}` makes the first
//! login of an openid create one customer, `SK=STAFF#{staffId}` a staff member's card and its counters,
//! `SK=PRAISE#{target}#{staffId}#{customerId}` one customer's praise of a card or of its signature.
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};

use super::authorizers::Page;
use super::item::{applied, built, get_n, get_s, key, n, require_s, s, Item};
use super::{StoreError, Table};
use crate::domain::runtime::{Binding, Card, Phone, PraiseTarget, Profile, Source, StaffCard};

pub fn pk(component: &str, appid: &str) -> String {
    format!("RT#{component}#{appid}")
}

pub(crate) fn customer_sk(id: &str) -> String {
    format!("CUST#{id}")
}

pub(crate) fn staff_sk(id: &str) -> String {
    format!("STAFF#{id}")
}

fn praise_sk(target: PraiseTarget, staff: &str, customer: &str) -> String {
    format!("PRAISE#{}#{staff}#{customer}", target.as_str())
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub openid: String,
    pub unionid: Option<String>,
    pub binding: Binding,
    pub profile: Option<Profile>,
    pub phone: Option<Phone>,
    pub created_ms: i64,
}

fn json_of<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Option<T> {
    get_s(item, name).and_then(|v| serde_json::from_str(&v).ok())
}

fn customer_of(item: &Item) -> Result<Customer, StoreError> {
    Ok(Customer {
        id: require_s(item, "id")?,
        openid: require_s(item, "openid")?,
        unionid: get_s(item, "unionid"),
        binding: Binding {
            uid: get_s(item, "uid"),
            pid: get_s(item, "pid"),
            source: get_n(item, "source").and_then(Source::from_code),
        },
        profile: json_of(item, "profile"),
        phone: json_of(item, "phone"),
        created_ms: get_n(item, "created_ms").unwrap_or(0),
    })
}

/// The customer who holds `openid` in this mini-program, if it logged in before.
pub async fn customer_by_openid(
    table: &Table,
    pk: &str,
    openid: &str,
) -> Result<Option<Customer>, StoreError> {
    let claim = table
        .get(pk.to_owned(), format!("OPENID#{openid}"), "GetItem openid")
        .await?;
    match claim.and_then(|c| get_s(&c, "customer")) {
        Some(id) => customer(table, pk, &id).await,
        None => Ok(None),
    }
}

pub async fn customer(table: &Table, pk: &str, id: &str) -> Result<Option<Customer>, StoreError> {
    table
        .get(pk.to_owned(), customer_sk(id), "GetItem customer")
        .await?
        .map(|i| customer_of(&i))
        .transpose()
}

/// The first login of an openid: the customer and its openid claim in one transaction. False (nothing written) when
/// a concurrent first login of the same openid got there first.
pub async fn create_customer(
    table: &Table,
    pk: &str,
    c: &Customer,
    session_key: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut claim = key(pk.to_owned(), format!("OPENID#{}", c.openid));
    claim.insert("customer".into(), s(&c.id));
    let mut item = key(pk.to_owned(), customer_sk(&c.id));
    item.insert("id".into(), s(&c.id));
    item.insert("openid".into(), s(&c.openid));
    if let Some(u) = &c.unionid {
        item.insert("unionid".into(), s(u));
    }
    if let Some(uid) = &c.binding.uid {
        item.insert("uid".into(), s(uid));
    }
    if let Some(pid) = &c.binding.pid {
        item.insert("pid".into(), s(pid));
    }
    if let Some(source) = c.binding.source {
        item.insert("source".into(), n(source.code()));
    }
    item.insert("session_key".into(), s(session_key));
    item.insert("created_ms".into(), n(now_ms));
    item.insert("last_login_ms".into(), n(now_ms));
    item.insert("logins".into(), n(1));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(claim))
        .transact_items(table.create_in_transaction(item));
    table.transact(tx, "TransactWriteItems customer").await
}

/// A later login: the new session key (WeChat issues one per login), and the unionid once WeChat tells it. The
/// binding made at the first login is never changed here.
pub async fn record_login(
    table: &Table,
    pk: &str,
    id: &str,
    session_key: &str,
    unionid: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut expression =
        "SET session_key = :k, last_login_ms = :now, logins = logins + :one".to_owned();
    if unionid.is_some() {
        expression.push_str(", unionid = if_not_exists(unionid, :u)");
    }
    let mut update = table
        .update(pk.to_owned(), customer_sk(id))
        .update_expression(expression)
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":k", s(session_key))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":one", n(1));
    if let Some(u) = unionid {
        update = update.expression_attribute_values(":u", s(u));
    }
    update
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StoreError::dynamo("UpdateItem customer login", e))
}

fn staff_of(item: &Item) -> Result<StaffCard, StoreError> {
    let text = |name: &str| get_s(item, name).unwrap_or_default();
    Ok(StaffCard {
        id: require_s(item, "id")?,
        card: Card {
            name: require_s(item, "name")?,
            avatar: text("avatar"),
            card_avatar: text("card_avatar"),
            company: text("company"),
            address: text("address"),
            position: text("position"),
            email: text("email"),
            wechat_id: text("wechat_id"),
            phone: text("phone"),
            signature: text("signature"),
        },
        views: get_n(item, "views").unwrap_or(0),
        praises: get_n(item, "praises").unwrap_or(0),
        signature_praises: get_n(item, "signature_praises").unwrap_or(0),
        forwards: get_n(item, "forwards").unwrap_or(0),
        calls: get_n(item, "calls").unwrap_or(0),
        wechat_saves: get_n(item, "wechat_saves").unwrap_or(0),
        version: get_n(item, "version").unwrap_or(0),
        updated_ms: get_n(item, "updated_ms").unwrap_or(0),
    })
}

/// Writes a staff member's card: a new one (`version` None; false when the id is taken), or the one at `version`
/// (false when it changed or is gone). Counters are never touched here.
pub async fn save_staff(
    table: &Table,
    pk: &str,
    id: &str,
    card: &Card,
    version: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let fields = [
        ("name", &card.name),
        ("avatar", &card.avatar),
        ("card_avatar", &card.card_avatar),
        ("company", &card.company),
        ("address", &card.address),
        ("position", &card.position),
        ("email", &card.email),
        ("wechat_id", &card.wechat_id),
        ("phone", &card.phone),
        ("signature", &card.signature),
    ];
    // Field names through placeholders: several (name, position) are DynamoDB reserved words.
    let sets: Vec<String> = fields.iter().map(|(f, _)| format!("#{f} = :{f}")).collect();
    let mut update = table
        .update(pk.to_owned(), staff_sk(id))
        .update_expression(format!(
            "SET #id = :id, {}, updated_ms = :now, version = :next",
            sets.join(", ")
        ))
        .expression_attribute_names("#id", "id")
        .expression_attribute_values(":id", s(id))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":next", n(version.unwrap_or(0) + 1));
    for (f, v) in fields {
        update = update
            .expression_attribute_names(format!("#{f}"), f)
            .expression_attribute_values(format!(":{f}"), s(v.as_str()));
    }
    update = match version {
        None => update.condition_expression("attribute_not_exists(PK)"),
        Some(v) => update
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(v)),
    };
    applied("UpdateItem staff", update.send().await)
}

pub async fn staff(table: &Table, pk: &str, id: &str) -> Result<Option<StaffCard>, StoreError> {
    table
        .get(pk.to_owned(), staff_sk(id), "GetItem staff")
        .await?
        .map(|i| staff_of(&i))
        .transpose()
}

/// One page of the mini-program's staff cards, in id order.
pub async fn staff_page(
    table: &Table,
    pk: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<StaffCard>, StoreError> {
    table
        .page_prefix(
            pk.to_owned(),
            "STAFF#".into(),
            false,
            limit,
            cursor,
            "Query staff",
            staff_of,
        )
        .await
}

/// Removes a staff member's card, and the link of the login it answered chats with in the same transaction (false
/// when it is gone already). Customers bound to it keep their binding; its conversations stay readable.
pub async fn delete_staff(table: &Table, pk: &str, id: &str) -> Result<bool, StoreError> {
    // A link made between the read and the delete fails the condition: read again.
    for _ in 0..3 {
        let Some(card) = table
            .get(pk.to_owned(), staff_sk(id), "GetItem staff")
            .await?
        else {
            return Ok(false);
        };
        let delete_card = Delete::builder()
            .table_name(&table.name)
            .set_key(Some(key(pk.to_owned(), staff_sk(id))));
        let done = match get_s(&card, "account") {
            None => {
                let res = table
                    .client()
                    .delete_item()
                    .table_name(&table.name)
                    .set_key(Some(key(pk.to_owned(), staff_sk(id))))
                    .condition_expression("attribute_exists(PK) AND attribute_not_exists(account)")
                    .send()
                    .await;
                applied("DeleteItem staff", res)?
            }
            Some(account) => {
                let link = Delete::builder()
                    .table_name(&table.name)
                    .set_key(Some(key(pk.to_owned(), super::chat::account_sk(&account))))
                    .condition_expression("staff = :id")
                    .expression_attribute_values(":id", s(id));
                let tx = table
                    .client()
                    .transact_write_items()
                    .transact_items(
                        TransactWriteItem::builder()
                            .delete(built(
                                delete_card
                                    .condition_expression("account = :a")
                                    .expression_attribute_values(":a", s(account))
                                    .build(),
                            ))
                            .build(),
                    )
                    .transact_items(
                        TransactWriteItem::builder()
                            .delete(built(link.build()))
                            .build(),
                    );
                table
                    .transact(tx, "TransactWriteItems staff delete")
                    .await?
            }
        };
        if done {
            return Ok(true);
        }
    }
    Err(StoreError::Busy("staff delete"))
}

/// A card view: one more visit counted and the card read back in the same call. None when there is no such card.
pub async fn view_card(table: &Table, pk: &str, id: &str) -> Result<Option<StaffCard>, StoreError> {
    count(table, pk, id, "views").await
}

/// One more of `counter` (`views`, `forwards`, `calls`, `wechat_saves`) on the card, read back.
pub async fn count(
    table: &Table,
    pk: &str,
    id: &str,
    counter: &'static str,
) -> Result<Option<StaffCard>, StoreError> {
    add_one(table, pk, staff_sk(id), counter, "UpdateItem staff counter")
        .await?
        .as_ref()
        .map(staff_of)
        .transpose()
}

/// One more of `counter` on an existing record, which is read back in the same call. None when there is no record.
pub(super) async fn add_one(
    table: &Table,
    pk: &str,
    sk: String,
    counter: &str,
    operation: &'static str,
) -> Result<Option<Item>, StoreError> {
    let res = table
        .update(pk.to_owned(), sk)
        .update_expression("SET #c = if_not_exists(#c, :zero) + :one")
        .expression_attribute_names("#c", counter)
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match res {
        Ok(out) => Ok(out.attributes),
        Err(e) if super::item::is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(StoreError::dynamo(operation, e)),
    }
}

/// Whether the customer praises the card, and its signature.
pub async fn praised(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
) -> Result<(bool, bool), StoreError> {
    let card = praise_sk(PraiseTarget::Card, staff, customer);
    let signature = praise_sk(PraiseTarget::Signature, staff, customer);
    let found = table
        .batch_get(
            pk,
            &[card.clone(), signature.clone()],
            "SK",
            "BatchGetItem praise",
        )
        .await?;
    let has = |sk: &str| found.iter().any(|i| get_s(i, "SK").as_deref() == Some(sk));
    Ok((has(&card), has(&signature)))
}

/// Sets one customer's praise of a card (or its signature) on or off: the mark and the card's counter change in
/// one transaction, so the same praise twice (or at once) counts once. False when it already was so, or the card
/// is gone (nothing written either way).
pub async fn set_praise(
    table: &Table,
    pk: &str,
    target: PraiseTarget,
    staff: &str,
    customer: &str,
    on: bool,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mark = key(pk.to_owned(), praise_sk(target, staff, customer));
    let counter = target.counter();
    let change = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), staff_sk(staff))))
        .update_expression("SET #c = if_not_exists(#c, :zero) + :d")
        .expression_attribute_names("#c", counter)
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":d", n(if on { 1 } else { -1 }));
    let mark_item = if on {
        let mut item = mark;
        item.insert("at_ms".into(), n(now_ms));
        TransactWriteItem::builder()
            .put(built(
                Put::builder()
                    .table_name(&table.name)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .build(),
            ))
            .build()
    } else {
        TransactWriteItem::builder()
            .delete(built(
                Delete::builder()
                    .table_name(&table.name)
                    .set_key(Some(mark))
                    .condition_expression("attribute_exists(PK)")
                    .build(),
            ))
            .build()
    };
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(mark_item)
        .transact_items(
            TransactWriteItem::builder()
                .update(built(change.build()))
                .build(),
        );
    table.transact(tx, "TransactWriteItems praise").await
}

/// The customer's current session key (for the legacy `encryptedData`); None when there is no such customer.
pub async fn session_key(table: &Table, pk: &str, id: &str) -> Result<Option<String>, StoreError> {
    Ok(table
        .get(pk.to_owned(), customer_sk(id), "GetItem customer")
        .await?
        .and_then(|i| get_s(&i, "session_key")))
}

/// What the customer told about itself, and the form id it sent with it (kept for compatibility: WeChat retired
/// template messages). False when there is no such customer.
pub async fn save_profile(
    table: &Table,
    pk: &str,
    id: &str,
    profile: &Profile,
    form_id: Option<&str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut update = table
        .update(pk.to_owned(), customer_sk(id))
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(
            ":p",
            s(serde_json::to_string(profile).expect("a profile serializes")),
        )
        .expression_attribute_values(":now", n(now_ms));
    update = match form_id {
        Some(f) => update
            .update_expression(
                "SET #profile = :p, profile_ms = :now, last_form_id = :f, form_id_ms = :now",
            )
            .expression_attribute_values(":f", s(f)),
        None => update.update_expression("SET #profile = :p, profile_ms = :now"),
    };
    update = update.expression_attribute_names("#profile", "profile");
    applied("UpdateItem customer profile", update.send().await)
}

/// The customer's phone number as WeChat vouched for it. False when there is no such customer.
pub async fn save_phone(
    table: &Table,
    pk: &str,
    id: &str,
    phone: &Phone,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let res = table
        .update(pk.to_owned(), customer_sk(id))
        .update_expression("SET #phone = :p, phone_ms = :now")
        .expression_attribute_names("#phone", "phone")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(
            ":p",
            s(serde_json::to_string(phone).expect("a phone serializes")),
        )
        .expression_attribute_values(":now", n(now_ms))
        .send()
        .await;
    applied("UpdateItem customer phone", res)
}

/// A document of the mini-program kept whole (`website`, `settings`): its JSON and version, if saved.
pub async fn document(
    table: &Table,
    pk: &str,
    kind: &str,
) -> Result<Option<(String, i64)>, StoreError> {
    Ok(table
        .get(pk.to_owned(), format!("DOC#{kind}"), "GetItem document")
        .await?
        .and_then(|i| Some((get_s(&i, "body")?, get_n(&i, "version").unwrap_or(0)))))
}

/// Saves a document: the first (`version` None; false when one exists) or over the one at `version`.
pub async fn save_document(
    table: &Table,
    pk: &str,
    kind: &str,
    body: &str,
    version: Option<i64>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let update = table
        .update(pk.to_owned(), format!("DOC#{kind}"))
        .update_expression("SET #body = :b, version = :next, updated_ms = :now")
        .expression_attribute_names("#body", "body")
        .expression_attribute_values(":b", s(body))
        .expression_attribute_values(":next", n(version.unwrap_or(0) + 1))
        .expression_attribute_values(":now", n(now_ms));
    let update = match version {
        None => update.condition_expression("attribute_not_exists(PK)"),
        Some(v) => update
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(v)),
    };
    applied("UpdateItem document", update.send().await)
}
