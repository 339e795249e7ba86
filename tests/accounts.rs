//! Accounts, black-box: login, the brute-force brake, user management and password changes.
use serde_json::json;
use stack_tests::{serial, Stack};
use wxtpl::http::auth::Role;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@test", wxtpl::clock::now_millis())
}

async fn create(stack: &Stack, account: &str, password: &str, role: &str) {
    let body = json!({"account": account, "password": password, "role": role, "components": [stack.component_appid()]});
    let (code, out) = stack
        .post("/user/create", &stack.token(Role::Admin), &body)
        .await;
    assert_eq!(code, 201, "{out}");
}

#[tokio::test]
async fn seeded_users_log_in_and_their_role_decides_what_they_may_call() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (account, password) = stack.seeded_user("developer");
    let (code, body) = stack.login(&account, &password).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["role"], "developer");
    assert_eq!(body["componentAppid"], stack.component_appid().as_str());
    let token = body["token"].as_str().unwrap();
    assert_eq!(stack.get("/component/status", token).await.0, 200);
    assert_eq!(stack.get("/user/list", token).await.0, 403);

    let (account, password) = stack.seeded_user("merchant");
    let (_, body) = stack.login(&account, &password).await;
    assert_eq!(
        stack
            .get("/component/status", body["token"].as_str().unwrap())
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_account_are_the_same_clear_401() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (account, _) = stack.seeded_user("operator");
    let (code, wrong) = stack.login(&account, "not the password").await;
    assert_eq!(code, 401);
    let (code, unknown) = stack.login("nobody@nowhere", "not the password").await;
    assert_eq!(code, 401);
    assert_eq!(
        wrong, unknown,
        "responses do not reveal which accounts exist"
    );
    assert_eq!(wrong["error"]["message"], "account or password is wrong");
    let resp = stack
        .http
        .post(format!("{}/auth/login", stack.api_url()))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        stack
            .post("/auth/login", "", &json!({"account": "x"}))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let account = unique("brake");
    create(&stack, &account, "right password 1", "operator").await;
    for attempt in 1..=5 {
        assert_eq!(
            stack.login(&account, "wrong password").await.0,
            401,
            "attempt {attempt}"
        );
    }
    let (code, body) = stack.login(&account, "right password 1").await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["error"]["code"], "TOO_MANY_ATTEMPTS");
    // Once the oldest failure has left the 15-minute window, one more check is allowed: the right password works.
    let slots = format!("LOGIN#acct#{account}");
    stack.set_number(&slots, "SLOTS", "s0", 1).await;
    assert_eq!(stack.login(&account, "right password 1").await.0, 200);
    assert_eq!(
        stack.login(&account, "wrong password").await.0,
        401,
        "its slot was given back"
    );
    assert_eq!(stack.login(&account, "right password 1").await.0, 429);
}

#[tokio::test]
async fn user_creation_is_refused_with_reasons_and_lists_stay_within_the_tenant() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let admin = stack.token(Role::Admin);
    let account = unique("dup");
    create(&stack, &account, "long enough 1", "merchant").await;
    let dup = json!({"account": account, "password": "long enough 1", "role": "merchant"});
    assert_eq!(stack.post("/user/create", &admin, &dup).await.0, 409);
    assert_eq!(
        stack
            .post("/user/create", &stack.token(Role::Developer), &dup)
            .await
            .0,
        403
    );
    let weak = json!({"account": unique("weak"), "password": "short", "role": "merchant"});
    let (code, body) = stack.post("/user/create", &admin, &weak).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("password"));
    let bad_role = json!({"account": unique("role"), "password": "long enough 1", "role": "root"});
    assert_eq!(stack.post("/user/create", &admin, &bad_role).await.0, 400);
    let foreign = json!({"account": unique("foreign"), "password": "long enough 1", "role": "merchant", "components": ["wx0000000000000001"]});
    assert_eq!(stack.post("/user/create", &admin, &foreign).await.0, 404);

    let (code, list) = stack.get("/user/list?limit=100", &admin).await;
    assert_eq!(code, 200);
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().any(|u| u["account"] == account.as_str()));
    assert!(items
        .iter()
        .all(|u| u.get("passwordHash").is_none() && !u.to_string().contains("argon2")));
    let other_admin = stack.token_for(Role::Admin, "tenant-without-users", None);
    let (_, other) = stack.get("/user/list", &other_admin).await;
    assert_eq!(
        other["items"],
        json!([]),
        "another tenant sees none of them"
    );
}

#[tokio::test]
async fn passwords_change_with_the_current_one_and_only_within_the_tenant() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let account = unique("pw");
    create(&stack, &account, "first password", "developer").await;
    let (_, body) = stack.login(&account, "first password").await;
    let token = body["token"].as_str().unwrap().to_owned();

    let wrong = json!({"currentPassword": "not it at all", "newPassword": "second password"});
    assert_eq!(stack.post("/user/password", &token, &wrong).await.0, 401);
    let ok = json!({"currentPassword": "first password", "newPassword": "second password"});
    assert_eq!(stack.post("/user/password", &token, &ok).await.0, 200);
    assert_eq!(stack.login(&account, "first password").await.0, 401);
    assert_eq!(stack.login(&account, "second password").await.0, 200);

    // A developer cannot touch someone else's password; an admin of another tenant cannot either.
    let (victim, _) = stack.seeded_user("operator");
    let hijack = json!({"account": victim, "newPassword": "hijacked password"});
    assert_eq!(stack.post("/user/password", &token, &hijack).await.0, 404);
    let other_admin = stack.token_for(Role::Admin, "other-tenant", None);
    assert_eq!(
        stack.post("/user/password", &other_admin, &hijack).await.0,
        404
    );
    // The tenant's admin can reset it.
    let reset = json!({"account": account, "newPassword": "third password"});
    assert_eq!(
        stack
            .post("/user/password", &stack.token(Role::Admin), &reset)
            .await
            .0,
        200
    );
    assert_eq!(stack.login(&account, "third password").await.0, 200);
}

/// The deploy's bootstrap: `infra/admin_token.py` signs a short-lived admin token with the stack's key (read from
/// Secrets Manager, as on AWS), and that token creates the first admin user, who can then log in.
#[tokio::test]
async fn the_admin_token_script_bootstraps_the_first_admin_user() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let tenant = stack.env["TENANT"].clone();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let run = |minutes: &str| {
        std::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join("infra/admin_token.py"))
            .args(["--secret-id", &stack.env["JWT_SECRET_ID"]])
            .args(["--tenant", &tenant, "--minutes", minutes])
            .args(["--region", "us-east-1"])
            .env("AWS_ENDPOINT_URL", &stack.env["AWS_ENDPOINT_URL"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap()
    };
    let refused = run("600");
    assert!(
        !refused.status.success(),
        "a token for ten hours is refused"
    );
    let out = run("5");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let account = unique("first-admin");
    let password = "first admin's password";
    let body = json!({"account": account, "password": password, "role": "admin", "components": [stack.component_appid()]});
    let (code, created) = stack.post("/user/create", &token, &body).await;
    assert_eq!(code, 201, "{created}");
    let (code, login) = stack.login(&account, password).await;
    assert_eq!(code, 200, "{login}");
    assert_eq!(login["role"], "admin");
    assert_eq!(login["tenant"], tenant.as_str());
}
