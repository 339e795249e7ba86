//! Hosting (托管), black-box: a merchant hosts its mini-program with the provider, the component's operators then
//! decorate it on the merchant's behalf, and nobody else may; ending it, or the mini-program changing hands, takes
//! that back. Both changes are recorded once, even when asked twice at once.
use serde_json::{json, Value};
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

async fn hosted_in_list(stack: &Stack, token: &str, appid: &str) -> bool {
    let (code, out) = stack
        .get(&format!("/miniprogram/list?search={appid}"), token)
        .await;
    assert_eq!(code, 200, "{out}");
    out["items"][0]["hosted"].as_bool().unwrap()
}

async fn config(stack: &Stack, token: &str, appid: &str) -> (u16, Value) {
    stack
        .get(&format!("/config/query?maAppId={appid}"), token)
        .await
}

#[tokio::test]
async fn a_hosted_mini_program_is_decorated_by_the_providers_operators_until_the_merchant_ends_it()
{
    let stack = Stack::connect().await;
    let merchant = unique("hoster");
    let (token, appid) = stack.decorated(&merchant).await;
    let op = stack.token(Role::Operator);
    let body = json!({"maAppId": appid});

    // Not hosted: the operator releases what the merchant saved, but does not decorate.
    let (code, out) = config(&stack, &op, &appid).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "/hosting/start");
    assert!(!hosted_in_list(&stack, &token, &appid).await);

    // The merchant hosts it, asking twice at once: one change, one event.
    let (a, b) = tokio::join!(
        stack.post("/hosting/start", &token, &body),
        stack.post("/hosting/start", &token, &body)
    );
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    assert_eq!(
        (a.1["hosted"].as_bool(), b.1["hosted"].as_bool()),
        (Some(true), Some(true))
    );
    let changed = [&a.1, &b.1].iter().filter(|o| o["changed"] == true).count();
    assert_eq!(changed, 1, "{} {}", a.1, b.1);
    assert!(a.1["since"].as_i64().is_some());
    assert_eq!(stack.events_of(&appid, "HostingStarted", 1).await.len(), 1);
    assert!(hosted_in_list(&stack, &op, &appid).await);

    // The operator reads and saves the merchant's decoration; it stays the merchant's.
    let (code, current) = config(&stack, &op, &appid).await;
    assert_eq!(code, 200, "{current}");
    let save = json!({"maAppId": appid, "templateId": current["templateId"], "config": {"theme": "red"},
                      "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": false}}],
                      "version": current["version"]});
    let (code, out) = stack.post("/config/save", &op, &save).await;
    assert_eq!(code, 200, "{out}");
    let (code, mine) = config(&stack, &token, &appid).await;
    assert_eq!(code, 200, "{mine}");
    assert_eq!(mine["config"]["theme"], "red");
    assert_eq!(mine["userTemplate"]["sellerId"], merchant.as_str());
    let (code, page) = stack
        .get(&format!("/page/query?maAppId={appid}&pageKey=home"), &op)
        .await;
    assert_eq!(
        (code, &page["config"]["banner"]),
        (200, &json!(false)),
        "{page}"
    );
    // A save on a stale version is refused for the operator as for the merchant.
    let (code, out) = stack.post("/config/save", &op, &save).await;
    assert_refused(code, &out, 409, "CONFLICT", "stale");

    // Only the owning merchant starts or ends it.
    let (code, out) = stack.post("/hosting/end", &op, &body).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let stranger = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let (code, out) = stack.post("/hosting/end", &stranger, &body).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    let (code, out) = config(&stack, &stranger, &appid).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    let (code, out) = stack
        .post(
            "/hosting/start",
            &token,
            &json!({"maAppId": appid, "extra": 1}),
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "unknown field");

    // The merchant ends it: decoration is the merchant's alone again.
    let (code, out) = stack.post("/hosting/end", &token, &body).await;
    assert_eq!(
        (code, out["hosted"].as_bool(), out["changed"].as_bool()),
        (200, Some(false), Some(true)),
        "{out}"
    );
    let ended = stack.events_of(&appid, "HostingEnded", 1).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["detail"]["data"]["merchant"], merchant.as_str());
    let (code, out) = config(&stack, &op, &appid).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "hosting");
    let (code, out) = stack.post("/hosting/end", &token, &body).await;
    assert_eq!(
        (code, out["changed"].as_bool()),
        (200, Some(false)),
        "{out}"
    );

    // Hosted again, then an admin unlinks the mini-program: the hosting lapses with the ownership.
    let (code, out) = stack.post("/hosting/start", &token, &body).await;
    assert_eq!((code, out["changed"].as_bool()), (200, Some(true)), "{out}");
    let (code, out) = stack
        .post("/miniprogram/unlink", &stack.token(Role::Admin), &body)
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = config(&stack, &op, &appid).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "hosting");
}
