//! Self-service accounts, black-box: a provider signs up, registers its component, invites staff and merchants;
//! the refusals of the three routes, their brakes, races on one account or one code, and tenants kept apart.
use serde_json::{json, Value};
use stack_tests::{assert_refused, fresh_source, serial, unique, Stack};
use wxtpl::http::auth::Role;

const PASSWORD: &str = "a-good-long-password";

/// A component appid nobody registered (the sandbox does not know it: its ticket push is reported, not fatal).
fn new_component_appid() -> String {
    format!("wx{}", wxtpl::random::hex(8))
}

/// A well-formed `/component/register` body for `appid` with `appsecret`.
fn registration(appid: &str, appsecret: &str) -> Value {
    json!({"appid": appid, "appsecret": appsecret, "token": "tok123",
        "encodingAesKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"})
}

async fn register_component(stack: &Stack, admin: &str, appid: &str) {
    let body = registration(appid, "0123456789abcdef0123");
    let (code, out) = stack.post("/component/register", admin, &body).await;
    assert!(code == 200 || code == 201, "{out}");
}

async fn invite(stack: &Stack, admin: &str, role: &str, components: &[&str]) -> String {
    let (code, out) = stack
        .post(
            "/invite/create",
            admin,
            &json!({"role": role, "components": components}),
        )
        .await;
    assert_eq!(code, 201, "{out}");
    out["code"].as_str().unwrap().to_owned()
}

async fn accept(stack: &Stack, code: &str, account: &str) -> (u16, Value) {
    stack
        .post_from(
            fresh_source(),
            "/invite/accept",
            "",
            &json!({"code": code, "account": account, "password": PASSWORD}),
        )
        .await
}

async fn accounts_of(stack: &Stack, admin: &str) -> Vec<String> {
    let (code, out) = stack.get("/user/list?limit=100", admin).await;
    assert_eq!(code, 200, "{out}");
    out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["account"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_provider_signs_up_registers_its_component_and_invites_an_operator_and_a_merchant() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let account = unique("founder");
    let (code, out) = stack
        .post_from(
            fresh_source(),
            "/tenant/signup",
            "",
            &json!({"name": "Ivy Shops", "account": account, "password": PASSWORD}),
        )
        .await;
    assert_eq!(code, 201, "{out}");
    let tenant = out["tenant"].as_str().unwrap().to_owned();
    assert_eq!(out["name"], "Ivy Shops");
    assert_eq!(out["admin"]["role"], "admin");
    assert_eq!(out["admin"]["tenant"], tenant.as_str());
    assert_ne!(tenant, stack.env["TENANT"]);

    let (code, session) = stack.login_from(fresh_source(), &account, PASSWORD).await;
    assert_eq!(code, 200, "{session}");
    assert_eq!(session["tenant"], tenant.as_str());
    let admin = session["token"].as_str().unwrap().to_owned();

    // Its own component, then staff and a merchant for it.
    let component = new_component_appid();
    register_component(&stack, &admin, &component).await;
    let operator_code = invite(&stack, &admin, "operator", &[&component]).await;
    assert_eq!(operator_code.len(), 32);
    let merchant_code = invite(&stack, &admin, "merchant", &[&component]).await;
    assert_ne!(operator_code, merchant_code);

    let operator = unique("ivy-operator");
    let (code, out) = accept(&stack, &operator_code, &operator).await;
    assert_eq!(code, 201, "{out}");
    assert_eq!(out["tenant"], tenant.as_str());
    assert_eq!(out["role"], "operator");
    assert_eq!(out["components"], json!([component]));
    let merchant = unique("ivy-merchant");
    assert_eq!(accept(&stack, &merchant_code, &merchant).await.0, 201);

    // The invited log in to the component the invitation named, with the role it fixed.
    let (code, session) = stack.login_from(fresh_source(), &operator, PASSWORD).await;
    assert_eq!(code, 200, "{session}");
    assert_eq!(session["role"], "operator");
    assert_eq!(session["componentAppid"], component.as_str());
    let operator_token = session["token"].as_str().unwrap();
    let (code, out) = stack.get("/component/status", operator_token).await;
    assert_eq!(code, 200, "{out}");

    // A code works once: the second account is not created.
    let again = unique("ivy-second");
    let (code, out) = accept(&stack, &operator_code, &again).await;
    assert_refused(code, &out, 404, "NOT_FOUND", "invitation code");
    assert_eq!(
        stack.login_from(fresh_source(), &again, PASSWORD).await.0,
        401
    );

    // The tenant sees its own three users; the local tenant sees none of them, and the reverse.
    let mut own = accounts_of(&stack, &admin).await;
    own.sort();
    let mut expected = vec![account.clone(), operator.clone(), merchant.clone()];
    expected.sort();
    assert_eq!(own, expected);
    let local = accounts_of(&stack, &stack.token(Role::Admin)).await;
    assert!(!local.contains(&operator) && !local.contains(&account));
    assert!(!own.iter().any(|a| local.contains(a)));

    // Someone else's component: the local tenant's is reported as missing, to invitations as to routes.
    let theirs = stack.component_appid();
    let (code, out) = stack
        .post(
            "/invite/create",
            &admin,
            &json!({"role": "merchant", "components": [theirs]}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &theirs);
    let (code, out) = stack
        .get(
            &format!("/component/status?componentAppid={theirs}"),
            &admin,
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &theirs);
    // ...and the other way round, and a register of its appid by the new tenant changes nothing.
    let (code, out) = stack
        .get(
            &format!("/component/status?componentAppid={component}"),
            &stack.token(Role::Admin),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &component);
    let body = registration(&theirs, "0123456789abcdef0123");
    let (code, out) = stack.post("/component/register", &admin, &body).await;
    assert_refused(code, &out, 409, "CONFLICT", "another tenant");
    // The local component kept its own secret: a verify ticket sealed with it is still accepted.
    let push = stack.sandbox("/control/ticket/push", json!({})).await;
    assert_eq!(push["delivered"], true, "{push}");
}

#[tokio::test]
async fn signup_refuses_bad_input_a_taken_account_and_a_flood_from_one_address() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let source = fresh_source();
    let ok = |account: &str| json!({"name": "Shop", "account": account, "password": PASSWORD});
    for (body, mentions) in [
        (json!({"name": "Shop", "account": unique("x")}), "password"),
        (
            json!({"name": "", "account": unique("x"), "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": "a\u{0}b", "account": unique("x"), "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": "x".repeat(65), "account": unique("x"), "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": "Shop", "account": "no spaces allowed", "password": PASSWORD}),
            "account",
        ),
        (
            json!({"name": "Shop", "account": unique("x"), "password": "short"}),
            "password",
        ),
        (
            json!({"name": "Shop", "account": unique("x"), "password": PASSWORD, "role": "admin"}),
            "role",
        ),
    ] {
        let (code, out) = stack.post_from(source, "/tenant/signup", "", &body).await;
        assert_refused(code, &out, 400, "BAD_REQUEST", mentions);
    }
    let huge = json!({"name": "Shop", "account": unique("x"), "password": "p".repeat(70_000)});
    assert_eq!(
        stack.post_from(source, "/tenant/signup", "", &huge).await.0,
        413
    );

    // A taken account: refused, and its owner keeps their tenant.
    let (seeded, seeded_password) = stack.seeded_user("admin");
    let (code, out) = stack
        .post_from(source, "/tenant/signup", "", &ok(&seeded))
        .await;
    assert_refused(code, &out, 409, "CONFLICT", &seeded);
    let (code, session) = stack
        .login_from(fresh_source(), &seeded, &seeded_password)
        .await;
    assert_eq!(code, 200, "{session}");
    assert_eq!(session["tenant"], stack.env["TENANT"].as_str());

    // The same account signed up twice at once, from two addresses: one tenant, one refusal.
    let account = unique("twice");
    let twice = ok(&account);
    let (a, b) = tokio::join!(
        stack.post_from(fresh_source(), "/tenant/signup", "", &twice),
        stack.post_from(fresh_source(), "/tenant/signup", "", &twice),
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [201, 409], "{} {}", a.1, b.1);
    let winner = if a.0 == 201 { &a.1 } else { &b.1 };
    let (_, session) = stack.login_from(fresh_source(), &account, PASSWORD).await;
    assert_eq!(session["tenant"], winner["tenant"]);

    // Ten sign-ups an hour from one address.
    let flood = fresh_source();
    let mut refused = None;
    for i in 0..11 {
        let (code, out) = stack
            .post_from(
                flood,
                "/tenant/signup",
                "",
                &ok(&unique(&format!("flood{i}"))),
            )
            .await;
        if code != 201 {
            refused = Some((i, code, out));
            break;
        }
    }
    let (i, code, out) = refused.expect("the eleventh sign-up from one address is refused");
    assert_eq!(i, 10, "{out}");
    assert_refused(code, &out, 429, "TOO_MANY_ATTEMPTS", "");
    // The refused one created nothing.
    assert_eq!(
        stack
            .login_from(fresh_source(), &unique("flood10"), PASSWORD)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn invitations_refuse_wrong_roles_bad_input_expired_codes_and_a_second_use_at_once() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (_, admin) = stack.signed_up_tenant("Oak Shops").await;
    let component = new_component_appid();
    register_component(&stack, &admin, &component).await;
    let body = json!({"role": "merchant", "components": [component]});

    // Only admins invite; a token of another role, or none, is refused.
    assert_eq!(stack.post("/invite/create", "", &body).await.0, 401);
    for role in [Role::Developer, Role::Operator, Role::Merchant] {
        let (code, out) = stack
            .post("/invite/create", &stack.token(role), &body)
            .await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    for (bad, mentions) in [
        (json!({"role": "owner"}), "role"),
        (json!({"role": "merchant", "validHours": 0}), "validHours"),
        (json!({"role": "merchant", "validHours": 721}), "validHours"),
        (
            json!({"role": "merchant", "components": [new_component_appid()]}),
            "component",
        ),
        (
            json!({"role": "merchant", "components": ["not-an-appid"]}),
            "component",
        ),
        (json!({"role": "merchant", "tenant": "t1"}), "tenant"),
    ] {
        let (code, out) = stack.post("/invite/create", &admin, &bad).await;
        assert!(code == 400 || code == 404, "{bad}: {code} {out}");
        assert!(
            out["error"]["message"].as_str().unwrap().contains(mentions),
            "{out}"
        );
    }

    // Accepting: malformed and unknown codes, weak passwords.
    let (code, out) = accept(&stack, "XYZ", &unique("m")).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "code");
    let (code, out) = accept(&stack, &wxtpl::random::hex(16), &unique("m")).await;
    assert_refused(code, &out, 404, "NOT_FOUND", "invitation code");
    let good = invite(&stack, &admin, "merchant", &[&component]).await;
    let (code, out) = stack
        .post_from(
            fresh_source(),
            "/invite/accept",
            "",
            &json!({"code": good, "account": unique("m"), "password": "short"}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "password");

    // A taken account leaves the code usable.
    let (seeded, _) = stack.seeded_user("merchant");
    let (code, out) = accept(&stack, &good, &seeded).await;
    assert_refused(code, &out, 409, "CONFLICT", &seeded);
    let first = unique("first");
    assert_eq!(accept(&stack, &good, &first).await.0, 201);

    // One code, two accounts at once: exactly one is created.
    let code_once = invite(&stack, &admin, "merchant", &[&component]).await;
    let (a_account, b_account) = (unique("race-a"), unique("race-b"));
    let (a, b) = tokio::join!(
        accept(&stack, &code_once, &a_account),
        accept(&stack, &code_once, &b_account),
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [201, 404], "{} {}", a.1, b.1);
    let users = accounts_of(&stack, &admin).await;
    assert_eq!(
        users.contains(&a_account) as u8 + users.contains(&b_account) as u8,
        1,
        "{users:?}"
    );

    // An expired code is refused and creates nothing.
    let (code, out) = stack
        .post(
            "/invite/create",
            &admin,
            &json!({"role": "operator", "validHours": 1}),
        )
        .await;
    assert_eq!(code, 201, "{out}");
    let expired = out["code"].as_str().unwrap().to_owned();
    let hash = {
        use sha2::Digest;
        wxtpl::domain::ids::hex_lower(&sha2::Sha256::digest(expired.as_bytes()))
    };
    let pk = format!("INVITE#{hash}");
    assert!(
        stack.item(&pk, "META").await.is_some(),
        "stored by its hash"
    );
    stack
        .set_number(&pk, "META", "expires_at", wxtpl::clock::now_secs() - 1)
        .await;
    let late = unique("late");
    let (code, out) = accept(&stack, &expired, &late).await;
    assert_refused(code, &out, 404, "NOT_FOUND", "invitation code");
    assert!(!accounts_of(&stack, &admin).await.contains(&late));

    // Guessing codes from one address is braked like passwords.
    let guesser = fresh_source();
    let mut last = (0, Value::Null);
    let mut guesses = 0;
    while guesses < 30 {
        last = stack
            .post_from(
                guesser,
                "/invite/accept",
                "",
                &json!({"code": wxtpl::random::hex(16), "account": unique("g"), "password": PASSWORD}),
            )
            .await;
        // The gateway's own route throttle (no error body of ours) is not the brake under test: wait it out.
        if last.0 == 429 && last.1["error"].is_null() {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            continue;
        }
        guesses += 1;
        if last.0 != 404 {
            break;
        }
    }
    assert_refused(last.0, &last.1, 429, "TOO_MANY_ATTEMPTS", "");
}

#[tokio::test]
async fn two_tenants_racing_for_one_component_appid_leave_the_winners_secret() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (tenant_a, admin_a) = stack.signed_up_tenant("Racer A").await;
    let (_, admin_b) = stack.signed_up_tenant("Racer B").await;
    let mut registered = Vec::new();
    for _ in 0..5 {
        let appid = new_component_appid();
        registered.push(appid.clone());
        let a = registration(&appid, "aaaaaaaaaaaaaaaaaaaa");
        let b = registration(&appid, "bbbbbbbbbbbbbbbbbbbb");
        let (ra, rb) = tokio::join!(
            stack.post("/component/register", &admin_a, &a),
            stack.post("/component/register", &admin_b, &b),
        );
        let won_a = ra.0 < 300;
        assert!(
            won_a != (rb.0 < 300),
            "exactly one registers: {ra:?} {rb:?}"
        );
        let (loser, winner_secret) = if won_a {
            (rb, "aaaaaaaaaaaaaaaaaaaa")
        } else {
            (ra, "bbbbbbbbbbbbbbbbbbbb")
        };
        assert_refused(loser.0, &loser.1, 409, "CONFLICT", "another tenant");
        let stored = stack.component_secret(&appid).await.expect("stored");
        assert_eq!(
            stored["appsecret"], winner_secret,
            "the loser wrote nothing"
        );
        if won_a {
            let item = stack.item(&format!("COMP#{appid}"), "META").await.unwrap();
            assert_eq!(
                stack_tests::s(&item, "tenant").as_deref(),
                Some(tenant_a.as_str())
            );
        }
    }

    // Components WeChat never pushed a ticket to are skipped by the refresh, not counted as its failures.
    let summary = stack.invoke_token_refresh().await;
    assert!(
        summary["awaitingFirstTicket"].as_i64().unwrap() >= 5,
        "{summary}"
    );
    let failures = summary["failures"].to_string();
    assert!(
        registered.iter().all(|a| !failures.contains(a.as_str())),
        "{summary}"
    );
}

#[tokio::test]
async fn admins_list_their_invitations_and_revoke_open_ones_which_then_cannot_be_accepted() {
    let stack = Stack::connect().await;
    let (_, admin) = stack.signed_up_tenant("Invitation Keeper").await;
    let component = new_component_appid();
    register_component(&stack, &admin, &component).await;
    let kept = invite(&stack, &admin, "merchant", &[&component]).await;
    let taken_back = invite(&stack, &admin, "operator", &[&component]).await;
    let used = invite(&stack, &admin, "merchant", &[&component]).await;
    let (code, out) = accept(&stack, &used, &unique("user")).await;
    assert_eq!(code, 201, "{out}");

    let list = |token: String| {
        let stack = &stack;
        async move {
            let (code, out) = stack.get("/invite/list?limit=10", &token).await;
            assert_eq!(code, 200, "{out}");
            out["items"].as_array().unwrap().clone()
        }
    };
    let items = list(admin.clone()).await;
    assert_eq!(items.len(), 3);
    let states: Vec<&str> = items.iter().map(|i| i["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["used", "open", "open"], "newest first");
    let listed = serde_json::to_string(&items).unwrap();
    for code in [&kept, &taken_back, &used] {
        assert!(!listed.contains(code.as_str()), "codes are never listed");
    }
    // The operator's invitation (the second made) is taken back, twice at once: one revokes, one finds it gone.
    let id = items[1]["id"].as_str().unwrap().to_owned();
    let body = json!({"id": id});
    let (a, b) = tokio::join!(
        stack.post("/invite/revoke", &admin, &body),
        stack.post("/invite/revoke", &admin, &body)
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [200, 409], "{} {}", a.1, b.1);
    let (code, out) = accept(&stack, &taken_back, &unique("late")).await;
    assert!(
        code == 400 || code == 404 || code == 409,
        "a revoked code is refused: {code} {out}"
    );
    let items = list(admin.clone()).await;
    assert_eq!(items[1]["state"], "revoked");
    let (code, out) = accept(&stack, &kept, &unique("kept")).await;
    assert_eq!(code, 201, "the other invitation still works: {out}");

    // A used invitation cannot be revoked; another tenant's is not found; only admins; a bad id.
    let used_id = items[0]["id"].as_str().unwrap();
    let (code, out) = stack
        .post("/invite/revoke", &admin, &json!({"id": used_id}))
        .await;
    assert_refused(code, &out, 409, "CONFLICT", "used");
    let (_, other_admin) = stack.signed_up_tenant("Invitation Thief").await;
    let (code, out) = stack
        .post(
            "/invite/revoke",
            &other_admin,
            &json!({"id": items[2]["id"]}),
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", "invitation");
    assert!(list(other_admin).await.is_empty());
    let (code, out) = stack
        .get("/invite/list", &stack.token(Role::Operator))
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack
        .post("/invite/revoke", &admin, &json!({"id": "abc"}))
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "id");
}
