//! Chat between a mini-program's customers and its staff (seed 002): `POST /app/chat/send`, `GET
//! /app/chat/messages` (new since a cursor, or history a page at a time), `GET /app/chat/unread`, `POST
//! /app/chat/read`, `POST /app/chat/upload` (images and videos), `GET /app/chat/conversations` (a staff member's).
//! Both sides call with a customer session: a staff member uses the mini-program under the account its merchant
//! linked to the card (`POST /app/staff/account`). The customer side names the staff member (`staffId`), the staff
//! side the customer (`customerId`); nobody reaches a conversation it is not part of.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::chat::{
    media_kind, Ask, Draft, InfoType, Message, ProductCard, SendRequest, Side,
};
use crate::domain::runtime::ShopSettings;
use crate::domain::runtime::{
    valid_id, valid_request_id, CUSTOMER_PREFIX, PRODUCT_PREFIX, STAFF_PREFIX,
};
use crate::error::{AppError, AppResult};
use crate::services::customers::Session;
use crate::services::shop_pages;
use crate::services::tokens::with_authorizer_token;
use crate::store::authorizers::Page;
use crate::store::chat::{self as store, Conversation};
use crate::store::{catalogue, runtime};

/// How often a write that lost a race for the conversation's next number is tried again.
const ATTEMPTS: usize = 5;

/// Who the caller is in one conversation.
#[derive(Debug, Clone)]
pub struct Party {
    pub pk: String,
    pub side: Side,
    pub staff_id: String,
    pub customer_id: String,
}

fn not_staff() -> AppError {
    AppError::Forbidden(
        "this login is no staff member's account: the merchant links it to a card with /app/staff/account".into(),
    )
}

/// The staff member the caller's login answers chats for; the call marks it present in the chat (no notices then).
async fn own_staff(deps: &Deps, session: &Session) -> AppResult<String> {
    let pk = session.pk();
    let staff = store::staff_of_account(&deps.table, &pk, &session.sub)
        .await?
        .ok_or_else(not_staff)?;
    store::mark_present(&deps.table, &pk, &staff, now_millis()).await?;
    Ok(staff)
}

/// Tells the staff member of a customer's message with the shop's subscribe message, when it is away from the chat
/// and was not told within the last minutes. What happens is recorded on the card; nothing here fails the send.
async fn notify_staff(deps: &Deps, session: &Session, party: &Party, m: &Message) {
    if let Err(e) = try_notify_staff(deps, session, party, m).await {
        tracing::warn!(error = %crate::error::chain(&e), staff = %party.staff_id, "chat notice not sent");
        let outcome = match &e {
            AppError::Upstream(w) => format!("refused: {}", w.errcode().unwrap_or(0)),
            _ => "failed".into(),
        };
        let _ = store::record_notice(&deps.table, &party.pk, &party.staff_id, &outcome).await;
    }
}

async fn try_notify_staff(
    deps: &Deps,
    session: &Session,
    party: &Party,
    m: &Message,
) -> AppResult<()> {
    let Some(notice) = shop_pages::load::<ShopSettings>(deps, &party.pk)
        .await?
        .and_then(|(settings, _)| settings.chat_notice)
    else {
        return Ok(());
    };
    let Some(account) =
        store::claim_notice(&deps.table, &party.pk, &party.staff_id, m.sent_ms).await?
    else {
        return Ok(());
    };
    let (login, customer) = tokio::try_join!(
        runtime::customer(&deps.table, &party.pk, &account),
        runtime::customer(&deps.table, &party.pk, &party.customer_id)
    )?;
    let Some(login) = login else { return Ok(()) };
    let name = customer
        .and_then(|c| c.profile)
        .map(|p| p.nick_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "客户".into());
    let time = crate::clock::beijing_datetime(m.sent_ms / 1000);
    let mut body = serde_json::json!({
        "touser": login.openid,
        "template_id": notice.template_id,
        "data": notice.render(&name, &m.preview(), &time[..16]),
        "miniprogram_state": "formal",
    });
    if !notice.page.is_empty() {
        body["page"] = notice.page.clone().into();
    }
    let body = &body;
    with_authorizer_token(deps, &session.cmp, &session.app, |aat| async move {
        deps.wechat.send_subscribe_message(&aat, body).await
    })
    .await?;
    store::record_notice(&deps.table, &party.pk, &party.staff_id, "sent").await?;
    tracing::info!(staff = %party.staff_id, "chat notice sent");
    Ok(())
}

/// The conversation a request names: `staffId` (the caller is the customer) or `customerId` (the caller is the
/// staff member whose account it is).
pub async fn party(
    deps: &Deps,
    session: &Session,
    staff_id: Option<&str>,
    customer_id: Option<&str>,
) -> AppResult<Party> {
    let pk = session.pk();
    match (staff_id, customer_id) {
        (Some(staff), None) => {
            if !valid_id(STAFF_PREFIX, staff) {
                return Err(AppError::InvalidId("staffId must be a staff id (s_…)".into()));
            }
            if store::account_of_staff(&deps.table, &pk, staff).await?.is_none() {
                return Err(AppError::NotFound(format!("staff card {staff}")));
            }
            Ok(Party {
                pk,
                side: Side::Customer,
                staff_id: staff.to_owned(),
                customer_id: session.sub.clone(),
            })
        }
        (None, Some(customer)) => {
            if !valid_id(CUSTOMER_PREFIX, customer) {
                return Err(AppError::InvalidId("customerId must be a customer id (c_…)".into()));
            }
            let staff = own_staff(deps, session).await?;
            if runtime::customer(&deps.table, &pk, customer).await?.is_none() {
                return Err(AppError::NotFound(format!("customer {customer}")));
            }
            Ok(Party {
                pk,
                side: Side::Staff,
                staff_id: staff,
                customer_id: customer.to_owned(),
            })
        }
        _ => Err(AppError::BadRequest(
            "name the conversation by staffId (as its customer) or customerId (as its staff member), not both".into(),
        )),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    /// A presigned GET, good for 15 minutes.
    pub url: String,
    pub content_type: String,
    pub size: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub seq: i64,
    pub from: Side,
    pub info_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductCard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask: Option<Ask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    pub sent_ms: i64,
}

async fn view(deps: &Deps, m: Message) -> AppResult<MessageView> {
    let media = match m.media {
        Some((key, content_type, size)) => Some(Media {
            url: deps.blobs.read_url(&key).await?,
            content_type,
            size,
        }),
        None => None,
    };
    Ok(MessageView {
        seq: m.seq,
        from: m.from,
        info_type: m.info_type.code(),
        text: m.text,
        product: m.product,
        ask: m.ask,
        media,
        client_msg_id: m.client_msg_id,
        sent_ms: m.sent_ms,
    })
}

async fn views(deps: &Deps, messages: Vec<Message>) -> AppResult<Vec<MessageView>> {
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        out.push(view(deps, m).await?);
    }
    Ok(out)
}

/// Where a sender's uploads go: only its own are accepted in its messages.
fn upload_prefix(session: &Session) -> String {
    format!("chat/{}/{}/{}/", session.cmp, session.app, session.sub)
}

/// What the message carries once its product or media are looked up.
async fn content(
    deps: &Deps,
    session: &Session,
    party: &Party,
    draft: Draft,
) -> AppResult<Message> {
    let mut m = Message {
        seq: 0,
        from: party.side,
        info_type: InfoType::Text,
        text: None,
        product: None,
        ask: None,
        media: None,
        client_msg_id: None,
        sent_ms: now_millis(),
    };
    match draft {
        Draft::Text(text) => m.text = Some(text),
        Draft::Product(id) => {
            if !valid_id(PRODUCT_PREFIX, &id) {
                return Err(AppError::InvalidId(
                    "productId must be a product id (p_…)".into(),
                ));
            }
            let p = catalogue::product(&deps.table, &party.pk, &id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("product {id}")))?;
            m.info_type = InfoType::Product;
            m.product = Some(ProductCard {
                id: p.id,
                name: p.input.name,
                cover: p.input.cover,
                price: p.input.price,
            });
        }
        Draft::Request(ask) => {
            m.info_type = InfoType::Request;
            m.ask = Some(ask);
        }
        Draft::Media(info, key) => {
            if !key.starts_with(&upload_prefix(session)) || key.contains("..") {
                return Err(AppError::BadRequest(
                    "mediaKey must be the key of your own upload (POST /app/chat/upload)".into(),
                ));
            }
            let (content_type, size) = deps.blobs.head(&key).await?.ok_or_else(|| {
                AppError::BadRequest(
                    "nothing was uploaded under mediaKey: upload the file first".into(),
                )
            })?;
            match media_kind(&content_type) {
                Some((kind, _, max)) if kind == info && (1..=max).contains(&size) => {}
                _ => {
                    return Err(AppError::BadRequest(format!(
                        "the upload is {content_type} of {size} bytes: not a{} infoType {} takes",
                        if info == InfoType::Image {
                            "n image"
                        } else {
                            " video"
                        },
                        info.code()
                    )))
                }
            }
            m.info_type = info;
            m.media = Some((key, content_type, size));
        }
    }
    Ok(m)
}

/// `POST /app/chat/send`: the message, numbered after the conversation's last; the same `clientMsgId` again
/// answers the message it made.
pub async fn send(deps: &Deps, session: &Session, req: SendRequest) -> AppResult<MessageView> {
    if let Some(id) = &req.client_msg_id {
        if !valid_request_id(id) {
            return Err(AppError::BadRequest(
                "clientMsgId is 8 to 64 letters, digits, - or _".into(),
            ));
        }
    }
    let party = party(
        deps,
        session,
        req.staff_id.as_deref(),
        req.customer_id.as_deref(),
    )
    .await?;
    let draft = req.draft(party.side).map_err(AppError::BadRequest)?;
    let (staff, customer) = (&party.staff_id, &party.customer_id);
    if let Some(id) = &req.client_msg_id {
        if let Some(sent) = store::claimed(&deps.table, &party.pk, staff, customer, id).await? {
            return view(deps, sent).await;
        }
    }
    let mut message = content(deps, session, &party, draft).await?;
    message.client_msg_id = req.client_msg_id.clone();
    for _ in 0..ATTEMPTS {
        let last = store::conversation(&deps.table, &party.pk, staff, customer)
            .await?
            .map_or(0, |c| c.seq);
        message.seq = last + 1;
        if store::append(&deps.table, &party.pk, staff, customer, &message).await? {
            tracing::info!(
                side = party.side.as_str(),
                seq = message.seq,
                "chat message sent"
            );
            if party.side == Side::Customer {
                notify_staff(deps, session, &party, &message).await;
            }
            let sent = view(deps, message).await?;
            crate::services::chat_sockets::push(deps, &party, &sent).await;
            return Ok(sent);
        }
        // Lost the number to another message, or the same message was sent at once, or the receiver is gone.
        if let Some(id) = &req.client_msg_id {
            if let Some(sent) = store::claimed(&deps.table, &party.pk, staff, customer, id).await? {
                return view(deps, sent).await;
            }
        }
        let receiver_exists = match party.side {
            Side::Customer => store::account_of_staff(&deps.table, &party.pk, staff)
                .await?
                .is_some(),
            Side::Staff => runtime::customer(&deps.table, &party.pk, customer)
                .await?
                .is_some(),
        };
        if !receiver_exists {
            return Err(AppError::NotFound("the conversation's other side".into()));
        }
    }
    Err(crate::store::StoreError::Busy("chat message").into())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesView {
    pub items: Vec<MessageView>,
    /// Polling: the `after` of the next call (the last message's number, or the one given when none is new).
    /// History: the `before` of the next page, absent at the first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<i64>,
}

/// `GET /app/chat/messages`: with `after`, the messages after it, oldest first (polling); without, the history
/// before `before` (or the latest), newest first, 20 a page.
pub async fn messages(
    deps: &Deps,
    party: &Party,
    after: Option<i64>,
    before: Option<i64>,
    limit: i32,
) -> AppResult<MessagesView> {
    let (staff, customer) = (&party.staff_id, &party.customer_id);
    match (after, before) {
        (Some(_), Some(_)) => Err(AppError::BadRequest(
            "give after (new messages) or before (history), not both".into(),
        )),
        (Some(after), None) => {
            let found = store::after(&deps.table, &party.pk, staff, customer, after, limit).await?;
            let cursor = found.last().map_or(after, |m| m.seq);
            Ok(MessagesView {
                items: views(deps, found).await?,
                cursor: Some(cursor),
            })
        }
        (None, before) => {
            let found =
                store::before(&deps.table, &party.pk, staff, customer, before, limit).await?;
            let cursor = found.last().map(|m| m.seq).filter(|seq| *seq > 1);
            Ok(MessagesView {
                items: views(deps, found).await?,
                cursor,
            })
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreadView {
    /// What the caller has not read of the conversation named, or of all its conversations.
    pub unread: i64,
    /// Without a conversation named: the caller's unread as a staff member, when its login is one's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_unread: Option<i64>,
}

/// `GET /app/chat/unread` (seed query_num).
pub async fn unread(
    deps: &Deps,
    session: &Session,
    staff_id: Option<&str>,
    customer_id: Option<&str>,
) -> AppResult<UnreadView> {
    if staff_id.is_some() || customer_id.is_some() {
        let party = party(deps, session, staff_id, customer_id).await?;
        let conv = store::conversation(&deps.table, &party.pk, &party.staff_id, &party.customer_id)
            .await?;
        return Ok(UnreadView {
            unread: conv.map_or(0, |c| c.unread(party.side)),
            staff_unread: None,
        });
    }
    let pk = session.pk();
    let staff = store::staff_of_account(&deps.table, &pk, &session.sub).await?;
    let unread = store::unread_total(&deps.table, &pk, Side::Customer, &session.sub).await?;
    let staff_unread = match staff {
        Some(s) => Some(store::unread_total(&deps.table, &pk, Side::Staff, &s).await?),
        None => None,
    };
    Ok(UnreadView {
        unread,
        staff_unread,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationRef {
    #[serde(default)]
    pub staff_id: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
}

/// `POST /app/chat/read`: everything the caller has of the conversation marked read; answers how many were unread.
pub async fn read(deps: &Deps, session: &Session, req: ConversationRef) -> AppResult<Value> {
    let party = party(
        deps,
        session,
        req.staff_id.as_deref(),
        req.customer_id.as_deref(),
    )
    .await?;
    for _ in 0..ATTEMPTS {
        let seen = store::conversation(&deps.table, &party.pk, &party.staff_id, &party.customer_id)
            .await?
            .map_or(0, |c| c.unread(party.side));
        if seen == 0
            || store::mark_read(
                &deps.table,
                &party.pk,
                &party.staff_id,
                &party.customer_id,
                party.side,
                seen,
            )
            .await?
        {
            return Ok(serde_json::json!({"read": seen, "unread": 0}));
        }
    }
    Err(crate::store::StoreError::Busy("chat read").into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    pub content_type: String,
    pub size: i64,
}

/// `POST /app/chat/upload`: a presigned PUT for one image or video the caller then sends as `mediaKey`.
pub async fn upload(deps: &Deps, session: &Session, req: UploadRequest) -> AppResult<Value> {
    let (_, ext, max) = media_kind(&req.content_type).ok_or_else(|| {
        AppError::BadRequest("contentType is image/png, image/jpeg or video/mp4".into())
    })?;
    if !(1..=max).contains(&req.size) {
        return Err(AppError::BadRequest(format!(
            "size is 1 to {max} bytes for {}",
            req.content_type
        )));
    }
    let key = format!("{}{}.{ext}", upload_prefix(session), crate::random::hex(8));
    let url = deps
        .blobs
        .upload_url(&key, &req.content_type, req.size)
        .await?;
    Ok(
        serde_json::json!({"uploadUrl": url, "mediaKey": key, "method": "PUT",
                          "headers": {"Content-Type": req.content_type},
                          "expiresIn": crate::blobs::UPLOAD_URL_TTL.as_secs()}),
    )
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub customer_id: String,
    pub seq: i64,
    pub unread: i64,
    pub last_from: Option<Side>,
    pub last_preview: String,
    pub updated_ms: i64,
}

/// `GET /app/chat/conversations`: the caller's conversations as a staff member, the latest active first.
pub async fn conversations(
    deps: &Deps,
    session: &Session,
    limit: i32,
    cursor: Option<&str>,
) -> AppResult<Page<ConversationView>> {
    let staff = own_staff(deps, session).await?;
    let page = store::conversations(&deps.table, &session.pk(), &staff, limit, cursor).await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|c: Conversation| ConversationView {
                unread: c.unread_staff,
                customer_id: c.customer_id,
                seq: c.seq,
                last_from: c.last_from,
                last_preview: c.last_preview,
                updated_ms: c.updated_ms,
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkRequest {
    pub ma_app_id: String,
    pub staff_id: String,
    /// The customer id the staff member's own login has in the mini-program (`POST /app/login` answers it).
    pub customer_id: String,
}

/// `POST /app/staff/account` (the merchant's side, `pk` checked): the login a staff member answers chats with.
pub async fn link_account(deps: &Deps, pk: &str, req: LinkRequest) -> AppResult<Value> {
    if !valid_id(STAFF_PREFIX, &req.staff_id) {
        return Err(AppError::InvalidId(
            "staffId must be a staff id (s_…)".into(),
        ));
    }
    if !valid_id(CUSTOMER_PREFIX, &req.customer_id) {
        return Err(AppError::InvalidId(
            "customerId must be a customer id (c_…)".into(),
        ));
    }
    if runtime::customer(&deps.table, pk, &req.customer_id)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound(format!("customer {}", req.customer_id)));
    }
    let previous = store::account_of_staff(&deps.table, pk, &req.staff_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("staff card {}", req.staff_id)))?;
    if !store::link_account(
        &deps.table,
        pk,
        &req.staff_id,
        &req.customer_id,
        previous.as_deref(),
    )
    .await?
    {
        return Err(AppError::Conflict(
            "that login is another staff member's account, or the card changed meanwhile".into(),
        ));
    }
    Ok(serde_json::json!({"staffId": req.staff_id, "customerId": req.customer_id}))
}
