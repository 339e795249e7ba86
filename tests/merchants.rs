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
