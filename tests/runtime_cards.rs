//! The runtime API's first part (seed 002), black-box on the local stack: two merchants' mini-programs side by side,
//! their staff cards, customers logging in through the component (one by scan, one by forward), card views, praise
//! and actions — and nothing crossing from one shop to the other, sessions that cannot be forged, WeChat's
//! jscode2session refusals as clear errors.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, staff_card, unique, Stack};
use wxtpl::http::auth::Role;
use wxtpl::services::customers::{derive_session_key, Session, SESSION_TYPE};

#[tokio::test]
async fn customers_log_in_by_scan_and_forward_and_use_cards_of_their_own_shop_only() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant_a, app_a, staff_a) = stack.staffed_shop("rt-shop-a", "王芳").await;
    let (_merchant_b, app_b, staff_b) = stack.staffed_shop("rt-shop-b", "李雷").await;

    // The first customer arrives by scanning 王芳's card: bound to her, source scan.
    let (code, first) = stack
        .customer_login(&app_a, "alice", json!({"uid": staff_a}))
        .await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["firstLogin"], true, "{first}");
    assert_eq!(first["customer"]["uid"], staff_a.as_str(), "{first}");
    assert_eq!(first["customer"]["source"], "scan", "{first}");
    assert!(first.to_string().find("session_key").is_none() && first.get("sessionKey").is_none());
    let alice = first["session"].as_str().unwrap().to_owned();
    let alice_id = first["customer"]["id"].as_str().unwrap().to_owned();
    // Later logins keep the binding, whatever they name.
    let (code, again) = stack
        .customer_login(&app_a, "alice", json!({"uid": staff_b}))
        .await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["firstLogin"], false);
    assert_eq!(again["customer"]["id"], alice_id.as_str());
    assert_eq!(again["customer"]["uid"], staff_a.as_str(), "{again}");

    // The second arrives through Alice's forward: bound to Alice and to Alice's staff member.
    let (code, second) = stack
        .customer_login(&app_a, "bob", json!({"pid": alice_id}))
        .await;
    assert_eq!(code, 200, "{second}");
    assert_eq!(
        (
            &second["customer"]["pid"],
            &second["customer"]["uid"],
            &second["customer"]["source"]
        ),
        (&json!(alice_id), &json!(staff_a), &json!("forward")),
        "{second}"
    );
    let bob = second["session"].as_str().unwrap().to_owned();

    // The same person's first login twice at once is one customer.
    let (one, two) = tokio::join!(
        stack.customer_login(&app_a, "carol", json!({})),
        stack.customer_login(&app_a, "carol", json!({}))
    );
    assert_eq!((one.0, two.0), (200, 200), "{one:?} {two:?}");
    assert_eq!(one.1["customer"]["id"], two.1["customer"]["id"]);
    assert_ne!(one.1["firstLogin"], two.1["firstLogin"]);

    // Each shop sees its own cards only.
    let (code, list) = stack.get("/app/cards", &alice).await;
    assert_eq!(code, 200, "{list}");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![staff_a.as_str()], "{list}");
    let (code, out) = stack
        .get(&format!("/app/card?staffId={staff_b}"), &alice)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &staff_b);
    let (_, b_customer) = stack.customer_login(&app_b, "dave", json!({})).await;
    let dave = b_customer["session"].as_str().unwrap().to_owned();
    let (code, out) = stack
        .get(&format!("/app/card?staffId={staff_a}"), &dave)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &staff_a);

    // Views are counted; the caller's praise flags come with the card.
    for _ in 0..2 {
        let (code, out) = stack
            .get(&format!("/app/card?staffId={staff_a}"), &alice)
            .await;
        assert_eq!(code, 200, "{out}");
    }
    let (_, viewed) = stack
        .get(&format!("/app/card?staffId={staff_a}"), &bob)
        .await;
    assert_eq!(viewed["card"]["views"], 3, "{viewed}");
    assert_eq!(viewed["praised"], false);
    assert_eq!(viewed["card"]["name"], "王芳");

    // Praise: the same praise many times, at once, stays one; taken back, it is gone; the signature's is its own.
    let praise = json!({"staffId": staff_a, "praise": true});
    let sent =
        futures::future::join_all((0..4).map(|_| stack.post("/app/card/praise", &alice, &praise)))
            .await;
    assert!(sent.iter().all(|(c, _)| *c == 200), "{sent:?}");
    let (_, out) = stack.post("/app/card/praise", &bob, &praise).await;
    assert_eq!(
        (&out["card"]["praises"], &out["praised"]),
        (&json!(2), &json!(true)),
        "{out}"
    );
    let unpraise = json!({"staffId": staff_a, "praise": false});
    for _ in 0..2 {
        let (code, out) = stack.post("/app/card/praise", &alice, &unpraise).await;
        assert_eq!(code, 200, "{out}");
        assert_eq!(
            (&out["card"]["praises"], &out["praised"]),
            (&json!(1), &json!(false)),
            "{out}"
        );
    }
    let signature = json!({"staffId": staff_a, "target": "signature", "praise": true});
    let (_, out) = stack.post("/app/card/praise", &alice, &signature).await;
    assert_eq!(
        (
            &out["card"]["signaturePraises"],
            &out["signaturePraised"],
            &out["card"]["praises"]
        ),
        (&json!(1), &json!(true), &json!(1)),
        "{out}"
    );

    // Calls, saved WeChat ids and forwards are counted on the card.
    for action in ["call", "saveWechat", "forward"] {
        let (code, out) = stack
            .post(
                "/app/card/act",
                &bob,
                &json!({"staffId": staff_a, "action": action}),
            )
            .await;
        assert_eq!(code, 200, "{out}");
    }
    let (_, list) = stack
        .get(&format!("/app/staff/list?maAppId={app_a}"), &merchant_a)
        .await;
    let mine = &list["items"][0];
    assert_eq!(
        (&mine["calls"], &mine["wechatSaves"], &mine["forwards"]),
        (&json!(1), &json!(1), &json!(1)),
        "{list}"
    );
}

#[tokio::test]
async fn sessions_cannot_be_forged_and_wechat_refusals_are_clear() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (_, app, staff) = stack.staffed_shop("rt-shop-c", "韩梅梅").await;
    let (_, out) = stack.customer_login(&app, "erin", json!({})).await;
    let session = out["session"].as_str().unwrap().to_owned();
    let customer = out["customer"]["id"].as_str().unwrap().to_owned();
    let path = format!("/app/card?staffId={staff}");

    // A session signed with anything but the sessions' key, an expired one, a staff token, a tampered one: 401.
    let key = derive_session_key(&stack.jwt_key);
    let now = wxtpl::clock::now_secs();
    let claims = |exp: i64| Session {
        sub: customer.clone(),
        app: app.clone(),
        cmp: stack.component_appid(),
        typ: SESSION_TYPE.into(),
        iat: now - 100,
        exp,
    };
    let expired = wxtpl::jwt::sign(&claims(now - 1), &key);
    let foreign_key = wxtpl::jwt::sign(&claims(now + 600), &stack.jwt_key);
    let mut tampered = session.clone();
    tampered.pop();
    tampered.push(if session.ends_with('A') { 'B' } else { 'A' });
    for token in [
        expired,
        foreign_key,
        tampered,
        stack.token(Role::Merchant),
        "x".into(),
    ] {
        let (code, out) = stack.get(&path, &token).await;
        assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    }
    let (code, out) = stack.get("/app/cards", "").await;
    assert_eq!(code, 401, "{out}");
    // A valid session is no staff token either.
    let (code, out) = stack
        .get(&format!("/app/staff/list?maAppId={app}"), &session)
        .await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    let (code, out) = stack.get(&path, &session).await;
    assert_eq!(code, 200, "{out}");

    // A used code is WeChat's 40029; a burst is 45011; neither creates anyone.
    let code_once = stack.js_code(&app, "frank").await;
    let body = json!({"componentAppid": stack.component_appid(), "appid": app, "code": code_once});
    let (status, out) = stack.post_anonymous("/app/login", &body).await;
    assert_eq!(status, 200, "{out}");
    let (status, out) = stack.post_anonymous("/app/login", &body).await;
    assert_refused(status, &out, 400, "WECHAT_CODE_INVALID", "");
    assert_eq!(out["error"]["wechatErrcode"], 40029, "{out}");
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "jscode2session", "errcode": 45011, "times": 1}),
        )
        .await;
    let (status, out) = stack.customer_login(&app, "gina", json!({})).await;
    assert_refused(status, &out, 429, "WECHAT_QUOTA_EXCEEDED", "");
    assert_eq!(out["error"]["wechatErrcode"], 45011, "{out}");
    let (status, out) = stack.customer_login(&app, "gina", json!({})).await;
    assert_eq!((status, &out["firstLogin"]), (200, &json!(true)), "{out}");

    // Malformed logins never reach WeChat.
    let asked = stack.counter("jscode2session").await;
    for bad in [
        json!({"componentAppid": stack.component_appid(), "appid": "not-an-appid", "code": "x"}),
        json!({"componentAppid": stack.component_appid(), "appid": app, "code": ""}),
        json!({"componentAppid": stack.component_appid(), "appid": app, "code": "x", "uid": "admin"}),
        json!({"componentAppid": stack.component_appid(), "appid": app, "code": "x", "source": 2}),
        json!({"componentAppid": stack.component_appid(), "appid": app, "code": "x", "openid": "o1"}),
        json!({"componentAppid": stack.component_appid(), "appid": app, "code": "x".repeat(200)}),
    ] {
        let (status, out) = stack.post_anonymous("/app/login", &bad).await;
        assert_eq!(status, 400, "{bad}: {out}");
    }
    // A mini-program that is not this component's: 404 without asking WeChat.
    let stranger = json!({"componentAppid": stack.component_appid(), "appid": "wx00000000000000aa", "code": "x"});
    let (status, out) = stack.post_anonymous("/app/login", &stranger).await;
    assert_refused(status, &out, 404, "NOT_FOUND", "wx00000000000000aa");
    assert_eq!(stack.counter("jscode2session").await, asked);

    // Customer routes refuse malformed input.
    for (path, body) in [
        (
            "/app/card/praise",
            json!({"staffId": staff, "praise": "yes"}),
        ),
        (
            "/app/card/praise",
            json!({"staffId": "s_nothex", "praise": true}),
        ),
        (
            "/app/card/praise",
            json!({"staffId": staff, "praise": true, "target": "logo"}),
        ),
        ("/app/card/act", json!({"staffId": staff, "action": "hug"})),
        ("/app/card/act", json!({"staffId": staff})),
    ] {
        let (status, out) = stack.post(path, &session, &body).await;
        assert_eq!(status, 400, "{path} {body}: {out}");
    }
    let (status, out) = stack
        .get("/app/card?staffId=s_0000000000000000", &session)
        .await;
    assert_refused(status, &out, 404, "NOT_FOUND", "s_0000000000000000");
}

#[tokio::test]
async fn staff_cards_are_the_merchants_own_to_keep() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app, staff) = stack.staffed_shop("rt-shop-d", "赵六").await;
    let stranger = stack.token_for_user(Role::Merchant, &unique("rt-stranger"));
    let ops = stack.token(Role::Operator);

    // A change at the version read; a stale one is refused and changes nothing.
    let change =
        json!({"maAppId": app, "staffId": staff, "version": 1, "card": staff_card("赵六六")});
    let (code, out) = stack.post("/app/staff/save", &merchant, &change).await;
    assert_eq!(
        (code, &out["version"], &out["name"]),
        (200, &json!(2), &json!("赵六六")),
        "{out}"
    );
    let (code, out) = stack.post("/app/staff/save", &merchant, &change).await;
    assert_refused(code, &out, 409, "CONFLICT", "stale");
    // Operators keep the component's cards too; other merchants and other roles do not.
    let (code, out) = stack
        .get(&format!("/app/staff/list?maAppId={app}"), &ops)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["items"][0]["name"], "赵六六");
    let (code, out) = stack
        .get(&format!("/app/staff/list?maAppId={app}"), &stranger)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let new = json!({"maAppId": app, "card": staff_card("外人")});
    let (code, out) = stack.post("/app/staff/save", &stranger, &new).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    for role in [Role::Developer, Role::Admin] {
        let (code, out) = stack
            .post("/app/staff/save", &stack.token(role), &new)
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    // Malformed cards and bodies.
    for bad in [
        json!({"maAppId": app, "card": {"name": ""}}),
        json!({"maAppId": app, "card": {"name": "x", "email": "nope"}}),
        json!({"maAppId": app, "card": {"name": "x", "avatar": "http://a.example.com/a.png"}}),
        json!({"maAppId": app, "card": {"name": "x".repeat(40)}}),
        json!({"maAppId": app, "card": {"name": "x"}, "extra": true}),
        json!({"maAppId": app, "version": 1, "card": {"name": "x"}}),
        json!({"maAppId": app, "staffId": staff, "card": {"name": "x"}}),
    ] {
        let (code, out) = stack.post("/app/staff/save", &merchant, &bad).await;
        assert_eq!(code, 400, "{bad}: {out}");
    }
    let huge = json!({"maAppId": app, "card": {"name": "x", "signature": "长".repeat(300_000)}});
    let (code, _) = stack.post("/app/staff/save", &merchant, &huge).await;
    assert_eq!(code, 413);

    // A create naming a requestId, sent twice at once and once more later, makes one card.
    let twice =
        json!({"maAppId": app, "requestId": unique("req-card"), "card": staff_card("孙八")});
    let (a, b) = tokio::join!(
        stack.post("/app/staff/save", &merchant, &twice),
        stack.post("/app/staff/save", &merchant, &twice)
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [200, 201], "{a:?} {b:?}");
    assert_eq!(a.1["id"], b.1["id"]);
    let (code, again) = stack.post("/app/staff/save", &merchant, &twice).await;
    assert_eq!((code, &again["id"]), (200, &a.1["id"]), "{again}");
    let (_, out) = stack
        .get(&format!("/app/staff/list?maAppId={app}"), &merchant)
        .await;
    let named = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "孙八")
        .count();
    assert_eq!(named, 1, "{out}");
    let bad = json!({"maAppId": app, "requestId": "short", "card": staff_card("x")});
    let (code, out) = stack.post("/app/staff/save", &merchant, &bad).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "requestId");
    let (code, out) = stack
        .post(
            "/app/staff/delete",
            &merchant,
            &json!({"maAppId": app, "staffId": a.1["id"]}),
        )
        .await;
    assert_eq!(code, 200, "{out}");

    // Deleting: the stranger cannot, the merchant can, once.
    let target = json!({"maAppId": app, "staffId": staff});
    let (code, out) = stack.post("/app/staff/delete", &stranger, &target).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let (code, out) = stack.post("/app/staff/delete", &merchant, &target).await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = stack.post("/app/staff/delete", &merchant, &target).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &staff);
    let (_, out) = stack
        .get(&format!("/app/staff/list?maAppId={app}"), &merchant)
        .await;
    assert_eq!(out["items"], json!([]), "{out}");
}

#[tokio::test]
async fn a_customer_tells_who_it_is_and_gives_its_phone_number_through_wechat() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (_, app, _) = stack.staffed_shop("rt-shop-e", "钱七").await;
    let (_, out) = stack.customer_login(&app, "helen", json!({})).await;
    let helen = out["session"].as_str().unwrap().to_owned();
    let (_, out) = stack.customer_login(&app, "ivan", json!({})).await;
    let ivan = out["session"].as_str().unwrap().to_owned();

    // What the customer tells about itself, with the form id the old client still sends.
    let info = json!({"profile": {"nickName": "海伦", "avatarUrl": "https://img.example.com/h.png", "gender": 2,
                                  "city": "Hangzhou", "language": "zh_CN"}, "formId": "f0123"});
    let (code, out) = stack.post("/app/user/info", &helen, &info).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["profile"]["nickName"], "海伦", "{out}");
    for bad in [
        json!({"profile": {"gender": 3}}),
        json!({"profile": {"avatarUrl": "http://img.example.com/h.png"}}),
        json!({"profile": {"nickName": "x".repeat(65)}}),
        json!({"profile": {}, "formId": ""}),
        json!({"profile": {"openid": "o-forged"}}),
    ] {
        let (code, out) = stack.post("/app/user/info", &helen, &bad).await;
        assert_eq!(code, 400, "{bad}: {out}");
    }

    // The button's code: WeChat vouches for the number, once, and only for the customer it was given to.
    let phone_code = |user: &'static str, phone: &'static str| {
        let stack = &stack;
        let app = app.clone();
        async move {
            stack
                .sandbox(
                    "/control/phonecode",
                    json!({"appid": app, "user": user, "phone": phone}),
                )
                .await["code"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let code = phone_code("helen", "13912345678").await;
    let (status, out) = stack
        .post("/app/user/phone", &helen, &json!({"code": code}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["phone"]["phoneNumber"], "13912345678", "{out}");
    let (status, out) = stack
        .post("/app/user/phone", &helen, &json!({"code": code}))
        .await;
    assert_refused(status, &out, 400, "WECHAT_CODE_INVALID", "");
    let ivans = phone_code("ivan", "13700000000").await;
    let (status, out) = stack
        .post("/app/user/phone", &helen, &json!({"code": ivans}))
        .await;
    assert_refused(status, &out, 400, "WECHAT_CODE_INVALID", "");

    // The legacy encryptedData, under the customer's latest session key, watermarked for this mini-program.
    let sealed = |extra: Value| {
        let stack = &stack;
        let mut body = json!({"appid": app, "user": "helen",
                              "data": {"phoneNumber": "+86 13600000000", "purePhoneNumber": "13600000000",
                                       "countryCode": "86"}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        async move { stack.sandbox("/control/userdata", body).await }
    };
    let legacy = sealed(json!({})).await;
    let (status, out) = stack.post("/app/user/phone", &helen, &legacy).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["phone"]["purePhoneNumber"], "13600000000", "{out}");
    let foreign = sealed(json!({"watermarkAppid": "wx00000000000000aa"})).await;
    let (status, out) = stack.post("/app/user/phone", &helen, &foreign).await;
    assert_refused(status, &out, 400, "BAD_REQUEST", "another mini-program");
    // Another customer's data does not open with this customer's key.
    let (status, out) = stack.post("/app/user/phone", &ivan, &legacy).await;
    assert_refused(status, &out, 400, "BAD_REQUEST", "session key");
    // After a new login (a new session key) the old data no longer opens either.
    let (_, out) = stack.customer_login(&app, "helen", json!({})).await;
    let helen = out["session"].as_str().unwrap().to_owned();
    let (status, out) = stack.post("/app/user/phone", &helen, &legacy).await;
    assert_refused(status, &out, 400, "BAD_REQUEST", "session key");
    for bad in [
        json!({}),
        json!({"code": "c", "iv": "AAAA"}),
        json!({"encryptedData": "AAAA"}),
        json!({"encryptedData": "x".repeat(5000), "iv": "AAAA"}),
    ] {
        let (status, out) = stack.post("/app/user/phone", &helen, &bad).await;
        assert_eq!(status, 400, "{bad}: {out}");
    }
    // What was kept stays: the number WeChat vouched for last.
    let (_, out) = stack.post("/app/user/info", &helen, &info).await;
    assert_eq!(out["phone"]["purePhoneNumber"], "13600000000", "{out}");
}

/// The poster's pixels: (width, height, RGB rows).
fn poster_pixels(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (info.width, info.height, buf)
}

/// The distinct colours of a rectangle of the poster.
fn colours(
    poster: &(u32, u32, Vec<u8>),
    x: std::ops::Range<u32>,
    y: std::ops::Range<u32>,
) -> usize {
    let (width, _, data) = poster;
    let mut seen = std::collections::HashSet::new();
    for row in y {
        for col in x.clone() {
            let at = ((row * width + col) * 3) as usize;
            seen.insert([data[at], data[at + 1], data[at + 2]]);
        }
    }
    seen.len()
}

/// The object an answer's presigned URL names, without its signature.
fn object_of(answer: &Value) -> String {
    answer["url"]
        .as_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_cards_poster_is_drawn_once_with_its_code_and_made_anew_when_the_card_changes() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (merchant, app_a, staff_a) = stack.staffed_shop("rt-poster-a", "王芳").await;
    let (_, _app_b, staff_b) = stack.staffed_shop("rt-poster-b", "李雷").await;
    let alice = stack.customer_session(&app_a, "poster-alice").await;
    let bob = stack.customer_session(&app_a, "poster-bob").await;
    let codes_before = stack.codes_made(&app_a).await.len();

    let ask = json!({"staffId": staff_a, "page": "pages/card/card"});
    let (code, first) = stack.post("/app/card/poster", &alice, &ask).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["reused"], false, "{first}");
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(750), Some(1100))
    );
    let poster = poster_pixels(&stack.download(&first).await);
    assert_eq!((poster.0, poster.1), (750, 1100));
    // The band, the name drawn on it (more than its two colours), and the code below (the sandbox's grey code).
    assert_eq!(colours(&poster, 0..20, 0..20), 1);
    assert!(colours(&poster, 60..400, 60..140) > 2, "no name drawn");
    assert!(colours(&poster, 215..535, 680..1000) >= 8, "no code drawn");
    let codes = stack.codes_made(&app_a).await;
    assert_eq!(codes.len(), codes_before + 1, "{codes:?}");
    assert_eq!(codes.last().unwrap()["scene"], format!("uid={staff_a}"));
    assert_eq!(codes.last().unwrap()["page"], "pages/card/card");

    // Another customer, and two at once: the same object, WeChat not asked again.
    let (again_one, again_two) = tokio::join!(
        stack.post("/app/card/poster", &bob, &ask),
        stack.post("/app/card/poster", &alice, &ask)
    );
    for (code, out) in [&again_one, &again_two] {
        assert_eq!(*code, 200, "{out}");
        assert_eq!(out["reused"], true, "{out}");
        assert_eq!(object_of(out), object_of(&first));
    }
    assert_eq!(stack.codes_made(&app_a).await.len(), codes_before + 1);

    // The card changes: a new poster, with the same code (kept), asked for by two customers at once.
    let (code, saved) = stack
        .post(
            "/app/staff/save",
            &merchant,
            &json!({"maAppId": app_a, "staffId": staff_a, "version": 1, "card": staff_card("王芳芳")}),
        )
        .await;
    assert_eq!(code, 200, "{saved}");
    let (one, two) = tokio::join!(
        stack.post("/app/card/poster", &alice, &ask),
        stack.post("/app/card/poster", &bob, &ask)
    );
    assert_eq!((one.0, two.0), (200, 200), "{one:?} {two:?}");
    assert_eq!(object_of(&one.1), object_of(&two.1));
    assert_ne!(object_of(&one.1), object_of(&first));
    assert_eq!(stack.codes_made(&app_a).await.len(), codes_before + 1);
    assert_ne!(stack.download(&one.1).await, stack.download(&first).await);

    // Refusals, none reaching WeChat: another shop's card, malformed ids and pages, unknown fields, no session, a
    // staff token.
    let refusals = [
        (json!({"staffId": staff_b}), 404, "NOT_FOUND"),
        (json!({"staffId": "s_nope"}), 400, "INVALID_ID"),
        (
            json!({"staffId": staff_a, "page": "/pages/card/card"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"staffId": staff_a, "page": "pages/card?x=1"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"staffId": staff_a, "scene": "uid=other"}),
            400,
            "BAD_REQUEST",
        ),
        (json!({}), 400, "BAD_REQUEST"),
    ];
    for (body, status, code_name) in refusals {
        let (code, out) = stack.post("/app/card/poster", &alice, &body).await;
        assert_refused(code, &out, status, code_name, "");
    }
    let (code, out) = stack.post_anonymous("/app/card/poster", &ask).await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    let (code, out) = stack.post("/app/card/poster", &merchant, &ask).await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    assert_eq!(stack.codes_made(&app_a).await.len(), codes_before + 1);
}
