//! Merchants authorize mini-programs through our link, black-box: link → consent (sandbox) → redirect → linked,
//! idempotent with the `authorized` push whichever arrives first; and the refusals.
use serde_json::Value;
use stack_tests::{serial, unique, Stack};
use wxtpl::http::auth::{sign, state_key, Claims, Role};

fn merchant(stack: &Stack, name: &str) -> String {
    stack.token_for_user(Role::Merchant, &unique(name))
}

/// Follows the link like a browser: consent page → our redirect → the front end, which shows the outcome.
async fn follow(stack: &Stack, url: &str) -> Value {
    let resp = stack.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "final page of {url}");
    resp.json::<Value>().await.unwrap()["frontend"].clone()
}

async fn link(stack: &Stack, token: &str, kind: &str) -> String {
    let (code, body) = stack.get(&format!("/auth/link?kind={kind}"), token).await;
    assert_eq!(code, 200, "{body}");
    body["url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_merchant_authorizes_through_the_link_and_sees_only_their_mini_programs() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let alice = merchant(&stack, "alice");
    let url = link(&stack, &alice, "pc").await;
    assert!(url.starts_with(&format!(
        "{}/cgi-bin/componentloginpage?",
        stack.env["SANDBOX_URL"]
    )));
    assert!(url.contains("auth_type=2") && url.contains("state%3D"));
    let exchanges = stack.counter("api_query_auth").await;
    let outcome = follow(&stack, &url).await;
    assert_eq!(outcome["outcome"], "authorized", "{outcome}");
    let appid = outcome["maAppId"].as_str().unwrap().to_owned();
    assert_eq!(
        stack.counter("api_query_auth").await,
        exchanges + 1,
        "push and redirect share one exchange"
    );
    assert_eq!(stack.mini_programs(&alice).await, vec![appid.clone()]);
    assert!(stack
        .mini_programs(&merchant(&stack, "bob"))
        .await
        .is_empty());
    assert!(stack
        .mini_programs(&stack.token(Role::Admin))
        .await
        .contains(&appid));
    assert_eq!(
        stack
            .get("/miniprogram/list", &stack.token(Role::Developer))
            .await
            .0,
        403
    );

    // The H5 link works the same way.
    let h5 = link(&stack, &alice, "h5").await;
    assert!(
        h5.contains("/wxaopen/safe/bindcomponent?action=bindcomponent")
            && h5.ends_with("#wechat_redirect")
    );
    assert_eq!(follow(&stack, &h5).await["outcome"], "authorized");
    assert_eq!(stack.mini_programs(&alice).await.len(), 2);
}

#[tokio::test]
async fn the_push_arriving_after_the_redirect_changes_nothing() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let carol = merchant(&stack, "carol");
    let url = link(&stack, &carol, "pc").await;
    let exchanges = stack.counter("api_query_auth").await;
    let pushes_before = stack.pushes().await.len();
    let outcome = follow(&stack, &format!("{url}&sandbox_push=after")).await;
    assert_eq!(outcome["outcome"], "authorized");
    // Wait for the late push to be delivered and answered.
    let mut delivered = false;
    for _ in 0..50 {
        let pushes = stack.pushes().await;
        if pushes.len() > pushes_before && pushes.last().unwrap()["delivered"] == true {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "the late authorized push was accepted");
    assert_eq!(stack.counter("api_query_auth").await, exchanges + 1);
    let appid = outcome["maAppId"].as_str().unwrap();
    assert_eq!(stack.mini_programs(&carol).await, vec![appid.to_owned()]);
}

#[tokio::test]
async fn bad_links_and_foreign_mini_programs_are_refused() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    assert_eq!(
        stack
            .get("/auth/link", &stack.token(Role::Developer))
            .await
            .0,
        403
    );
    assert_eq!(
        stack
            .get("/auth/link?kind=tv", &merchant(&stack, "dave"))
            .await
            .0,
        400
    );

    let redirect = |query: String| format!("{}/auth/redirect?{query}", stack.api_url());
    // A tampered state, a bearer token used as state, an expired state, a missing code.
    let frontend = follow(&stack, &redirect("state=abc.def.ghi&auth_code=x".into())).await;
    assert_eq!(
        (frontend["outcome"].as_str(), frontend["status"].as_str()),
        (Some("error"), Some("401"))
    );
    let bearer = merchant(&stack, "dave");
    assert_eq!(
        follow(&stack, &redirect(format!("state={bearer}&auth_code=x"))).await["status"],
        "401"
    );
    let now = wxtpl::clock::now_secs();
    let expired = Claims {
        sub: unique("dave"),
        role: Role::Merchant,
        tenant: stack.env["TENANT"].clone(),
        component: Some(stack.component_appid()),
        iat: now - 700,
        nbf: None,
        exp: now - 100,
    };
    let state = sign(&expired, &state_key(&stack.jwt_key));
    assert_eq!(
        follow(&stack, &redirect(format!("state={state}&auth_code=x"))).await["status"],
        "401"
    );
    let fresh = Claims {
        iat: now,
        nbf: None,
        exp: now + 600,
        ..expired
    };
    let state = sign(&fresh, &state_key(&stack.jwt_key));
    assert_eq!(
        follow(&stack, &redirect(format!("state={state}"))).await["status"],
        "400"
    );

    // Erin authorizes a mini-program; Frank re-authorizing the same one through his link is refused.
    let erin = merchant(&stack, "erin");
    let appid = follow(&stack, &link(&stack, &erin, "pc").await).await["maAppId"]
        .as_str()
        .unwrap()
        .to_owned();
    let frank = merchant(&stack, "frank");
    let url = format!("{}&sandbox_appid={appid}", link(&stack, &frank, "pc").await);
    let outcome = follow(&stack, &url).await;
    assert_eq!(
        (outcome["outcome"].as_str(), outcome["status"].as_str()),
        (Some("error"), Some("409"))
    );
    assert!(stack.mini_programs(&frank).await.is_empty());
    assert_eq!(stack.mini_programs(&erin).await, vec![appid]);
}

/// A merchant user of this stack's component, made by its admin; returns the account.
async fn merchant_account(stack: &Stack, name: &str, role: &str) -> String {
    let account = unique(name);
    let body = serde_json::json!({"account": account, "password": "long enough 1", "role": role,
                                  "components": [stack.component_appid()]});
    let (code, out) = stack
        .post("/user/create", &stack.token(Role::Admin), &body)
        .await;
    assert_eq!(code, 201, "{out}");
    account
}

#[tokio::test]
async fn an_operator_hands_a_merchant_a_link_and_what_it_authorizes_is_that_merchants() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let operator = stack.token(Role::Operator);
    let account = merchant_account(&stack, "handed", "merchant").await;

    for kind in ["pc", "h5"] {
        let (code, out) = stack
            .get(
                &format!("/auth/link?kind={kind}&merchant={account}"),
                &operator,
            )
            .await;
        assert_eq!(code, 200, "{out}");
        assert!(
            out["url"].as_str().unwrap().contains("pre_auth_code="),
            "{out}"
        );
    }
    let (_, out) = stack
        .get(
            &format!("/auth/link?merchant={account}"),
            &stack.token(Role::Admin),
        )
        .await;
    let frontend = follow(&stack, out["url"].as_str().unwrap()).await;
    assert_eq!(frontend["outcome"], "authorized", "{frontend}");
    let appid = frontend["maAppId"].as_str().unwrap();
    let (code, mine) = stack
        .get(
            "/miniprogram/list",
            &stack.token_for_user(Role::Merchant, &account),
        )
        .await;
    assert_eq!(code, 200, "{mine}");
    assert_eq!(mine["items"][0]["maAppId"], appid, "{mine}");
    assert_eq!(mine["items"][0]["merchant"], account.as_str());

    // Refusals: a merchant naming another, staff naming nobody, someone who is no merchant of theirs, a developer.
    let merchant = merchant(&stack, "asker");
    let (code, out) = stack
        .get(&format!("/auth/link?merchant={account}"), &merchant)
        .await;
    stack_tests::assert_refused(code, &out, 403, "FORBIDDEN", "merchant");
    let (code, out) = stack.get("/auth/link?kind=pc", &operator).await;
    stack_tests::assert_refused(code, &out, 400, "BAD_REQUEST", "merchant");
    let developer = merchant_account(&stack, "not-a-merchant", "developer").await;
    let (_, other_admin) = stack.signed_up_tenant("Other Links").await;
    let stranger = unique("strangers-merchant");
    let body =
        serde_json::json!({"account": stranger, "password": "long enough 1", "role": "merchant"});
    let (code, out) = stack.post("/user/create", &other_admin, &body).await;
    assert_eq!(code, 201, "{out}");
    for who in [developer.as_str(), stranger.as_str(), "nobody-at-all"] {
        let (code, out) = stack
            .get(&format!("/auth/link?merchant={who}"), &operator)
            .await;
        stack_tests::assert_refused(code, &out, 404, "NOT_FOUND", who);
    }
    let (code, out) = stack
        .get(
            &format!("/auth/link?merchant={account}"),
            &stack.token(Role::Developer),
        )
        .await;
    stack_tests::assert_refused(code, &out, 403, "FORBIDDEN", "");
}
