//! Provider-side operations, black-box: the component's operators run the code routes for any of its
//! mini-programs; merchants keep to their own.
use serde_json::json;
use stack_tests::{serial, unique, Stack};
use wxtpl::http::auth::Role;

#[tokio::test]
async fn an_operator_releases_and_publishes_a_merchants_mini_program() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let merchant = unique("served");
    let (token, appid) = stack.decorated(&merchant).await;
    let ops = stack.token(Role::Operator);
    let body = json!({"maAppId": appid});
    // The merchant used today's audit submissions; the provider's operator is not held to them.
    let day = wxtpl::services::quotas::day_of(wxtpl::clock::now_secs());
    let pk = format!("COMP#{}", stack.component_appid());
    stack
        .set_number(&pk, &format!("QUOTA#{merchant}#audit#{day}"), "count", 10)
        .await;
    assert_eq!(stack.post("/code/release", &token, &body).await.0, 429);
    let (code, out) = stack.post("/code/release", &ops, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "auditing");
    stack
        .sandbox(
            "/control/audit/decide",
            json!({"appid": appid, "result": "pass"}),
        )
        .await;
    let (code, out) = stack.post("/code/publish", &ops, &body).await;
    assert_eq!(code, 200, "{out}");
    for path in [
        format!("/code/versions?maAppId={appid}"),
        format!("/code/qrcode?maAppId={appid}"),
        format!("/tester/list?maAppId={appid}"),
        format!("/code/audit/quota?maAppId={appid}"),
    ] {
        let (code, out) = stack.get(&path, &ops).await;
        assert_eq!(code, 200, "{path}: {out}");
    }
    let (code, out) = stack
        .post(
            "/domain/server",
            &ops,
            &json!({"maAppId": appid, "action": "get"}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    // The merchant sees what the operator did.
    assert_eq!(stack.release_state(&token, &appid).await, "released");
}

#[tokio::test]
async fn operators_act_only_within_their_component_and_other_roles_not_at_all() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (_, appid) = stack.decorated(&unique("guarded")).await;
    let body = json!({"maAppId": appid});
    let commits = stack.counter("commit").await;
    // An operator of another tenant, or of no component of this one, reaches nothing.
    let stranger = stack.token_for(
        Role::Operator,
        "another-tenant",
        Some(&stack.component_appid()),
    );
    assert_eq!(stack.post("/code/release", &stranger, &body).await.0, 404);
    let elsewhere = stack.token_for(
        Role::Operator,
        &stack.env["TENANT"],
        Some("wxothercomponent0"),
    );
    assert_eq!(stack.post("/code/release", &elsewhere, &body).await.0, 404);
    // Developers and admins do not run code routes; another merchant gets 404 as before.
    for role in [Role::Developer, Role::Admin] {
        assert_eq!(
            stack
                .post("/code/release", &stack.token(role), &body)
                .await
                .0,
            403,
            "{role:?}"
        );
    }
    let other = stack.token_for_user(Role::Merchant, &unique("neighbour"));
    assert_eq!(stack.post("/code/release", &other, &body).await.0, 404);
    assert_eq!(
        stack.counter("commit").await,
        commits,
        "WeChat was not asked"
    );
    // A mini-program whose authorization is not in force: 409 for the operator too.
    stack
        .sandbox("/control/unauthorize", json!({"appid": appid}))
        .await;
    let (code, out) = stack
        .post("/code/release", &stack.token(Role::Operator), &body)
        .await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(out["error"]["code"], "MINI_PROGRAM_NOT_AUTHORIZED");
    // Decoration stays the merchant's.
    let (code, _) = stack
        .get(
            &format!("/config/query?maAppId={appid}"),
            &stack.token(Role::Operator),
        )
        .await;
    assert_eq!(code, 403);
}

#[tokio::test]
async fn gray_release_grows_then_publishes_fully_and_rollback_waits_for_it() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("gradual")).await;
    let body = json!({"maAppId": appid});
    let release = |version: &'static str| {
        let (stack, token, appid) = (&stack, token.clone(), appid.clone());
        async move {
            let body = json!({"maAppId": appid, "userVersion": version});
            let (code, out) = stack.post("/code/release", &token, &body).await;
            assert_eq!(code, 200, "{out}");
            stack
                .sandbox(
                    "/control/audit/decide",
                    json!({"appid": appid, "result": "pass"}),
                )
                .await;
        }
    };
    let gray = |pct: i64| json!({"maAppId": appid, "percentage": pct});

    // WeChat needs a version online first.
    release("1.0.0").await;
    let (code, out) = stack.post("/code/gray", &token, &gray(10)).await;
    assert_eq!(
        (code, out["error"]["wechatErrcode"].as_i64()),
        (409, Some(85079)),
        "{out}"
    );
    assert_eq!(stack.release_state(&token, &appid).await, "passed");
    assert_eq!(stack.post("/code/publish", &token, &body).await.0, 200);

    // 2.0.0 goes to 10 %, then 50 %; it can only grow.
    release("2.0.0").await;
    let (code, out) = stack.post("/code/gray", &token, &gray(10)).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (out["state"].as_str(), out["percentage"].as_i64()),
        (Some("gray"), Some(10))
    );
    assert_eq!(out["plan"]["gray_percentage"], 10);
    let (code, out) = stack.post("/code/gray", &token, &gray(10)).await;
    assert_eq!(code, 409, "{out}");
    let (code, out) = stack
        .post("/code/gray", &stack.token(Role::Operator), &gray(50))
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, plan) = stack
        .get(&format!("/code/gray?maAppId={appid}"), &token)
        .await;
    assert_eq!(
        (code, plan["percentage"].as_i64()),
        (200, Some(50)),
        "{plan}"
    );
    // No rollback and no new code while it runs.
    let (code, out) = stack.post("/code/rollback", &token, &body).await;
    assert_eq!(
        (code, out["error"]["wechatErrcode"].as_i64()),
        (409, Some(87011)),
        "{out}"
    );
    assert_eq!(stack.release_state(&token, &appid).await, "gray");
    assert_eq!(stack.post("/code/release", &token, &body).await.0, 409);

    // Reverted, then gray again, then published to everyone.
    let (code, out) = stack.post("/code/gray/revert", &token, &body).await;
    assert_eq!(
        (code, out["state"].as_str()),
        (200, Some("passed")),
        "{out}"
    );
    assert_eq!(stack.post("/code/gray/revert", &token, &body).await.0, 409);
    assert_eq!(stack.post("/code/gray", &token, &gray(20)).await.0, 200);
    let (code, out) = stack.post("/code/publish", &token, &body).await;
    assert_eq!(code, 200, "{out}");
    let (_, versions) = stack
        .get(&format!("/code/versions?maAppId={appid}"), &token)
        .await;
    assert_eq!(versions["online"]["release_version"], "2.0.0", "{versions}");
    let (_, plan) = stack
        .get(&format!("/code/gray?maAppId={appid}"), &token)
        .await;
    assert_eq!(plan["percentage"], 0);
    let mut kinds: Vec<String> = Vec::new();
    for _ in 0..40 {
        kinds = stack.event_types(&appid).await;
        if kinds.iter().filter(|k| *k == "CodeReleased").count() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "CodeGrayReleased").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "CodeGrayReverted").count(),
        1,
        "{kinds:?}"
    );

    // Refusals: bad percentage, wrong role, someone else's mini-program.
    for bad in [
        json!({"maAppId": appid, "percentage": 0}),
        json!({"maAppId": appid, "percentage": 101}),
        json!({"maAppId": appid}),
    ] {
        assert_eq!(stack.post("/code/gray", &token, &bad).await.0, 400, "{bad}");
    }
    assert_eq!(
        stack
            .post("/code/gray", &stack.token(Role::Developer), &gray(30))
            .await
            .0,
        403
    );
    let other = stack.token_for_user(Role::Merchant, &unique("not-theirs"));
    assert_eq!(stack.post("/code/gray", &other, &gray(30)).await.0, 404);
    assert_eq!(
        stack
            .get(&format!("/code/gray?maAppId={appid}"), &other)
            .await
            .0,
        404
    );
    assert_eq!(stack.post("/code/gray/revert", &other, &body).await.0, 404);
}

#[tokio::test]
async fn a_mini_program_without_a_category_is_refused_before_anything_is_committed() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("uncategorized")).await;
    let body = json!({"maAppId": appid});
    stack
        .sandbox(
            "/control/categories",
            json!({"appid": appid, "categories": []}),
        )
        .await;
    let commits = stack.counter("commit").await;
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 409, "{out}");
    assert_eq!(out["error"]["code"], "CATEGORY_REQUIRED");
    assert_eq!(
        stack.counter("commit").await,
        commits,
        "nothing was committed"
    );
    assert_eq!(stack.release_state(&token, &appid).await, "saved");

    // With two categories of its own, each page of the code is submitted under one of them; the sandbox checks
    // that every page is in the committed code and every category is the mini-program's.
    let categories = json!([
        {"first_class": "Food", "second_class": "Tea", "first_id": 300, "second_id": 301},
        {"first_class": "Shop", "second_class": "Gifts", "first_id": 400, "second_id": 401}
    ]);
    stack
        .sandbox(
            "/control/categories",
            json!({"appid": appid, "categories": categories}),
        )
        .await;
    let (code, out) = stack.post("/code/release", &token, &body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(out["state"], "auditing");
}
