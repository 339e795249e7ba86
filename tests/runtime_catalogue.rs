//! The runtime API's catalogue (seed 002 §3), black-box on the local stack: a merchant keeps goods categories in a
//! two-level tree and products in them; customers browse what is on sale, by category, and forward products; a
//! category in use is not deleted (the seed's 304); another shop sees none of it.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, unique, Stack};
use wxtpl::http::auth::Role;

async fn category(
    stack: &Stack,
    token: &str,
    app: &str,
    name: &str,
    parent: Option<&str>,
    sort: i64,
) -> String {
    let mut body = json!({"maAppId": app, "name": name, "sort": sort});
    if let Some(p) = parent {
        body["parentId"] = json!(p);
    }
    let (code, out) = stack.post("/app/category/save", token, &body).await;
    assert_eq!(code, 201, "{out}");
    out["id"].as_str().unwrap().to_owned()
}

fn product(name: &str, category: Option<&str>, on_sale: bool, sort: i64) -> Value {
    json!({"name": name, "categoryId": category, "price": 8800, "cover": "https://img.example.com/p.png",
           "images": ["https://img.example.com/1.png"], "details": "<p>明前龙井</p>", "onSale": on_sale, "sort": sort})
}

async fn add_product(stack: &Stack, token: &str, app: &str, p: Value) -> Value {
    let (code, out) = stack
        .post(
            "/app/product/save",
            token,
            &json!({"maAppId": app, "product": p}),
        )
        .await;
    assert_eq!(code, 201, "{out}");
    out
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_merchant_keeps_a_catalogue_and_customers_browse_what_is_on_sale() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("rt-goods-a"));
    let app = stack.own_mini_program(&merchant).await;
    let tea = category(&stack, &merchant, &app, "茶叶", None, 2).await;
    let cakes = category(&stack, &merchant, &app, "茶点", None, 1).await;
    let green = category(&stack, &merchant, &app, "绿茶", Some(&tea), 0).await;
    // Two levels only; a parent that does not exist is 404.
    let (code, out) = stack
        .post(
            "/app/category/save",
            &merchant,
            &json!({"maAppId": app, "name": "三级", "parentId": green}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "two levels");
    let (code, out) = stack
        .post(
            "/app/category/save",
            &merchant,
            &json!({"maAppId": app, "name": "x", "parentId": "g_0000000000000000"}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "g_0000000000000000");

    let longjing = add_product(
        &stack,
        &merchant,
        &app,
        product("龙井", Some(&green), true, 2),
    )
    .await;
    add_product(
        &stack,
        &merchant,
        &app,
        product("碧螺春", Some(&green), true, 1),
    )
    .await;
    add_product(
        &stack,
        &merchant,
        &app,
        product("下架茶", Some(&green), false, 0),
    )
    .await;
    add_product(
        &stack,
        &merchant,
        &app,
        product("绿豆糕", Some(&cakes), true, 0),
    )
    .await;
    let longjing_id = longjing["id"].as_str().unwrap().to_owned();

    // The customer's tree and shelves: sort order, on sale only.
    let alice = stack.customer_session(&app, "alice").await;
    let (code, tree) = stack.get("/app/categories", &alice).await;
    assert_eq!(code, 200, "{tree}");
    assert_eq!(names(&tree["items"]), vec!["茶点", "茶叶"], "{tree}");
    assert_eq!(names(&tree["items"][1]["items"]), vec!["绿茶"], "{tree}");
    assert_eq!(tree["items"][1]["items"][0]["products"], 3, "{tree}");
    let (code, shelf) = stack
        .get(&format!("/app/products?categoryId={green}"), &alice)
        .await;
    assert_eq!(code, 200, "{shelf}");
    assert_eq!(names(&shelf["items"]), vec!["碧螺春", "龙井"], "{shelf}");
    // A page at a time, following the cursor.
    let (_, first) = stack
        .get(&format!("/app/products?categoryId={green}&limit=1"), &alice)
        .await;
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second) = stack
        .get(
            &format!("/app/products?categoryId={green}&limit=1&cursor={cursor}"),
            &alice,
        )
        .await;
    assert_eq!(
        (names(&first["items"]), names(&second["items"])),
        (vec!["碧螺春".to_owned()], vec!["龙井".to_owned()])
    );
    let (_, all) = stack.get("/app/products", &alice).await;
    assert!(
        !names(&all["items"]).contains(&"下架茶".to_owned()),
        "{all}"
    );
    // The merchant's side sees everything, off sale too.
    let (code, mine) = stack
        .get(
            &format!("/app/products?maAppId={app}&categoryId={green}"),
            &merchant,
        )
        .await;
    assert_eq!(code, 200, "{mine}");
    let (_, everything) = stack
        .get(&format!("/app/products?maAppId={app}"), &merchant)
        .await;
    assert_eq!(
        everything["items"].as_array().unwrap().len(),
        4,
        "{everything}"
    );

    // One product, and its forwards.
    let (code, one) = stack
        .get(&format!("/app/product?productId={longjing_id}"), &alice)
        .await;
    assert_eq!((code, &one["price"]), (200, &json!(8800)), "{one}");
    for _ in 0..2 {
        let (code, out) = stack
            .post(
                "/app/product/forward",
                &alice,
                &json!({"productId": longjing_id}),
            )
            .await;
        assert_eq!(code, 200, "{out}");
    }
    // A change at the version read keeps the forwards; moving it counts it out of one category and into another.
    let change = json!({"maAppId": app, "productId": longjing_id, "version": 1,
                        "product": product("龙井 2026", Some(&cakes), true, 0)});
    let (code, out) = stack.post("/app/product/save", &merchant, &change).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (&out["forwards"], &out["version"]),
        (&json!(2), &json!(2)),
        "{out}"
    );
    let (code, out) = stack.post("/app/product/save", &merchant, &change).await;
    assert_refused(code, &out, 409, "CONFLICT", "stale");
    let (_, tree) = stack
        .get(&format!("/app/categories?maAppId={app}"), &merchant)
        .await;
    assert_eq!(tree["items"][0]["products"], 2, "{tree}");
    assert_eq!(tree["items"][1]["items"][0]["products"], 2, "{tree}");

    // A category in use is not deleted; emptied, it is.
    let (code, out) = stack
        .post(
            "/app/category/delete",
            &merchant,
            &json!({"maAppId": app, "categoryId": tea}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "1 sub-categories");
    let (code, out) = stack
        .post(
            "/app/category/delete",
            &merchant,
            &json!({"maAppId": app, "categoryId": green}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "2 products");
    let (_, all) = stack
        .get(&format!("/app/products?maAppId={app}"), &merchant)
        .await;
    for p in all["items"].as_array().unwrap() {
        if p["categoryId"] == json!(green) {
            let (code, out) = stack
                .post(
                    "/app/product/delete",
                    &merchant,
                    &json!({"maAppId": app, "productId": p["id"]}),
                )
                .await;
            assert_eq!(code, 200, "{out}");
        }
    }
    for id in [&green, &tea] {
        let (code, out) = stack
            .post(
                "/app/category/delete",
                &merchant,
                &json!({"maAppId": app, "categoryId": id}),
            )
            .await;
        assert_eq!(code, 200, "{out}");
    }
    let (_, tree) = stack.get("/app/categories", &alice).await;
    assert_eq!(names(&tree["items"]), vec!["茶点"], "{tree}");
    // A product cannot land in a category that is gone.
    let (code, out) = stack
        .post(
            "/app/product/save",
            &merchant,
            &json!({"maAppId": app, "product": product("x", Some(&green), true, 0)}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &green);
}

#[tokio::test]
async fn the_catalogue_refuses_strangers_other_shops_and_bad_input() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("rt-goods-b"));
    let app = stack.own_mini_program(&merchant).await;
    let other = stack.token_for_user(Role::Merchant, &unique("rt-goods-c"));
    let other_app = stack.own_mini_program(&other).await;
    let cakes = category(&stack, &merchant, &app, "茶点", None, 0).await;
    let hidden = add_product(
        &stack,
        &merchant,
        &app,
        product("下架", Some(&cakes), false, 0),
    )
    .await;
    let hidden_id = hidden["id"].as_str().unwrap().to_owned();

    // Another shop's customer and merchant see nothing of this one.
    let bob = stack.customer_session(&other_app, "bob").await;
    let (_, tree) = stack.get("/app/categories", &bob).await;
    assert_eq!(tree["items"], json!([]), "{tree}");
    let (code, out) = stack
        .get(&format!("/app/product?productId={hidden_id}"), &bob)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &hidden_id);
    let (code, out) = stack
        .get(&format!("/app/categories?maAppId={app}"), &other)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let (code, out) = stack
        .post(
            "/app/product/save",
            &other,
            &json!({"maAppId": app, "product": product("x", None, true, 0)}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    // This shop's customers do not see what is off sale, nor forward what does not exist.
    let alice = stack.customer_session(&app, "alice").await;
    let (code, out) = stack
        .get(&format!("/app/product?productId={hidden_id}"), &alice)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &hidden_id);
    let (code, out) = stack
        .post(
            "/app/product/forward",
            &alice,
            &json!({"productId": "p_0000000000000000"}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "p_0000000000000000");
    // Customers cannot write; staff of other roles neither; sessions are no staff tokens.
    let (code, out) = stack
        .post(
            "/app/category/save",
            &alice,
            &json!({"maAppId": app, "name": "x"}),
        )
        .await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    for role in [Role::Developer, Role::Admin] {
        let (code, out) = stack
            .post(
                "/app/category/save",
                &stack.token(role),
                &json!({"maAppId": app, "name": "x"}),
            )
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let (code, out) = stack
        .get("/app/products", &stack.token(Role::Merchant))
        .await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    // Malformed input.
    for bad in [
        json!({"maAppId": app, "name": ""}),
        json!({"maAppId": app, "name": "x", "sort": -1}),
        json!({"maAppId": app, "name": "x", "parentId": "tea"}),
        json!({"maAppId": app, "name": "x", "categoryId": cakes}),
        json!({"maAppId": app, "name": "x", "extra": 1}),
    ] {
        let (code, out) = stack.post("/app/category/save", &merchant, &bad).await;
        assert_eq!(code, 400, "{bad}: {out}");
    }
    let with = |key: &str, value: Value| {
        let mut p = product("x", None, true, 0);
        p[key] = value;
        p
    };
    for bad in [
        with("price", json!(-5)),
        with("name", json!("")),
        with("categoryId", json!("g_bad")),
        with("cover", json!("http://a.example.com/c.png")),
        with("stock", json!(3)),
    ] {
        let (code, out) = stack
            .post(
                "/app/product/save",
                &merchant,
                &json!({"maAppId": app, "product": bad}),
            )
            .await;
        assert_eq!(code, 400, "{bad}: {out}");
    }
    let (code, out) = stack.get("/app/products?categoryId=nope", &alice).await;
    assert_eq!(code, 400, "{out}");
    // A product create naming a requestId, sent three times at once, is one product counted once in its category.
    let once = json!({"maAppId": app, "requestId": unique("req-product"), "product": product("一次", Some(&cakes), true, 0)});
    let sent = futures::future::join_all(
        (0..3).map(|_| stack.post("/app/product/save", &merchant, &once)),
    )
    .await;
    let ids: std::collections::HashSet<String> = sent
        .iter()
        .map(|(_, out)| out["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{sent:?}");
    assert_eq!(
        sent.iter().filter(|(c, _)| *c == 201).count(),
        1,
        "{sent:?}"
    );
    let (_, tree) = stack
        .get(&format!("/app/categories?maAppId={app}"), &merchant)
        .await;
    assert_eq!(tree["items"][0]["products"], 2, "{tree}");
    // Deleting one category twice at once: one succeeds, the other finds it gone.
    let spare = category(&stack, &merchant, &app, "备用", None, 0).await;
    let target = json!({"maAppId": app, "categoryId": spare});
    let (x, y) = tokio::join!(
        stack.post("/app/category/delete", &merchant, &target),
        stack.post("/app/category/delete", &merchant, &target)
    );
    let mut codes = [x.0, y.0];
    codes.sort();
    assert_eq!(codes, [200, 404], "{x:?} {y:?}");
}

#[tokio::test]
async fn the_website_and_shop_settings_are_the_merchants_to_write_and_customers_to_read() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = stack.token_for_user(Role::Merchant, &unique("rt-site-a"));
    let app = stack.own_mini_program(&merchant).await;
    let other = stack.token_for_user(Role::Merchant, &unique("rt-site-b"));
    let other_app = stack.own_mini_program(&other).await;
    let alice = stack.customer_session(&app, "alice").await;
    let bob = stack.customer_session(&other_app, "bob").await;

    // Nothing saved yet: null, version 0.
    let (code, out) = stack.get("/app/website", &alice).await;
    assert_eq!(
        (code, &out["website"], &out["version"]),
        (200, &Value::Null, &json!(0)),
        "{out}"
    );

    let site = json!({"title": "安茶", "intro": "杭州的茶馆", "banners": ["https://img.example.com/b.png"],
                      "sections": [{"title": "关于我们", "body": "since 2019"}],
                      "contact": {"phone": "0571-88886666", "latitude": 30.25, "longitude": 120.16}});
    let first = json!({"maAppId": app, "website": site});
    let (code, out) = stack.post("/app/website/save", &merchant, &first).await;
    assert_eq!((code, &out["version"]), (201, &json!(1)), "{out}");
    // The first save again, or a stale version, writes nothing.
    let (code, out) = stack.post("/app/website/save", &merchant, &first).await;
    assert_refused(code, &out, 409, "CONFLICT", "version");
    let mut changed = site.clone();
    changed["title"] = json!("安茶 · 西湖店");
    let (code, out) = stack
        .post(
            "/app/website/save",
            &merchant,
            &json!({"maAppId": app, "version": 1, "website": changed}),
        )
        .await;
    assert_eq!((code, &out["version"]), (200, &json!(2)), "{out}");
    let (code, out) = stack
        .post(
            "/app/website/save",
            &merchant,
            &json!({"maAppId": app, "version": 1, "website": site}),
        )
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "stale");
    let (_, out) = stack.get("/app/website", &alice).await;
    assert_eq!(out["website"]["title"], "安茶 · 西湖店", "{out}");
    // Another shop's customers see their own shop's (nothing), its merchant cannot write this one.
    let (_, out) = stack.get("/app/website", &bob).await;
    assert_eq!(out["website"], Value::Null, "{out}");
    let (code, out) = stack
        .post(
            "/app/website/save",
            &other,
            &json!({"maAppId": app, "version": 2, "website": site}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let (code, out) = stack
        .get(&format!("/app/website?maAppId={app}"), &other)
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app);
    let (code, out) = stack
        .get(&format!("/app/website?maAppId={app}"), &merchant)
        .await;
    assert_eq!((code, &out["version"]), (200, &json!(2)), "{out}");

    // Settings, the same way; malformed ones are refused whole.
    let settings = json!({"shopName": "安茶", "phone": "0571-88886666", "openHours": "09:00-21:00",
                          "notice": "周一闭店"});
    let (code, out) = stack
        .post(
            "/app/settings/save",
            &merchant,
            &json!({"maAppId": app, "settings": settings}),
        )
        .await;
    assert_eq!(code, 201, "{out}");
    let (_, out) = stack.get("/app/settings", &alice).await;
    assert_eq!(out["settings"]["openHours"], "09:00-21:00", "{out}");
    for (path, bad) in [
        (
            "/app/settings/save",
            json!({"maAppId": app, "version": 1, "settings": {"shopName": ""}}),
        ),
        (
            "/app/settings/save",
            json!({"maAppId": app, "version": 1, "settings": {"shopName": "x", "phone": "call"}}),
        ),
        (
            "/app/settings/save",
            json!({"maAppId": app, "version": 1, "settings": {"shopName": "x", "stars": 5}}),
        ),
        (
            "/app/website/save",
            json!({"maAppId": app, "version": 2, "website": {"title": "x", "logo": "http://a.example.com/l.png"}}),
        ),
        (
            "/app/website/save",
            json!({"maAppId": app, "version": 2, "website": {"title": "x", "contact": {"latitude": 100}}}),
        ),
        (
            "/app/website/save",
            json!({"maAppId": app, "version": 2, "website": {"title": "x", "sections": [{"body": "no title"}]}}),
        ),
    ] {
        let (code, out) = stack.post(path, &merchant, &bad).await;
        assert_eq!(code, 400, "{bad}: {out}");
    }
    for role in [Role::Developer, Role::Admin] {
        let (code, out) = stack
            .post(
                "/app/settings/save",
                &stack.token(role),
                &json!({"maAppId": app, "settings": settings}),
            )
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let (code, out) = stack
        .post(
            "/app/settings/save",
            &alice,
            &json!({"maAppId": app, "settings": settings}),
        )
        .await;
    assert_refused(code, &out, 401, "UNAUTHENTICATED", "");
    let (_, out) = stack.get("/app/settings", &alice).await;
    assert_eq!(
        (&out["settings"]["notice"], &out["version"]),
        (&json!("周一闭店"), &json!(1)),
        "{out}"
    );
}
