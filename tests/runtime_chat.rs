//! Chat between customers and staff (runtime API part 2, seed 002), black-box on the local stack: a customer and a
//! staff member (logged in under the account the merchant linked) write each other every info type, poll, page the
//! history, count and mark unread; a retried send stays one message, concurrent sends are numbered without gaps,
//! and nobody reaches a conversation of another customer or shop.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, unique, Stack};
use wxtpl::http::auth::Role;

/// A login of a new user of the mini-program: (session, customer id).
async fn login(stack: &Stack, app: &str, user: &str) -> (String, String) {
    login_as(stack, app, &unique(user)).await
}

/// The login of sandbox user `user`: (session, customer id).
async fn login_as(stack: &Stack, app: &str, user: &str) -> (String, String) {
    let (code, out) = stack.customer_login(app, user, json!({})).await;
    assert_eq!(code, 200, "{out}");
    (
        out["session"].as_str().unwrap().to_owned(),
        out["customer"]["id"].as_str().unwrap().to_owned(),
    )
}

/// A shop whose staff member answers chats under a login of its own: (merchant, appid, staff id, staff's session).
async fn shop_with_staff_login(stack: &Stack, name: &str) -> (String, String, String, String) {
    let (merchant, app, staff) = stack.staffed_shop(name, "王芳").await;
    let (staff_session, account) = login(stack, &app, "chat-staff").await;
    let (code, out) = stack
        .post(
            "/app/staff/account",
            &merchant,
            &json!({"maAppId": app, "staffId": staff, "customerId": account}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    (merchant, app, staff, staff_session)
}

/// An upload through the presigned PUT the route answered: its media key.
async fn uploaded(stack: &Stack, session: &str, content_type: &str, bytes: &[u8]) -> String {
    let (code, out) = stack
        .post(
            "/app/chat/upload",
            session,
            &json!({"contentType": content_type, "size": bytes.len()}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    let put = stack
        .http
        .put(out["uploadUrl"].as_str().unwrap())
        .header("Content-Type", content_type)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    out["mediaKey"].as_str().unwrap().to_owned()
}

fn seqs(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

async fn send(stack: &Stack, session: &str, body: Value) -> Value {
    let (code, out) = stack.post("/app/chat/send", session, &body).await;
    assert_eq!(code, 200, "{out}");
    out
}

#[tokio::test]
async fn a_customer_and_a_staff_member_chat_with_every_info_type_from_both_sides() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app, staff, staff_session) = shop_with_staff_login(&stack, "chat-shop").await;
    let (alice, alice_id) = login(&stack, &app, "chat-alice").await;
    let (code, product) = stack
        .post(
            "/app/product/save",
            &merchant,
            &json!({"maAppId": app, "product": {"name": "龙井", "price": 1990, "cover": "https://img.example.com/t.png"}}),
        )
        .await;
    assert_eq!(code, 201, "{product}");
    let product_id = product["id"].as_str().unwrap();

    // The customer: text (sent twice at once under one client id: one message), a product consult, an image.
    let hello = json!({"staffId": staff, "infoType": 1, "text": "你好，想问问龙井 🍵", "clientMsgId": unique("msg")});
    let (one, two) = tokio::join!(
        stack.post("/app/chat/send", &alice, &hello),
        stack.post("/app/chat/send", &alice, &hello)
    );
    assert_eq!((one.0, two.0), (200, 200), "{one:?} {two:?}");
    assert_eq!(
        (one.1["seq"].as_i64(), two.1["seq"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(one.1["from"], "customer");
    let consult = send(
        &stack,
        &alice,
        json!({"staffId": staff, "infoType": 2, "productId": product_id}),
    )
    .await;
    assert_eq!(consult["seq"], 2);
    assert_eq!(
        consult["product"],
        json!({"id": product_id, "name": "龙井", "cover": "https://img.example.com/t.png", "price": 1990})
    );
    let photo = b"\x89PNG\r\n\x1a\n a photo".to_vec();
    let key = uploaded(&stack, &alice, "image/png", &photo).await;
    let image = send(
        &stack,
        &alice,
        json!({"staffId": staff, "infoType": 4, "mediaKey": key}),
    )
    .await;
    assert_eq!(
        (
            image["seq"].as_i64(),
            image["media"]["contentType"].as_str()
        ),
        (Some(3), Some("image/png"))
    );
    assert_eq!(stack.download(&image["media"]).await, photo);
    // The same client id again later: the first message, not a fourth.
    let again = send(&stack, &alice, hello.clone()).await;
    assert_eq!(again["seq"], 1);

    // The staff side sees three unread, polls them in order, and answers: a request for the phone number, a video.
    let (_, unread) = stack.get("/app/chat/unread", &staff_session).await;
    assert_eq!(unread["staffUnread"], 3, "{unread}");
    let (_, unread) = stack
        .get(
            &format!("/app/chat/unread?customerId={alice_id}"),
            &staff_session,
        )
        .await;
    assert_eq!(unread["unread"], 3, "{unread}");
    let (code, polled) = stack
        .get(
            &format!("/app/chat/messages?customerId={alice_id}&after=0"),
            &staff_session,
        )
        .await;
    assert_eq!(code, 200, "{polled}");
    assert_eq!(seqs(&polled), vec![1, 2, 3]);
    assert_eq!(polled["cursor"], 3);
    let ask = send(
        &stack,
        &staff_session,
        json!({"customerId": alice_id, "infoType": 3, "ask": "phone"}),
    )
    .await;
    assert_eq!(
        (
            ask["seq"].as_i64(),
            ask["from"].as_str(),
            ask["ask"].as_str()
        ),
        (Some(4), Some("staff"), Some("phone"))
    );
    let clip = b"\x00\x00\x00\x18ftypmp42 a video".to_vec();
    let key = uploaded(&stack, &staff_session, "video/mp4", &clip).await;
    let video = send(
        &stack,
        &staff_session,
        json!({"customerId": alice_id, "infoType": 5, "mediaKey": key}),
    )
    .await;
    assert_eq!(video["seq"], 5);

    // The customer polls from its cursor: the two answers; nothing new after them.
    let (_, unread) = stack
        .get(&format!("/app/chat/unread?staffId={staff}"), &alice)
        .await;
    assert_eq!(unread["unread"], 2, "{unread}");
    let (_, total) = stack.get("/app/chat/unread", &alice).await;
    assert_eq!(
        (total["unread"].as_i64(), total.get("staffUnread")),
        (Some(2), None),
        "{total}"
    );
    let (_, new) = stack
        .get(
            &format!("/app/chat/messages?staffId={staff}&after=3"),
            &alice,
        )
        .await;
    assert_eq!(seqs(&new), vec![4, 5]);
    assert_eq!(stack.download(&new["items"][1]["media"]).await, clip);
    let (_, none) = stack
        .get(
            &format!("/app/chat/messages?staffId={staff}&after=5"),
            &alice,
        )
        .await;
    assert_eq!((seqs(&none), none["cursor"].as_i64()), (vec![], Some(5)));

    // History, newest first, a page at a time to the first message.
    let mut pages = Vec::new();
    let mut before = String::new();
    loop {
        let (code, page) = stack
            .get(
                &format!("/app/chat/messages?staffId={staff}&limit=2{before}"),
                &alice,
            )
            .await;
        assert_eq!(code, 200, "{page}");
        pages.push(seqs(&page));
        match page["cursor"].as_i64() {
            Some(c) => before = format!("&before={c}"),
            None => break,
        }
    }
    assert_eq!(pages, vec![vec![5, 4], vec![3, 2], vec![1]]);

    // Reading: each side's own count, once.
    let (code, read) = stack
        .post("/app/chat/read", &alice, &json!({"staffId": staff}))
        .await;
    assert_eq!((code, read["read"].as_i64()), (200, Some(2)), "{read}");
    let (_, read) = stack
        .post("/app/chat/read", &alice, &json!({"staffId": staff}))
        .await;
    assert_eq!(read["read"], 0);
    let (_, total) = stack.get("/app/chat/unread", &alice).await;
    assert_eq!(total["unread"], 0);
    let (_, read) = stack
        .post(
            "/app/chat/read",
            &staff_session,
            &json!({"customerId": alice_id}),
        )
        .await;
    assert_eq!(read["read"], 3);
    let (_, unread) = stack.get("/app/chat/unread", &staff_session).await;
    assert_eq!(unread["staffUnread"], 0, "{unread}");

    // Both sides writing at once: every message numbered, none lost, no gaps.
    let bodies: Vec<(&String, Value)> = (0..6)
        .map(|i| {
            if i % 2 == 0 {
                (
                    &alice,
                    json!({"staffId": staff, "infoType": 1, "text": format!("c{i}")}),
                )
            } else {
                (
                    &staff_session,
                    json!({"customerId": alice_id, "infoType": 1, "text": format!("s{i}")}),
                )
            }
        })
        .collect();
    let sends = bodies
        .iter()
        .map(|(session, body)| stack.post("/app/chat/send", session, body));
    for (code, out) in futures::future::join_all(sends).await {
        assert_eq!(code, 200, "{out}");
    }
    let (_, all) = stack
        .get(
            &format!("/app/chat/messages?staffId={staff}&after=5"),
            &alice,
        )
        .await;
    assert_eq!(seqs(&all), (6..=11).collect::<Vec<_>>());
    let (_, unread) = stack
        .get(&format!("/app/chat/unread?staffId={staff}"), &alice)
        .await;
    assert_eq!(unread["unread"], 3);

    // The staff member's list of conversations: this one, with its last message.
    let (code, list) = stack.get("/app/chat/conversations", &staff_session).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["items"][0]["customerId"], alice_id.as_str(), "{list}");
    assert_eq!(list["items"][0]["seq"], 11, "{list}");
    assert_eq!(list["items"][0]["unread"], 3, "{list}");
}

#[tokio::test]
async fn nobody_reaches_a_conversation_of_another_customer_or_shop() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app, staff, staff_session) = shop_with_staff_login(&stack, "chat-guard-a").await;
    let (merchant_b, app_b, staff_b, staff_b_session) =
        shop_with_staff_login(&stack, "chat-guard-b").await;
    let (alice, alice_id) = login(&stack, &app, "guard-alice").await;
    let (bob, bob_id) = login(&stack, &app, "guard-bob").await;
    let (carol_b, carol_b_id) = login(&stack, &app_b, "guard-carol").await;
    send(
        &stack,
        &alice,
        json!({"staffId": staff, "infoType": 1, "text": "只给王芳看"}),
    )
    .await;

    // Another customer cannot read Alice's side, nor act as staff; it has its own, empty conversation.
    let (code, out) = stack
        .get(
            &format!("/app/chat/messages?customerId={alice_id}&after=0"),
            &bob,
        )
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "staff");
    let (code, own) = stack
        .get(&format!("/app/chat/messages?staffId={staff}&after=0"), &bob)
        .await;
    assert_eq!((code, seqs(&own)), (200, vec![]), "{own}");
    // Another shop's staff and customers are not found from here, either way.
    let (code, out) = stack
        .get(&format!("/app/chat/messages?staffId={staff_b}"), &alice)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &staff_b);
    let (code, out) = stack
        .post(
            "/app/chat/send",
            &staff_session,
            &json!({"customerId": carol_b_id, "infoType": 1, "text": "hi"}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &carol_b_id);
    let (code, out) = stack
        .post(
            "/app/chat/send",
            &carol_b,
            &json!({"staffId": staff, "infoType": 1, "text": "hi"}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &staff);
    let (code, out) = stack
        .get(
            &format!("/app/chat/messages?customerId={alice_id}&after=0"),
            &staff_b_session,
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &alice_id);

    // Media: only one's own upload, of the type the message says, and uploads only of images and mp4 videos.
    let key = uploaded(&stack, &bob, "image/png", b"\x89PNG bob's").await;
    let (code, out) = stack
        .post(
            "/app/chat/send",
            &alice,
            &json!({"staffId": staff, "infoType": 4, "mediaKey": key}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "own upload");
    let (code, out) = stack
        .post(
            "/app/chat/send",
            &bob,
            &json!({"staffId": staff, "infoType": 5, "mediaKey": key}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "image/png");
    let never = format!("{}-never.png", &key[..key.len() - 4]);
    let (code, out) = stack
        .post(
            "/app/chat/send",
            &bob,
            &json!({"staffId": staff, "infoType": 4, "mediaKey": never}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "upload the file first");
    for (body, mentions) in [
        (
            json!({"contentType": "text/html", "size": 10}),
            "contentType",
        ),
        (
            json!({"contentType": "image/png", "size": 6 * 1024 * 1024}),
            "size",
        ),
        (json!({"contentType": "video/mp4", "size": 0}), "size"),
    ] {
        let (code, out) = stack.post("/app/chat/upload", &bob, &body).await;
        assert_refused(code, &out, 400, "BAD_REQUEST", mentions);
    }

    // Malformed sends reach nothing.
    let (code, product_b) = stack
        .post(
            "/app/product/save",
            &merchant_b,
            &json!({"maAppId": app_b, "product": {"name": "外店的茶", "price": 100}}),
        )
        .await;
    assert_eq!(code, 201, "{product_b}");
    let refusals = [
        (
            json!({"staffId": staff, "infoType": 2, "productId": product_b["id"]}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"staffId": staff, "infoType": 3, "ask": "phone"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"staffId": staff, "infoType": 1, "text": "字".repeat(1001)}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"staffId": staff, "infoType": 1, "text": "a", "mediaKey": "x"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"staffId": staff, "infoType": 9, "text": "a"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"staffId": staff, "customerId": alice_id, "infoType": 1, "text": "a"}),
            400,
            "BAD_REQUEST",
        ),
        (json!({"infoType": 1, "text": "a"}), 400, "BAD_REQUEST"),
        (
            json!({"staffId": "s_nope", "infoType": 1, "text": "a"}),
            400,
            "INVALID_ID",
        ),
        (
            json!({"staffId": staff, "infoType": 1, "text": "a", "clientMsgId": "short"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"staffId": staff, "infoType": 1, "text": "a", "from": "staff"}),
            400,
            "BAD_REQUEST",
        ),
    ];
    for (body, status, code_name) in refusals {
        let (code, out) = stack.post("/app/chat/send", &bob, &body).await;
        assert_refused(code, &out, status, code_name, "");
    }
    for query in ["after=1&before=3", "after=-1", "before=x"] {
        let (code, out) = stack
            .get(&format!("/app/chat/messages?staffId={staff}&{query}"), &bob)
            .await;
        assert_refused(code, &out, 400, "BAD_REQUEST", "");
    }
    // Bob's refused sends left Alice's conversation as it was, and his own empty.
    let (_, alices) = stack
        .get(
            &format!("/app/chat/messages?staffId={staff}&after=0"),
            &alice,
        )
        .await;
    assert_eq!(seqs(&alices), vec![1]);
    let (_, unread) = stack.get("/app/chat/unread", &staff_session).await;
    assert_eq!(unread["staffUnread"], 1, "{unread}");

    // Without a session, or with a staff token: 401. A customer who is no staff member has no conversation list.
    let (code, out) = stack
        .post_anonymous(
            "/app/chat/send",
            &json!({"staffId": staff, "infoType": 1, "text": "a"}),
        )
        .await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    let (code, out) = stack.get("/app/chat/conversations", &merchant).await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    let (code, out) = stack.get("/app/chat/conversations", &bob).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    for path in ["/app/chat/unread", "/app/chat/upload", "/app/chat/read"] {
        let (code, out) = if path.ends_with("unread") {
            stack.get(path, &merchant).await
        } else {
            stack
                .post(path, &merchant, &json!({"staffId": staff}))
                .await
        };
        assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    }
    // Reading and counting another's conversation: the same refusals as its messages; a staff login reads only its
    // own customers', in its own shop.
    let (code, out) = stack
        .post("/app/chat/read", &bob, &json!({"customerId": alice_id}))
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "staff");
    let (code, out) = stack
        .get(
            &format!("/app/chat/unread?customerId={carol_b_id}"),
            &staff_session,
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &carol_b_id);
    let (code, out) = stack
        .post("/app/chat/read", &alice, &json!({"staffId": staff_b}))
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &staff_b);
    for body in [
        json!({}),
        json!({"staffId": "s_x"}),
        json!({"staffId": staff, "extra": 1}),
    ] {
        let (code, out) = stack.post("/app/chat/read", &alice, &body).await;
        assert!(code == 400, "{body}: {code} {out}");
    }
    let (code, out) = stack.get("/app/chat/unread?staffId=nope", &alice).await;
    assert!(code == 400, "{code} {out}");
    // Bob's read of nothing left Alice's unread count as it was.
    let (_, unread) = stack.get("/app/chat/unread", &staff_session).await;
    assert_eq!(unread["staffUnread"], 1, "{unread}");

    // Linking a staff login: the merchant's own mini-program only, a customer of it, one card a login.
    let link = |app: &str, staff: &str, customer: &str| json!({"maAppId": app, "staffId": staff, "customerId": customer});
    let (code, out) = stack
        .post(
            "/app/staff/account",
            &merchant_b,
            &link(&app, &staff, &bob_id),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "");
    let developer = stack.token(Role::Developer);
    let (code, out) = stack
        .post(
            "/app/staff/account",
            &developer,
            &link(&app, &staff, &bob_id),
        )
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack
        .post(
            "/app/staff/account",
            &merchant,
            &link(&app, &staff, &carol_b_id),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &carol_b_id);
    let (code, second) = stack
        .post(
            "/app/staff/save",
            &merchant,
            &json!({"maAppId": app, "card": {"name": "李四"}}),
        )
        .await;
    assert_eq!(code, 201, "{second}");
    // The card relinked to Bob's login; that login cannot be a second card's as well.
    let (code, out) = stack
        .post(
            "/app/staff/account",
            &merchant,
            &link(&app, &staff, &bob_id),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = stack
        .post(
            "/app/staff/account",
            &merchant,
            &link(&app, second["id"].as_str().unwrap(), &bob_id),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "another staff member");
    // Relinked, the card answers from Bob's login; the old login is no staff member's any more.
    let (code, _) = stack.get("/app/chat/conversations", &bob).await;
    assert_eq!(code, 200);
    let (code, out) = stack.get("/app/chat/conversations", &staff_session).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    // The card deleted, its login is free again: no staff member's, and linkable to another card.
    let (code, out) = stack
        .post(
            "/app/staff/delete",
            &merchant,
            &json!({"maAppId": app, "staffId": staff}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = stack.get("/app/chat/conversations", &bob).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack
        .post(
            "/app/staff/account",
            &merchant,
            &link(&app, second["id"].as_str().unwrap(), &bob_id),
        )
        .await;
    assert_eq!(code, 200, "{out}");
}

/// The subscribe messages the WeChat sandbox sent for one mini-program, oldest first.
async fn notices(stack: &Stack, appid: &str) -> Vec<Value> {
    let state = stack.sandbox_get("/control/state").await;
    state["authorizers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appid"] == appid)
        .map(|a| a["subscribeMessages"].as_array().unwrap().clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_staff_member_away_from_the_chat_is_told_by_subscribe_message_once_and_failures_never_fail_a_send(
) {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app, staff) = stack.staffed_shop("chat-notice", "王芳").await;
    let staff_user = unique("notice-staff");
    let (staff_session, account) = login_as(&stack, &app, &staff_user).await;
    let link = json!({"maAppId": app, "staffId": staff, "customerId": account});
    let (code, out) = stack.post("/app/staff/account", &merchant, &link).await;
    assert_eq!(code, 200, "{out}");
    let notice = json!({"templateId": "tmpl-chat", "page": "pages/chat/list",
                        "data": {"thing1": "{customer}：{preview}", "time2": "{time}"}});
    let (code, out) = stack
        .post(
            "/app/settings/save",
            &merchant,
            &json!({"maAppId": app, "settings": {"shopName": "安茶", "chatNotice": notice}}),
        )
        .await;
    assert_eq!(code, 201, "{out}");
    let (alice, _) = login(&stack, &app, "notice-alice").await;
    let (code, out) = stack
        .post(
            "/app/user/info",
            &alice,
            &json!({"profile": {"nickName": "小明"}}),
        )
        .await;
    assert_eq!(code, 200, "{out}");

    // No subscription accepted yet: WeChat refuses (43101), the message is sent all the same, the refusal recorded.
    send(
        &stack,
        &alice,
        json!({"staffId": staff, "infoType": 1, "text": "在吗？"}),
    )
    .await;
    assert!(notices(&stack, &app).await.is_empty());
    let (card_pk, card_sk) = (
        format!("RT#{}#{app}", stack.component_appid()),
        format!("STAFF#{staff}"),
    );
    let card = stack.item(&card_pk, &card_sk).await.unwrap();
    assert_eq!(card["chat_notice_result"].as_s().unwrap(), "refused: 43101");

    // Subscribed, away, and the last notice long enough ago (the gap is reset here as time passing would).
    let granted = stack
        .sandbox(
            "/control/subscribe",
            json!({"appid": app, "user": staff_user, "templateId": "tmpl-chat", "times": 5}),
        )
        .await;
    stack
        .remove_attribute(&card_pk, &card_sk, "chat_notice_ms")
        .await;
    let first = json!({"staffId": staff, "infoType": 1, "text": "想买两斤龙井，今天能发货吗"});
    let second = json!({"staffId": staff, "infoType": 1, "text": "还有优惠吗"});
    let (one, two) = tokio::join!(
        stack.post("/app/chat/send", &alice, &first),
        stack.post("/app/chat/send", &alice, &second)
    );
    assert_eq!((one.0, two.0), (200, 200), "{one:?} {two:?}");
    let sent = notices(&stack, &app).await;
    assert_eq!(
        sent.len(),
        1,
        "one notice for two messages at once: {sent:?}"
    );
    assert_eq!(sent[0]["touser"], granted["openid"]);
    assert_eq!(
        (sent[0]["template_id"].as_str(), sent[0]["page"].as_str()),
        (Some("tmpl-chat"), Some("pages/chat/list"))
    );
    let thing = sent[0]["data"]["thing1"]["value"].as_str().unwrap();
    assert!(
        thing.starts_with("小明：") && thing.chars().count() <= 20,
        "{thing}"
    );

    // The staff member in the chat (polling): no notice, even after the gap.
    let (code, _) = stack.get("/app/chat/conversations", &staff_session).await;
    assert_eq!(code, 200);
    stack
        .remove_attribute(&card_pk, &card_sk, "chat_notice_ms")
        .await;
    send(
        &stack,
        &alice,
        json!({"staffId": staff, "infoType": 1, "text": "好的"}),
    )
    .await;
    assert_eq!(notices(&stack, &app).await.len(), 1);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the chat's WebSocket with a session in the Authorization header (as `wx.connectSocket` sends it) or in
/// the query (`?session=`); the HTTP status of a refused upgrade.
async fn open_socket(stack: &Stack, session: &str, in_header: bool) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let base = &stack.env["CHAT_SOCKET_URL"];
    let url = if in_header {
        base.clone()
    } else {
        format!("{base}/?session={session}")
    };
    let mut request = url.into_client_request().unwrap();
    if in_header {
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {session}").parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("WebSocket connect failed: {e}"),
    }
}

/// The next push on a socket, within five seconds.
async fn next_push(socket: &mut Socket) -> Value {
    use futures::StreamExt;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a push within 5 s")
            .expect("the socket is open")
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// The chat connection records of a login in the mini-program's partition (`WS#C#…` or `WS#S#…`).
async fn socket_records(stack: &Stack, app: &str, prefix: &str) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue;
    let out = stack
        .dynamo
        .query()
        .table_name(&stack.env["TABLE_NAME"])
        .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("RT#{}#{app}", stack.component_appid())),
        )
        .expression_attribute_values(":p", AttributeValue::S(prefix.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items().len()
}

#[tokio::test]
async fn messages_are_pushed_to_open_connections_and_closed_or_gone_ones_are_forgotten() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (_, app, staff, staff_session) = shop_with_staff_login(&stack, "chat-socket").await;
    let (alice, alice_id) = login(&stack, &app, "socket-alice").await;

    // Without a session, or with a forged one, the upgrade is refused.
    assert_eq!(
        open_socket(&stack, "not-a-session", true).await.err(),
        Some(401)
    );
    assert_eq!(open_socket(&stack, "", false).await.err(), Some(401));
    let mut staff_socket = open_socket(&stack, &staff_session, true).await.unwrap();
    let mut alice_socket = open_socket(&stack, &alice, false).await.unwrap();
    assert_eq!(
        socket_records(&stack, &app, &format!("WS#S#{staff}#")).await,
        1
    );
    assert_eq!(
        socket_records(&stack, &app, &format!("WS#C#{alice_id}#")).await,
        1
    );

    // Each side's message reaches the other's open connection, as it is answered to the sender.
    let sent = send(
        &stack,
        &alice,
        json!({"staffId": staff, "infoType": 1, "text": "有人在吗"}),
    )
    .await;
    let push = next_push(&mut staff_socket).await;
    assert_eq!(push["type"], "chat.message");
    assert_eq!(
        (push["staffId"].as_str(), push["customerId"].as_str()),
        (Some(staff.as_str()), Some(alice_id.as_str()))
    );
    assert_eq!(push["message"], sent);
    let answer = send(
        &stack,
        &staff_session,
        json!({"customerId": alice_id, "infoType": 1, "text": "在的"}),
    )
    .await;
    assert_eq!(next_push(&mut alice_socket).await["message"], answer);

    // Closed: forgotten ($disconnect); the conversation goes on, polling still finds what is sent.
    alice_socket.close(None).await.unwrap();
    let mut left = 1;
    for _ in 0..50 {
        left = socket_records(&stack, &app, &format!("WS#C#{alice_id}#")).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the closed connection is still recorded");
    send(
        &stack,
        &staff_session,
        json!({"customerId": alice_id, "infoType": 1, "text": "还在吗"}),
    )
    .await;
    let (_, polled) = stack
        .get(
            &format!("/app/chat/messages?staffId={staff}&after=2"),
            &alice,
        )
        .await;
    assert_eq!(seqs(&polled), vec![3]);

    // A connection API Gateway reports gone (the client vanished without a close) is forgotten by the next push.
    use aws_sdk_dynamodb::types::AttributeValue;
    let pk = format!("RT#{}#{app}", stack.component_appid());
    let ghost = "ghost-connection";
    let ttl = AttributeValue::N((wxtpl::clock::now_secs() + 3600).to_string());
    for (item_pk, item_sk) in [
        (pk.clone(), format!("WS#S#{staff}#{ghost}")),
        (format!("WSCONN#{ghost}"), "WSCONN".into()),
    ] {
        stack
            .dynamo
            .put_item()
            .table_name(&stack.env["TABLE_NAME"])
            .item("PK", AttributeValue::S(item_pk))
            .item("SK", AttributeValue::S(item_sk))
            .item("connection", AttributeValue::S(ghost.into()))
            .item("pk", AttributeValue::S(pk.clone()))
            .item(
                "keys",
                AttributeValue::L(vec![AttributeValue::S(format!("WS#S#{staff}#{ghost}"))]),
            )
            .item("ttl", ttl.clone())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        socket_records(&stack, &app, &format!("WS#S#{staff}#")).await,
        2
    );
    send(
        &stack,
        &alice,
        json!({"staffId": staff, "infoType": 1, "text": "好的"}),
    )
    .await;
    assert_eq!(next_push(&mut staff_socket).await["message"]["seq"], 4);
    assert_eq!(
        socket_records(&stack, &app, &format!("WS#S#{staff}#")).await,
        1
    );
    assert!(stack
        .item(&format!("WSCONN#{ghost}"), "WSCONN")
        .await
        .is_none());
}
