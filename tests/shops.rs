//! Shops, black-box: a merchant names shops and groups its mini-program under one (seed 000's shop `appId`),
//! renames, moves and deletes them; another merchant's shop or mini-program, wrong roles, bad input, a stale
//! version and two shops taking one mini-program at once are refused, and nothing is half-written.
use serde_json::{json, Value};
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

async fn shops(stack: &Stack, token: &str) -> Vec<Value> {
    let (code, out) = stack.get("/shop/list", token).await;
    assert_eq!(code, 200, "{out}");
    out["shops"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_merchant_names_shops_and_moves_its_mini_program_between_them() {
    let stack = Stack::connect().await;
    let ann = stack.token_for_user(Role::Merchant, &unique("ann"));
    let appid = stack.own_mini_program(&ann).await;

    let (code, tea) = stack
        .post(
            "/shop/create",
            &ann,
            &json!({"name": "Ann's Tea 安茶", "maAppId": appid, "officialAccountAppId": "wxoa00000000000001"}),
        )
        .await;
    assert_eq!(code, 201, "{tea}");
    assert_eq!(
        (
            &tea["appId"],
            &tea["maAppId"],
            &tea["name"],
            &tea["version"]
        ),
        (
            &json!(appid),
            &json!(appid),
            &json!("Ann's Tea 安茶"),
            &json!(1)
        )
    );
    assert_eq!(tea["officialAccountAppId"], "wxoa00000000000001");
    let tea_id = tea["shopId"].as_str().unwrap().to_owned();

    // A second shop, without a mini-program: the one in the first shop cannot be in it too.
    let (code, kiosk) = stack
        .post("/shop/create", &ann, &json!({"name": "Ann's Kiosk"}))
        .await;
    assert_eq!((code, &kiosk["appId"]), (201, &json!(null)), "{kiosk}");
    let kiosk_id = kiosk["shopId"].as_str().unwrap().to_owned();
    let link = json!({"shopId": kiosk_id, "version": 1, "maAppId": appid});
    let (code, out) = stack.post("/shop/update", &ann, &link).await;
    assert_refused(code, &out, 409, "CONFLICT", &tea_id);
    let listed = shops(&stack, &ann).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (
            &listed[0]["shopId"],
            &listed[0]["appId"],
            &listed[1]["appId"]
        ),
        (&json!(tea_id), &json!(appid), &json!(null)),
        "oldest first, nothing moved"
    );

    // Renamed and its mini-program taken off ("" unlinks), the mini-program goes to the kiosk.
    let (code, out) = stack
        .post(
            "/shop/update",
            &ann,
            &json!({"shopId": tea_id, "version": 1, "name": "Ann's Teahouse", "maAppId": ""}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (
            &out["name"],
            &out["appId"],
            &out["version"],
            &out["officialAccountAppId"]
        ),
        (
            &json!("Ann's Teahouse"),
            &json!(null),
            &json!(2),
            &json!("wxoa00000000000001")
        )
    );
    let (code, out) = stack.post("/shop/update", &ann, &link).await;
    assert_eq!((code, &out["appId"]), (200, &json!(appid)), "{out}");

    // A stale version is refused and changes nothing.
    let stale = json!({"shopId": tea_id, "version": 1, "name": "Late"});
    let (code, out) = stack.post("/shop/update", &ann, &stale).await;
    assert_refused(code, &out, 409, "CONFLICT", "stale");

    // Deleting the kiosk frees the mini-program: the teahouse takes it back.
    let (code, out) = stack
        .post(
            "/shop/delete",
            &ann,
            &json!({"shopId": kiosk_id, "version": 2}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    let back = json!({"shopId": tea_id, "version": 2, "maAppId": appid});
    let (code, out) = stack.post("/shop/update", &ann, &back).await;
    assert_eq!((code, &out["appId"]), (200, &json!(appid)), "{out}");
    let listed = shops(&stack, &ann).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "Ann's Teahouse");
}

#[tokio::test]
async fn shops_refuse_strangers_wrong_roles_bad_input_and_a_double_take() {
    let stack = Stack::connect().await;
    let bea = stack.token_for_user(Role::Merchant, &unique("bea"));
    let cat = stack.token_for_user(Role::Merchant, &unique("cat"));
    let appid = stack.own_mini_program(&bea).await;
    let (code, shop) = stack
        .post("/shop/create", &bea, &json!({"name": "Bea's"}))
        .await;
    assert_eq!(code, 201, "{shop}");
    let id = shop["shopId"].as_str().unwrap().to_owned();

    // Two shops take the same mini-program at once: one has it, the other is told why not.
    let create = json!({"name": "One", "maAppId": appid});
    let update = json!({"shopId": id, "version": 1, "maAppId": appid});
    let (a, b) = tokio::join!(
        stack.post("/shop/create", &bea, &create),
        stack.post("/shop/update", &bea, &update)
    );
    let won = [a.0 == 201, b.0 == 200];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{} {}", a.1, b.1);
    let lost = if won[0] { &b } else { &a };
    assert_refused(lost.0, &lost.1, 409, "CONFLICT", "");
    let holding: Vec<Value> = shops(&stack, &bea)
        .await
        .into_iter()
        .filter(|s| s["appId"] == json!(appid))
        .collect();
    assert_eq!(holding.len(), 1, "exactly one shop holds it");
    // The loser wrote nothing: a created shop that lost does not exist, an updated one kept its version.
    let count = shops(&stack, &bea).await.len();
    assert_eq!(count, if a.0 == 201 { 2 } else { 1 });

    // Another merchant: Bea's shop is not found, nor is her mini-program.
    let (code, out) = stack
        .post(
            "/shop/update",
            &cat,
            &json!({"shopId": id, "version": 1, "name": "Mine"}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &id);
    let (code, out) = stack
        .post("/shop/delete", &cat, &json!({"shopId": id, "version": 1}))
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &id);
    let (code, out) = stack
        .post(
            "/shop/create",
            &cat,
            &json!({"name": "Cat's", "maAppId": appid}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    assert!(shops(&stack, &cat).await.is_empty(), "nothing half-written");

    // Wrong roles.
    for role in [Role::Developer, Role::Operator, Role::Admin] {
        let token = stack.token(role);
        let (code, out) = stack.get("/shop/list", &token).await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
        let (code, out) = stack
            .post("/shop/create", &token, &json!({"name": "x"}))
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }

    // Bad input.
    for (body, status, error) in [
        (json!({"name": ""}), 400, "BAD_REQUEST"),
        (json!({"name": "   "}), 400, "BAD_REQUEST"),
        (json!({"name": "x".repeat(31)}), 400, "BAD_REQUEST"),
        (json!({"name": "a\u{7}b"}), 400, "BAD_REQUEST"),
        (json!({"name": "ok", "maAppId": "../x"}), 400, "INVALID_ID"),
        (
            json!({"name": "ok", "officialAccountAppId": "wx oa"}),
            400,
            "INVALID_ID",
        ),
        (json!({"name": "ok", "owner": "cat"}), 400, "BAD_REQUEST"),
    ] {
        let (code, out) = stack.post("/shop/create", &bea, &body).await;
        assert_refused(code, &out, status, error, "");
    }
    let (code, out) = stack
        .post(
            "/shop/update",
            &bea,
            &json!({"shopId": "../x", "version": 1}),
        )
        .await;
    assert_refused(code, &out, 400, "INVALID_ID", "shopId");
    let (code, out) = stack.get("/shop/list?limit=0", &bea).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "limit");
}

#[tokio::test]
async fn a_new_owner_takes_the_mini_program_from_its_former_owners_shop() {
    let stack = Stack::connect().await;
    let dee = stack.token_for_user(Role::Merchant, &unique("dee"));
    let eve = stack.token_for_user(Role::Merchant, &unique("eve"));
    let appid = stack.own_mini_program(&dee).await;
    let (code, old) = stack
        .post(
            "/shop/create",
            &dee,
            &json!({"name": "Dee's", "maAppId": appid}),
        )
        .await;
    assert_eq!(code, 201, "{old}");

    // Its WeChat admin revokes it and authorizes it again through Eve's link: Eve's shop may take it.
    let out = stack
        .sandbox("/control/unauthorize", json!({"appid": appid}))
        .await;
    assert_eq!(out["delivery"]["delivered"], true, "{out}");
    let again = stack.consent(&eve, Some(&appid)).await;
    assert_eq!(again["outcome"], "authorized", "{again}");
    let (code, new) = stack
        .post(
            "/shop/create",
            &eve,
            &json!({"name": "Eve's", "maAppId": appid}),
        )
        .await;
    assert_eq!((code, &new["appId"]), (201, &json!(appid)), "{new}");
    // Dee's shop lost it in the same write, and Dee cannot take it back.
    let dees = shops(&stack, &dee).await;
    assert_eq!(
        (&dees[0]["appId"], &dees[0]["version"]),
        (&json!(null), &json!(2))
    );
    let back = json!({"shopId": dees[0]["shopId"], "version": 2, "maAppId": appid});
    let (code, out) = stack.post("/shop/update", &dee, &back).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
}
