//! WeChat Pay for merchants (runtime API part 2, seed 002 预支付), black-box against the WeChat Pay sandbox: the
//! provider registers its merchant, a shop names its sub-merchant, a customer orders at the stored prices and pays;
//! a notification delivered three times pays once, a tampered or mismatched one pays nothing, a query finds a
//! payment whose notification never came, closing and refunding move the order once, and nobody reaches another's.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, unique, Stack};
use wxtpl::http::auth::Role;

/// The provider's merchant registered for the stack's component (what an admin does once).
async fn register_merchant(stack: &Stack) {
    let merchant: Value =
        serde_json::from_str(&std::fs::read_to_string(&stack.env["PAY_MERCHANT_FILE"]).unwrap())
            .unwrap();
    let (code, out) = stack
        .post("/pay/merchant", &stack.token(Role::Admin), &merchant)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["spMchid"], merchant["spMchid"]);
    assert!(
        out.get("privateKey").is_none() && out.get("apiV3Key").is_none(),
        "{out}"
    );
}

/// A shop that takes WeChat Pay, with two products: (merchant, appid, [product ids]).
async fn paying_shop(stack: &Stack, name: &str) -> (String, String, Vec<String>) {
    let merchant = stack.token_for_user(Role::Merchant, &unique(name));
    let app = stack.own_mini_program(&merchant).await;
    let (code, out) = stack
        .post(
            "/app/settings/save",
            &merchant,
            &json!({"maAppId": app, "settings": {"shopName": "安茶", "subMchid": "1900000109"}}),
        )
        .await;
    assert_eq!(code, 201, "{out}");
    let mut products = Vec::new();
    for (name, price, on_sale) in [
        ("龙井", 1990, true),
        ("碧螺春", 500, true),
        ("停售的茶", 100, false),
    ] {
        let (code, p) = stack
            .post(
                "/app/product/save",
                &merchant,
                &json!({"maAppId": app, "product": {"name": name, "price": price, "onSale": on_sale}}),
            )
            .await;
        assert_eq!(code, 201, "{p}");
        products.push(p["id"].as_str().unwrap().to_owned());
    }
    (merchant, app, products)
}

async fn order(stack: &Stack, session: &str, no: &str) -> Value {
    let (code, out) = stack
        .get(&format!("/app/pay/order?outTradeNo={no}"), session)
        .await;
    assert_eq!(code, 200, "{out}");
    out
}

#[tokio::test]
async fn a_customer_pays_at_the_stored_prices_and_a_thrice_delivered_notification_pays_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    register_merchant(&stack).await;
    let (_, app, products) = paying_shop(&stack, "pay-shop").await;
    let alice = stack.customer_session(&app, &unique("pay-alice")).await;

    // The amount is the stored prices times the quantities; the client names no amount (one it sends is refused).
    let items = json!([{"productId": products[0], "quantity": 2}, {"productId": products[1], "quantity": 1}]);
    let (code, out) = stack
        .post(
            "/app/pay/prepay",
            &alice,
            &json!({"items": items, "amount": 1}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "amount");
    let ask = json!({"items": items, "requestId": unique("pay-order")});
    let (one, two) = tokio::join!(
        stack.post("/app/pay/prepay", &alice, &ask),
        stack.post("/app/pay/prepay", &alice, &ask)
    );
    assert_eq!((one.0, two.0), (200, 200), "{one:?} {two:?}");
    let placed = one.1;
    let no = placed["order"]["outTradeNo"].as_str().unwrap().to_owned();
    assert_eq!(
        two.1["order"]["outTradeNo"],
        no.as_str(),
        "the same requestId is the same order"
    );
    assert_eq!(placed["order"]["total"], 1990 * 2 + 500);
    assert_eq!(placed["order"]["state"], "created");
    let payment = &placed["payment"];
    assert_eq!(payment["signType"], "RSA");
    assert!(
        payment["package"]
            .as_str()
            .unwrap()
            .starts_with("prepay_id="),
        "{payment}"
    );
    assert_eq!(
        payment["package"], two.1["payment"]["package"],
        "one prepay for the same order"
    );
    // A crash between WeChat Pay's prepay answer and our write of it (the prepay id lost): the same request
    // again gets the same prepay from WeChat Pay and keeps it.
    let order_pk = format!("RT#{}#{app}", stack.component_appid());
    stack
        .remove_attribute(&order_pk, &format!("ORDER#{no}"), "prepay_id")
        .await;
    let (code, retried) = stack.post("/app/pay/prepay", &alice, &ask).await;
    assert_eq!(code, 200, "{retried}");
    assert_eq!(retried["payment"]["package"], payment["package"]);
    // paySign verifies with the provider's merchant key for this mini-program, and for no other appid.
    let check = |appid: &str| {
        json!({"appId": appid, "timeStamp": payment["timeStamp"], "nonceStr": payment["nonceStr"],
               "package": payment["package"], "paySign": payment["paySign"]})
    };
    assert_eq!(
        stack.pay_sandbox("/control/paysign", check(&app)).await["valid"],
        true
    );
    assert_eq!(
        stack
            .pay_sandbox("/control/paysign", check("wx0000000000000000"))
            .await["valid"],
        false
    );

    // Paid: the notification arrives three times at once, each answered 204; the order is paid once.
    let settled = stack
        .pay_sandbox(
            "/control/pay",
            json!({"outTradeNo": no, "deliveries": 3, "atOnce": true}),
        )
        .await;
    assert_eq!(settled["deliveries"], json!([204, 204, 204]), "{settled}");
    let paid = order(&stack, &alice, &no).await;
    assert_eq!(paid["state"], "paid", "{paid}");
    assert!(paid["transactionId"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    // Asked again, the same order: paid when it was, not twice.
    assert_eq!(order(&stack, &alice, &no).await["paidMs"], paid["paidMs"]);
    // A paid order is not prepaid again.
    let (code, out) = stack.post("/app/pay/prepay", &alice, &ask).await;
    assert_refused(code, &out, 409, "CONFLICT", "paid");
}

#[tokio::test]
async fn forged_mismatched_and_unseen_notifications_are_handled_and_orders_close_and_refund_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    register_merchant(&stack).await;
    let (merchant, app, products) = paying_shop(&stack, "pay-guard").await;
    let (other_merchant, other_app, _) = paying_shop(&stack, "pay-other").await;
    let alice = stack.customer_session(&app, &unique("guard-alice")).await;
    let bob = stack.customer_session(&app, &unique("guard-bob")).await;
    let place = |session: String| {
        let stack = &stack;
        let items = json!([{"productId": products[0], "quantity": 1}]);
        async move {
            let (code, out) = stack
                .post("/app/pay/prepay", &session, &json!({"items": items}))
                .await;
            assert_eq!(code, 200, "{out}");
            out["order"]["outTradeNo"].as_str().unwrap().to_owned()
        }
    };

    // A tampered notification (the body changed after signing) is refused and pays nothing.
    let tampered = place(alice.clone()).await;
    let out = stack
        .pay_sandbox(
            "/control/pay",
            json!({"outTradeNo": tampered, "tamper": true}),
        )
        .await;
    assert_eq!(out["deliveries"], json!([401]), "{out}");
    // ... but WeChat Pay has it paid: the customer's query finds the payment and records it.
    assert_eq!(order(&stack, &alice, &tampered).await["state"], "paid");

    // A notification whose amount is not the order's is refused; the order stays unpaid until a query checks it.
    let mismatched = place(alice.clone()).await;
    let out = stack
        .pay_sandbox(
            "/control/pay",
            json!({"outTradeNo": mismatched, "total": 1}),
        )
        .await;
    assert_eq!(out["deliveries"], json!([400]), "{out}");
    let state = stack
        .item(
            &format!("RT#{}#{app}", stack.component_appid()),
            &format!("ORDER#{mismatched}"),
        )
        .await
        .unwrap();
    assert_eq!(state["state"].as_s().unwrap(), "created");

    // A notification to a component that registered no merchant, or without WeChat Pay's headers, is refused.
    for (path, status) in [
        ("/pay/notify/wx0000000000000000", 404),
        (&*format!("/pay/notify/{}", stack.component_appid()), 401),
    ] {
        let (code, out) = stack.post_anonymous(path, &json!({"resource": {}})).await;
        assert_eq!(
            (code, out["code"].as_str()),
            (status, Some("FAIL")),
            "{path}: {out}"
        );
    }

    // A payment whose notification never came: the query sees it.
    let unseen = place(alice.clone()).await;
    let out = stack
        .pay_sandbox(
            "/control/pay",
            json!({"outTradeNo": unseen, "deliveries": 0}),
        )
        .await;
    assert_eq!(out["deliveries"], json!([]));
    assert_eq!(order(&stack, &alice, &unseen).await["state"], "paid");

    // Closing an unpaid order: once; a closed order is not paid.
    let closing = place(alice.clone()).await;
    let (code, closed) = stack
        .post("/app/pay/close", &alice, &json!({"outTradeNo": closing}))
        .await;
    assert_eq!(
        (code, closed["state"].as_str()),
        (200, Some("closed")),
        "{closed}"
    );
    let (code, again) = stack
        .post("/app/pay/close", &alice, &json!({"outTradeNo": closing}))
        .await;
    assert_eq!(
        (code, again["state"].as_str()),
        (200, Some("closed")),
        "{again}"
    );
    let (code, out) = stack
        .post("/app/pay/close", &alice, &json!({"outTradeNo": unseen}))
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "paid");

    // Refunds: the merchant's side, a paid order only, once.
    let refund = |no: &str| json!({"maAppId": app, "outTradeNo": no, "reason": "缺货"});
    let (code, refunded) = stack
        .post("/app/pay/refund", &merchant, &refund(&unseen))
        .await;
    assert_eq!(
        (code, refunded["state"].as_str()),
        (200, Some("refunded")),
        "{refunded}"
    );
    let (code, again) = stack
        .post("/app/pay/refund", &merchant, &refund(&unseen))
        .await;
    assert_eq!(
        (code, again["refundId"].clone()),
        (200, refunded["refundId"].clone()),
        "{again}"
    );
    // A crash between WeChat Pay's refund and our write of it (the order still paid here): the retry is the same
    // refund at WeChat Pay, not a second one.
    use aws_sdk_dynamodb::types::AttributeValue;
    let (pk, sk) = (
        AttributeValue::S(format!("RT#{}#{app}", stack.component_appid())),
        AttributeValue::S(format!("ORDER#{unseen}")),
    );
    stack
        .dynamo
        .update_item()
        .table_name(&stack.env["TABLE_NAME"])
        .key("PK", pk)
        .key("SK", sk)
        .update_expression("SET #s = :paid REMOVE refund_id")
        .expression_attribute_names("#s", "state")
        .expression_attribute_values(":paid", AttributeValue::S("paid".into()))
        .send()
        .await
        .unwrap();
    let (code, recovered) = stack
        .post("/app/pay/refund", &merchant, &refund(&unseen))
        .await;
    assert_eq!(
        (
            code,
            recovered["state"].as_str(),
            recovered["refundId"].clone()
        ),
        (200, Some("refunded"), refunded["refundId"].clone()),
        "{recovered}"
    );
    let sandbox_state = stack.pay_sandbox_get("/control/state").await;
    let refunds_of_unseen = sandbox_state["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["out_trade_no"] == unseen.as_str())
        .count();
    assert_eq!(refunds_of_unseen, 1, "one refund at WeChat Pay");
    let (code, out) = stack
        .post("/app/pay/refund", &merchant, &refund(&closing))
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "closed");

    // The lists: Alice's orders newest first, a page at a time; Bob has none; the merchant's side sees them all.
    let mut listed = Vec::new();
    let mut owners = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let (code, page) = stack
            .get(&format!("/app/pay/orders?limit=3{cursor}"), &alice)
            .await;
        assert_eq!(code, 200, "{page}");
        for o in page["items"].as_array().unwrap() {
            owners.insert(o["customerId"].to_string());
            listed.push(o["outTradeNo"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        listed,
        vec![
            closing.clone(),
            unseen.clone(),
            mismatched.clone(),
            tampered.clone()
        ]
    );
    assert_eq!(owners.len(), 1, "one customer's orders only: {owners:?}");
    let (code, none) = stack.get("/app/pay/orders", &bob).await;
    assert_eq!(
        (code, none["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{none}"
    );
    let (code, shop) = stack
        .get(
            &format!("/app/pay/orders?maAppId={app}&limit=100"),
            &merchant,
        )
        .await;
    assert_eq!(code, 200, "{shop}");
    assert_eq!(shop["items"].as_array().unwrap().len(), 4, "{shop}");
    let (code, out) = stack
        .get(&format!("/app/pay/orders?maAppId={app}"), &other_merchant)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "");
    let (code, out) = stack.get("/app/pay/orders", &merchant).await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");

    // Nobody reaches another's order: another customer, another shop's merchant, wrong roles, malformed input.
    let (code, out) = stack
        .get(&format!("/app/pay/order?outTradeNo={tampered}"), &bob)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &tampered);
    let (code, out) = stack
        .post("/app/pay/close", &bob, &json!({"outTradeNo": closing}))
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "");
    let (code, out) = stack
        .post("/app/pay/refund", &other_merchant, &refund(&tampered))
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "");
    let (code, out) = stack
        .post(
            "/app/pay/refund",
            &other_merchant,
            &json!({"maAppId": other_app, "outTradeNo": tampered}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &tampered);
    let (code, out) = stack
        .post(
            "/app/pay/refund",
            &stack.token(Role::Developer),
            &refund(&tampered),
        )
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack.post("/pay/merchant", &merchant, &json!({})).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack
        .post("/app/pay/refund", &alice, &refund(&tampered))
        .await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    let (code, out) = stack
        .post("/pay/merchant", &stack.token(Role::Admin), &json!({"spMchid": "x", "spAppid": "wx1", "serialNo": "AB",
                                                                  "privateKey": "nope", "apiV3Key": "short"}))
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "");
    let bad_items = [
        (json!({"items": []}), 400, "BAD_REQUEST"),
        (
            json!({"items": [{"productId": products[0], "quantity": 0}]}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"items": [{"productId": products[0], "quantity": 1}, {"productId": products[0], "quantity": 1}]}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"items": [{"productId": "p_nope", "quantity": 1}]}),
            400,
            "INVALID_ID",
        ),
        (
            json!({"items": [{"productId": "p_0000000000000000", "quantity": 1}]}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"items": [{"productId": products[2], "quantity": 1}]}),
            409,
            "CONFLICT",
        ),
        (
            json!({"items": [{"productId": products[0], "quantity": 1, "price": 1}]}),
            400,
            "BAD_REQUEST",
        ),
    ];
    for (body, status, code_name) in bad_items {
        let (code, out) = stack.post("/app/pay/prepay", &alice, &body).await;
        assert_refused(code, &out, status, code_name, "");
    }
    for query in ["", "?outTradeNo=x", "?outTradeNo=has%20space1"] {
        let (code, out) = stack.get(&format!("/app/pay/order{query}"), &alice).await;
        assert!(code == 400, "{query}: {code} {out}");
    }
    // A shop without a sub-merchant takes no payment.
    let (_, bare_app) = {
        let m = stack.token_for_user(Role::Merchant, &unique("pay-bare"));
        let a = stack.own_mini_program(&m).await;
        let (code, p) = stack
            .post(
                "/app/product/save",
                &m,
                &json!({"maAppId": a, "product": {"name": "茶", "price": 100}}),
            )
            .await;
        assert_eq!(code, 201, "{p}");
        (p, a)
    };
    let carol = stack
        .customer_session(&bare_app, &unique("pay-carol"))
        .await;
    let (code, list) = stack.get("/app/products", &carol).await;
    assert_eq!(code, 200, "{list}");
    let product = list["items"][0]["id"].clone();
    let (code, out) = stack
        .post(
            "/app/pay/prepay",
            &carol,
            &json!({"items": [{"productId": product, "quantity": 1}]}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "subMchid");
}
