//! Chat records, in the mini-program's runtime partition (`RT#{component}#{appid}`, see `store::runtime`):
//! `SK=CONV#{staffId}#{customerId}` a conversation: its last sequence number, each side's unread count, the last
//! message's preview; `GSI1PK={pk}#CONV#{staffId}`, `GSI1SK={updated_ms:013}#{customerId}` list a staff member's
//! conversations, latest first. `SK=STAFFACCT#{customerId}` names the staff member whose account that customer is.
//! The unread totals live on the customer (`CUST#…`) and staff (`STAFF#…`) records as `chat_unread`.
//! Messages have a partition per conversation, `{pk}#CHAT#{staffId}#{customerId}`: `SK=MSG#{seq:010}` a message,
//! `SK=CMID#{clientMsgId}` the claim of a client's message id.
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::authorizers::Page;
use super::item::{built, get_n, get_s, key, n, require_s, s, Item};
use super::runtime::{customer_sk, staff_sk};
use super::{StoreError, Table};
use crate::domain::chat::{Ask, InfoType, Message, ProductCard, Side};

fn conv_sk(staff: &str, customer: &str) -> String {
    format!("CONV#{staff}#{customer}")
}

fn chat_pk(pk: &str, staff: &str, customer: &str) -> String {
    format!("{pk}#CHAT#{staff}#{customer}")
}

fn msg_sk(seq: i64) -> String {
    format!("MSG#{seq:010}")
}

fn conversations_of(pk: &str, staff: &str) -> String {
    format!("{pk}#CONV#{staff}")
}

pub fn account_sk(customer: &str) -> String {
    format!("STAFFACCT#{customer}")
}

/// The record whose `chat_unread` is a side's total.
fn party_sk(side: Side, staff: &str, customer: &str) -> String {
    match side {
        Side::Staff => staff_sk(staff),
        Side::Customer => customer_sk(customer),
    }
}

fn unread_attr(side: Side) -> &'static str {
    match side {
        Side::Staff => "unread_staff",
        Side::Customer => "unread_customer",
    }
}

#[derive(Debug, Clone)]
pub struct Conversation {
    pub staff_id: String,
    pub customer_id: String,
    pub seq: i64,
    pub unread_customer: i64,
    pub unread_staff: i64,
    pub last_from: Option<Side>,
    pub last_preview: String,
    pub updated_ms: i64,
}

impl Conversation {
    pub fn unread(&self, side: Side) -> i64 {
        match side {
            Side::Staff => self.unread_staff,
            Side::Customer => self.unread_customer,
        }
    }
}

fn conversation_of(item: &Item) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        staff_id: require_s(item, "staff")?,
        customer_id: require_s(item, "customer")?,
        seq: get_n(item, "seq").unwrap_or(0),
        unread_customer: get_n(item, "unread_customer").unwrap_or(0),
        unread_staff: get_n(item, "unread_staff").unwrap_or(0),
        last_from: get_s(item, "last_from").and_then(|f| Side::parse(&f)),
        last_preview: get_s(item, "last_preview").unwrap_or_default(),
        updated_ms: get_n(item, "updated_ms").unwrap_or(0),
    })
}

fn message_of(item: &Item) -> Result<Message, StoreError> {
    let malformed = || StoreError::Malformed("chat message".into());
    let media = match (get_s(item, "media_key"), get_s(item, "media_type")) {
        (Some(k), Some(t)) => Some((k, t, get_n(item, "media_size").unwrap_or(0))),
        _ => None,
    };
    Ok(Message {
        seq: get_n(item, "seq").ok_or_else(malformed)?,
        from: get_s(item, "from")
            .and_then(|f| Side::parse(&f))
            .ok_or_else(malformed)?,
        info_type: get_n(item, "info_type")
            .and_then(InfoType::from_code)
            .ok_or_else(malformed)?,
        text: get_s(item, "text"),
        product: get_s(item, "product").and_then(|p| serde_json::from_str::<ProductCard>(&p).ok()),
        ask: get_s(item, "ask").and_then(|a| Ask::parse(&a)),
        media,
        client_msg_id: get_s(item, "client_msg_id"),
        sent_ms: get_n(item, "sent_ms").unwrap_or(0),
    })
}

fn message_item(chat: &str, m: &Message) -> Item {
    let mut item = key(chat.to_owned(), msg_sk(m.seq));
    item.insert("seq".into(), n(m.seq));
    item.insert("from".into(), s(m.from.as_str()));
    item.insert("info_type".into(), n(m.info_type.code()));
    item.insert("sent_ms".into(), n(m.sent_ms));
    if let Some(t) = &m.text {
        item.insert("text".into(), s(t.clone()));
    }
    if let Some(p) = &m.product {
        item.insert(
            "product".into(),
            s(serde_json::to_string(p).expect("a product card serialises")),
        );
    }
    if let Some(a) = m.ask {
        item.insert("ask".into(), s(a.as_str()));
    }
    if let Some((k, t, size)) = &m.media {
        item.insert("media_key".into(), s(k.clone()));
        item.insert("media_type".into(), s(t.clone()));
        item.insert("media_size".into(), n(*size));
    }
    if let Some(id) = &m.client_msg_id {
        item.insert("client_msg_id".into(), s(id.clone()));
    }
    item
}

pub async fn conversation(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
) -> Result<Option<Conversation>, StoreError> {
    table
        .get(
            pk.to_owned(),
            conv_sk(staff, customer),
            "GetItem conversation",
        )
        .await?
        .map(|i| conversation_of(&i))
        .transpose()
}

/// Appends `m` as message `m.seq` of the conversation, which must still end at `m.seq - 1`: the message, the
/// conversation's sequence, last message and the receiver's unread count (there and in its total), and the claim of
/// the client's message id, all in one transaction. False when a condition failed (another message took the
/// number, the id was claimed, or the receiver's record is gone); nothing is written then.
pub async fn append(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
    m: &Message,
) -> Result<bool, StoreError> {
    let chat = chat_pk(pk, staff, customer);
    let receiver = m.from.other();
    let mut conv = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), conv_sk(staff, customer))))
        .update_expression(format!(
            "SET seq = :seq, staff = :staff, customer = :customer, last_from = :from, last_preview = :preview, \
             updated_ms = :now, GSI1PK = :g, GSI1SK = :gs ADD {} :one",
            unread_attr(receiver)
        ))
        .expression_attribute_values(":seq", n(m.seq))
        .expression_attribute_values(":staff", s(staff))
        .expression_attribute_values(":customer", s(customer))
        .expression_attribute_values(":from", s(m.from.as_str()))
        .expression_attribute_values(":preview", s(m.preview()))
        .expression_attribute_values(":now", n(m.sent_ms))
        .expression_attribute_values(":g", s(conversations_of(pk, staff)))
        .expression_attribute_values(":gs", s(format!("{:013}#{customer}", m.sent_ms)))
        .expression_attribute_values(":one", n(1));
    conv = if m.seq == 1 {
        conv.condition_expression("attribute_not_exists(seq)")
    } else {
        conv.condition_expression("seq = :prev")
            .expression_attribute_values(":prev", n(m.seq - 1))
    };
    let total = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(
            pk.to_owned(),
            party_sk(receiver, staff, customer),
        )))
        .update_expression("ADD chat_unread :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":one", n(1));
    let put = |item: Item| {
        TransactWriteItem::builder()
            .put(built(
                Put::builder()
                    .table_name(&table.name)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(PK)")
                    .build(),
            ))
            .build()
    };
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(built(conv.build()))
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(built(total.build()))
                .build(),
        )
        .transact_items(put(message_item(&chat, m)));
    if let Some(id) = &m.client_msg_id {
        let mut claim = key(chat.clone(), format!("CMID#{id}"));
        claim.insert("seq".into(), n(m.seq));
        tx = tx.transact_items(put(claim));
    }
    table.transact(tx, "TransactWriteItems chat message").await
}

/// The message a client's message id was sent as, if it was.
pub async fn claimed(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
    client_msg_id: &str,
) -> Result<Option<Message>, StoreError> {
    let chat = chat_pk(pk, staff, customer);
    let Some(seq) = table
        .get(
            chat.clone(),
            format!("CMID#{client_msg_id}"),
            "GetItem chat claim",
        )
        .await?
        .and_then(|i| get_n(&i, "seq"))
    else {
        return Ok(None);
    };
    table
        .get(chat, msg_sk(seq), "GetItem chat message")
        .await?
        .map(|i| message_of(&i))
        .transpose()
}

/// Messages `first..=last` of a conversation, oldest first or newest first, at most `limit`.
#[allow(clippy::too_many_arguments)]
async fn message_range(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
    first: i64,
    last: i64,
    newest_first: bool,
    limit: i32,
) -> Result<Vec<Message>, StoreError> {
    if last < first {
        return Ok(Vec::new());
    }
    let out = table
        .client()
        .query()
        .table_name(&table.name)
        .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
        .expression_attribute_values(":pk", s(chat_pk(pk, staff, customer)))
        .expression_attribute_values(":from", s(msg_sk(first)))
        .expression_attribute_values(":to", s(msg_sk(last)))
        .scan_index_forward(!newest_first)
        .consistent_read(true)
        .limit(limit)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query chat messages", e))?;
    out.items().iter().map(message_of).collect()
}

/// Messages after `after`, oldest first (new messages since a cursor).
pub async fn after(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
    after: i64,
    limit: i32,
) -> Result<Vec<Message>, StoreError> {
    let last = i64::from(i32::MAX);
    message_range(table, pk, staff, customer, after + 1, last, false, limit).await
}

/// Messages before `before` (or the latest), newest first (history, a page at a time).
pub async fn before(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
    before: Option<i64>,
    limit: i32,
) -> Result<Vec<Message>, StoreError> {
    let last = before.map_or(i64::from(i32::MAX), |b| b - 1);
    message_range(table, pk, staff, customer, 1, last, true, limit).await
}

/// Sets `side`'s unread count of the conversation to zero and takes the `seen` it was off that side's total, if the
/// count is still `seen`. False when it changed meanwhile (nothing written).
pub async fn mark_read(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
    side: Side,
    seen: i64,
) -> Result<bool, StoreError> {
    let conv = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), conv_sk(staff, customer))))
        .update_expression("SET #u = :zero")
        .condition_expression("#u = :seen")
        .expression_attribute_names("#u", unread_attr(side))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":seen", n(seen));
    let total = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), party_sk(side, staff, customer))))
        .update_expression("ADD chat_unread :less")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":less", n(-seen));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(built(conv.build()))
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(built(total.build()))
                .build(),
        );
    table.transact(tx, "TransactWriteItems chat read").await
}

/// A side's unread total across its conversations.
pub async fn unread_total(
    table: &Table,
    pk: &str,
    side: Side,
    id: &str,
) -> Result<i64, StoreError> {
    let sk = match side {
        Side::Staff => staff_sk(id),
        Side::Customer => customer_sk(id),
    };
    Ok(table
        .get(pk.to_owned(), sk, "GetItem chat unread total")
        .await?
        .and_then(|i| get_n(&i, "chat_unread"))
        .unwrap_or(0))
}

/// One page of a staff member's conversations, the latest active first.
pub async fn conversations(
    table: &Table,
    pk: &str,
    staff: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Conversation>, StoreError> {
    table
        .page_gsi1(
            &conversations_of(pk, staff),
            true,
            limit,
            cursor,
            // The cursor is the last item's GSI1SK (`{updated}#{customerId}`): its table key follows.
            |last| {
                let customer = last.split_once('#').map(|(_, c)| c).unwrap_or_default();
                key(pk.to_owned(), conv_sk(staff, customer))
            },
            "Query conversations",
            conversation_of,
        )
        .await
}

/// The account a staff card answers chats with: None when there is no such card, Some(None) when it has none.
pub async fn account_of_staff(
    table: &Table,
    pk: &str,
    staff: &str,
) -> Result<Option<Option<String>>, StoreError> {
    Ok(table
        .get(pk.to_owned(), staff_sk(staff), "GetItem staff card")
        .await?
        .map(|i| get_s(&i, "account")))
}

/// The staff member whose account the customer is, if any.
pub async fn staff_of_account(
    table: &Table,
    pk: &str,
    customer: &str,
) -> Result<Option<String>, StoreError> {
    Ok(table
        .get(pk.to_owned(), account_sk(customer), "GetItem staff account")
        .await?
        .and_then(|i| get_s(&i, "staff")))
}

/// Makes `customer` (a customer record the caller has seen: customers are never deleted) the account `staff`
/// answers chats with, in place of `previous` (the account the card named when read). False when the card changed
/// meanwhile, is gone, or the customer is another staff member's account.
pub async fn link_account(
    table: &Table,
    pk: &str,
    staff: &str,
    customer: &str,
    previous: Option<&str>,
) -> Result<bool, StoreError> {
    let mut card = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.to_owned(), staff_sk(staff))))
        .update_expression("SET account = :c")
        .expression_attribute_values(":c", s(customer));
    card = match previous {
        Some(p) => card
            .condition_expression("account = :p")
            .expression_attribute_values(":p", s(p)),
        None => card.condition_expression("attribute_exists(PK) AND attribute_not_exists(account)"),
    };
    let mut link = key(pk.to_owned(), account_sk(customer));
    link.insert("staff".into(), s(staff));
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(built(card.build()))
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .put(built(
                    Put::builder()
                        .table_name(&table.name)
                        .set_item(Some(link))
                        .condition_expression("attribute_not_exists(PK) OR staff = :s")
                        .expression_attribute_values(":s", s(staff))
                        .build(),
                ))
                .build(),
        );
    if let Some(p) = previous.filter(|p| *p != customer) {
        tx = tx.transact_items(
            TransactWriteItem::builder()
                .delete(built(
                    Delete::builder()
                        .table_name(&table.name)
                        .set_key(Some(key(pk.to_owned(), account_sk(p))))
                        .build(),
                ))
                .build(),
        );
    }
    table.transact(tx, "TransactWriteItems staff account").await
}

/// A staff member polling the chat is "in it" for this long; a customer's message then sends no notice.
pub const PRESENT_MS: i64 = 60_000;
/// At most one notice to a staff member this often: one-time subscriptions are scarce.
pub const NOTICE_GAP_MS: i64 = 10 * 60_000;

/// Records that the staff member is in the chat now (written at most every 15 seconds a member).
pub async fn mark_present(
    table: &Table,
    pk: &str,
    staff: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let res = table
        .update(pk.to_owned(), staff_sk(staff))
        .update_expression("SET chat_seen_ms = :now")
        .condition_expression(
            "attribute_exists(PK) AND (attribute_not_exists(chat_seen_ms) OR chat_seen_ms < :stale)",
        )
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":stale", n(now_ms - 15_000))
        .send()
        .await;
    super::item::applied("UpdateItem staff presence", res).map(|_| ())
}

/// Takes the staff member's next notice, if it is away from the chat and was not told within the gap: answers
/// the account to tell. One of two messages at once gets it.
pub async fn claim_notice(
    table: &Table,
    pk: &str,
    staff: &str,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let res = table
        .update(pk.to_owned(), staff_sk(staff))
        .update_expression("SET chat_notice_ms = :now")
        .condition_expression(
            "attribute_exists(account) AND (attribute_not_exists(chat_seen_ms) OR chat_seen_ms < :away) \
             AND (attribute_not_exists(chat_notice_ms) OR chat_notice_ms < :gap)",
        )
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":away", n(now_ms - PRESENT_MS))
        .expression_attribute_values(":gap", n(now_ms - NOTICE_GAP_MS))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .send()
        .await;
    match res {
        Ok(out) => Ok(out.attributes.and_then(|a| get_s(&a, "account"))),
        Err(e) if super::item::is_conditional_failure(&e) => Ok(None),
        Err(e) => Err(StoreError::dynamo("UpdateItem staff notice", e)),
    }
}

/// What became of the staff member's last notice (`sent`, or WeChat's refusal), for the merchant's side to see.
pub async fn record_notice(
    table: &Table,
    pk: &str,
    staff: &str,
    outcome: &str,
) -> Result<(), StoreError> {
    table
        .update(pk.to_owned(), staff_sk(staff))
        .update_expression("SET chat_notice_result = :r")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":r", s(outcome))
        .send()
        .await
        .map(|_| ())
        .or_else(|e| {
            if super::item::is_conditional_failure(&e) {
                Ok(())
            } else {
                Err(StoreError::dynamo("UpdateItem staff notice result", e))
            }
        })
}

/// API Gateway closes a WebSocket connection after two hours at most; its records expire a little later.
pub const CONNECTION_TTL_S: i64 = 2 * 3600 + 60;

fn connection_pk(connection: &str) -> String {
    format!("WSCONN#{connection}")
}

fn socket_prefix(side: Side, id: &str) -> String {
    match side {
        Side::Customer => format!("WS#C#{id}#"),
        Side::Staff => format!("WS#S#{id}#"),
    }
}

/// Records a WebSocket connection of a login: found by the customer it is (and the staff member whose account it
/// is, if any) in the mini-program's partition, and by its id (`WSCONN#{connectionId}`) when it closes.
pub async fn add_connection(
    table: &Table,
    pk: &str,
    connection: &str,
    customer: &str,
    staff: Option<&str>,
    now_s: i64,
) -> Result<(), StoreError> {
    let ttl = n(now_s + CONNECTION_TTL_S);
    let mut keys = vec![format!(
        "{}{connection}",
        socket_prefix(Side::Customer, customer)
    )];
    if let Some(staff) = staff {
        keys.push(format!("{}{connection}", socket_prefix(Side::Staff, staff)));
    }
    let put = |item: Item| {
        TransactWriteItem::builder()
            .put(built(
                Put::builder()
                    .table_name(&table.name)
                    .set_item(Some(item))
                    .build(),
            ))
            .build()
    };
    let mut index = key(connection_pk(connection), "WSCONN".into());
    index.insert("pk".into(), s(pk));
    index.insert("keys".into(), super::item::s_list(&keys));
    index.insert("ttl".into(), ttl.clone());
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(put(index));
    for sk in &keys {
        let mut item = key(pk.to_owned(), sk.clone());
        item.insert("connection".into(), s(connection));
        item.insert("ttl".into(), ttl.clone());
        tx = tx.transact_items(put(item));
    }
    table
        .transact(tx, "TransactWriteItems socket connect")
        .await?;
    Ok(())
}

/// Forgets a connection (closed, or gone when a push found it so); nothing when it is unknown.
pub async fn remove_connection(table: &Table, connection: &str) -> Result<(), StoreError> {
    let Some(index) = table
        .get(connection_pk(connection), "WSCONN".into(), "GetItem socket")
        .await?
    else {
        return Ok(());
    };
    let pk = require_s(&index, "pk")?;
    let delete = |pk: String, sk: String| {
        TransactWriteItem::builder()
            .delete(built(
                Delete::builder()
                    .table_name(&table.name)
                    .set_key(Some(key(pk, sk)))
                    .build(),
            ))
            .build()
    };
    let mut tx = table
        .client()
        .transact_write_items()
        .transact_items(delete(connection_pk(connection), "WSCONN".into()));
    for sk in super::item::get_s_list(&index, "keys") {
        tx = tx.transact_items(delete(pk.clone(), sk));
    }
    table
        .transact(tx, "TransactWriteItems socket disconnect")
        .await?;
    Ok(())
}

/// The open connections of one side's login (at most `limit`; expired records DynamoDB has not removed yet are
/// left out).
pub async fn connections(
    table: &Table,
    pk: &str,
    side: Side,
    id: &str,
    now_s: i64,
    limit: i32,
) -> Result<Vec<String>, StoreError> {
    let out = table
        .query_prefix(pk.to_owned(), socket_prefix(side, id))
        .limit(limit)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query sockets", e))?;
    Ok(out
        .items()
        .iter()
        .filter(|i| get_n(i, "ttl").is_some_and(|t| t > now_s))
        .filter_map(|i| get_s(i, "connection"))
        .collect())
}
