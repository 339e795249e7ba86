//! Many components, black-box: one tenant binds two third-party platforms of the sandbox and another tenant a third;
//! each gets its own tickets, tokens and mini-programs through real pushes, and nothing crosses between them.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, Stack};
use wxtpl::http::auth::Role;

/// A new third-party platform at the sandbox, registered by the tenant's admin, with its first ticket pushed.
async fn bound_component(stack: &Stack, admin: &str) -> Value {
    let keys = stack.sandbox("/control/component/create", json!({})).await;
    let appid = keys["appid"].as_str().unwrap();
    let (code, out) = stack.post("/component/register", admin, &keys).await;
    assert_eq!(code, 201, "{out}");
    let push = stack
        .sandbox("/control/ticket/push", json!({"componentAppid": appid}))
        .await;
    assert_eq!(
        push["delivered"], true,
        "ticket sealed with {appid}'s keys: {push}"
    );
    keys
}

/// A merchant authorizes a new mini-program to `component` at the sandbox; its `authorized` push is accepted.
async fn authorized_to(stack: &Stack, component: &str) -> String {
    let out = stack
        .sandbox("/control/authorize", json!({"componentAppid": component}))
        .await;
    assert_eq!(out["delivery"]["delivered"], true, "{out}");
    out["authorizerAppid"].as_str().unwrap().to_owned()
}

async fn counter_of(stack: &Stack, component: &str, endpoint: &str) -> i64 {
    let counters = stack
        .sandbox_get(&format!("/control/counters?component={component}"))
        .await;
    counters[endpoint].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn two_components_of_one_tenant_and_a_third_of_another_tenant_keep_their_tokens_and_mini_programs_apart(
) {
    // Serial: the scheduled refresh it runs would otherwise also renew other tests' due tokens, and theirs its own.
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (tenant, admin) = stack.signed_up_tenant("Two Platforms").await;
    let a = bound_component(&stack, &admin).await;
    let b = bound_component(&stack, &admin).await;
    let (a, b) = (a["appid"].as_str().unwrap(), b["appid"].as_str().unwrap());
    let (other_tenant, other_admin) = stack.signed_up_tenant("Third Platform").await;
    let c = bound_component(&stack, &other_admin).await;
    let c = c["appid"].as_str().unwrap();

    // Each authorization is exchanged with its own component's token (its own ticket and secret).
    let (ma, mb, mc) = (
        authorized_to(&stack, a).await,
        authorized_to(&stack, b).await,
        authorized_to(&stack, c).await,
    );
    for (component, mp) in [(a, &ma), (b, &mb), (c, &mc)] {
        assert_eq!(
            counter_of(&stack, component, "api_query_auth").await,
            1,
            "{mp}"
        );
        assert_eq!(
            counter_of(&stack, component, "api_component_token").await,
            1
        );
    }

    let op_a = stack.token_for(Role::Operator, &tenant, Some(a));
    let op_b = stack.token_for(Role::Operator, &tenant, Some(b));
    let op_c = stack.token_for(Role::Operator, &other_tenant, Some(c));
    assert_eq!(stack.mini_programs(&op_a).await, vec![ma.clone()]);
    assert_eq!(stack.mini_programs(&op_b).await, vec![mb.clone()]);
    assert_eq!(stack.mini_programs(&op_c).await, vec![mc.clone()]);

    // A WeChat call for a mini-program goes out with its own component's authorizer token...
    let (code, out) = stack
        .get(&format!("/tester/list?maAppId={ma}"), &op_a)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(counter_of(&stack, a, "memberauth").await, 1);
    assert_eq!(counter_of(&stack, b, "memberauth").await, 0);
    // ...and an operator of one component cannot reach the other's, in the same tenant or another.
    for (token, theirs) in [(&op_a, &mb), (&op_b, &ma), (&op_a, &mc), (&op_c, &ma)] {
        let (code, out) = stack
            .get(&format!("/tester/list?maAppId={theirs}"), token)
            .await;
        assert_refused(code, &out, 404, "NOT_FOUND", theirs);
    }
    // The other tenant's admin does not see this tenant's components.
    let (code, out) = stack
        .get(
            &format!("/component/status?componentAppid={a}"),
            &other_admin,
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", a);
    let (code, out) = stack
        .get(&format!("/component/status?componentAppid={b}"), &admin)
        .await;
    assert_eq!(code, 200, "{out}");

    // The scheduled refresh renews each component's tokens at its own sandbox component.
    let soon = wxtpl::clock::now_secs() + 300;
    for (component, mp) in [(a, &ma), (b, &mb), (c, &mc)] {
        let pk = format!("COMP#{component}");
        let sk = format!("TOKEN#AUTHZ#{mp}");
        stack.set_number(&pk, &sk, "expires_at", soon).await;
        let due = format!("{soon:010}#{component}#{mp}");
        stack.set_string(&pk, &sk, "GSI1SK", &due).await;
    }
    let summary = stack.invoke_token_refresh().await;
    assert!(
        summary["authorizerTokensRefreshed"].as_i64().unwrap() >= 3,
        "{summary}"
    );
    for (component, mp) in [(a, &ma), (b, &mb), (c, &mc)] {
        assert_eq!(
            counter_of(&stack, component, "api_authorizer_token").await,
            1,
            "{mp} refreshed once, at {component}"
        );
        let token = stack
            .item(&format!("COMP#{component}"), &format!("TOKEN#AUTHZ#{mp}"))
            .await
            .unwrap();
        let expires: i64 = token["expires_at"].as_n().unwrap().parse().unwrap();
        assert!(expires > wxtpl::clock::now_secs() + 7000, "{mp}");
    }
    // The renewed token works where it was issued.
    let (code, out) = stack
        .get(&format!("/tester/list?maAppId={mb}"), &op_b)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(counter_of(&stack, b, "memberauth").await, 1);
}

/// A mini-program the merchant holding `token` authorizes through its consent link, with the nickname given.
async fn own_named(stack: &Stack, token: &str, nick: &str) -> String {
    let (code, link) = stack.get("/auth/link?kind=pc", token).await;
    assert_eq!(code, 200, "{link}");
    let url = format!("{}&sandbox_nick={nick}", link["url"].as_str().unwrap());
    let page: Value = stack
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["frontend"]["maAppId"]
        .as_str()
        .expect("authorized")
        .to_owned()
}

/// The items of up to `max_pages` pages of `{path}?{query}`, following `nextCursor`, and whether the last page came.
async fn paged_items(
    stack: &Stack,
    token: &str,
    path: &str,
    max_pages: usize,
) -> (Vec<Value>, bool) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..max_pages {
        let at = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (code, out) = stack.get(&format!("{path}{at}"), token).await;
        assert_eq!(code, 200, "{path}: {out}");
        items.extend(out["items"].as_array().unwrap().iter().cloned());
        cursor = out["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return (items, true);
        }
    }
    (items, false)
}

/// Every page of `/miniprogram/list?{query}`: the maAppIds and release states, in order.
async fn every_page(stack: &Stack, token: &str, query: &str) -> Vec<(String, String)> {
    let (items, ended) =
        paged_items(stack, token, &format!("/miniprogram/list?{query}"), 100).await;
    assert!(ended, "{query}: no end after 100 pages");
    items
        .iter()
        .map(|item| {
            (
                item["maAppId"].as_str().unwrap().to_owned(),
                item["releaseState"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn mini_programs_are_found_by_name_appid_and_release_state_a_page_at_a_time() {
    let stack = Stack::connect().await;
    let merchant = stack_tests::unique("finder");
    let (token, decorated) = stack.decorated(&merchant).await;
    let tag = stack_tests::unique("noodle");
    let one = own_named(&stack, &token, &format!("{tag}-One")).await;
    let two = own_named(&stack, &token, &format!("{tag}-Two")).await;
    let mut noodles = vec![one.clone(), two.clone()];
    noodles.sort();
    let ids = |found: Vec<(String, String)>| found.into_iter().map(|(a, _)| a).collect::<Vec<_>>();

    // The merchant: its own three, each with its release state; found by part of the name without case, by
    // part of the appid, by state; and a page at a time.
    let mut all = vec![decorated.clone(), one.clone(), two.clone()];
    all.sort();
    let everything = every_page(&stack, &token, "limit=1").await;
    assert_eq!(ids(everything.clone()), all);
    for (appid, state) in &everything {
        let expected = if *appid == decorated { "saved" } else { "none" };
        assert_eq!(state, expected, "{appid}");
    }
    let upper = tag.to_uppercase();
    assert_eq!(
        ids(every_page(&stack, &token, &format!("search={upper}")).await),
        noodles
    );
    assert_eq!(
        ids(every_page(&stack, &token, &format!("search={}", &one[4..])).await),
        vec![one.clone()]
    );
    assert_eq!(
        ids(every_page(&stack, &token, "releaseState=saved").await),
        vec![decorated.clone()]
    );
    assert_eq!(
        ids(every_page(&stack, &token, "releaseState=none&limit=1").await),
        noodles
    );
    assert!(every_page(&stack, &token, "releaseState=released")
        .await
        .is_empty());

    // The component's operator finds them among everyone's, filtered pages being short while the cursor goes on.
    let op = stack.token(Role::Operator);
    assert_eq!(
        ids(every_page(&stack, &op, &format!("search={tag}&limit=5")).await),
        noodles
    );
    let found = every_page(
        &stack,
        &op,
        &format!("search={decorated}&releaseState=saved"),
    )
    .await;
    assert_eq!(found, vec![(decorated.clone(), "saved".to_owned())]);

    // Another merchant sees none of them; bad filters, a wrong role and another tenant are refused.
    let stranger = stack.token_for_user(Role::Merchant, &stack_tests::unique("stranger"));
    assert!(every_page(&stack, &stranger, &format!("search={tag}"))
        .await
        .is_empty());
    for (query, mentions) in [
        ("releaseState=online", "releaseState"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let (code, out) = stack.get(&format!("/miniprogram/list?{query}"), &op).await;
        assert_refused(code, &out, 400, "BAD_REQUEST", mentions);
    }
    let long = "x".repeat(65);
    let (code, out) = stack
        .get(&format!("/miniprogram/list?search={long}"), &token)
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "search");
    let (code, out) = stack
        .get("/miniprogram/list", &stack.token(Role::Developer))
        .await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (_, other_admin) = stack.signed_up_tenant("Other Finder").await;
    let (code, out) = stack
        .get(
            &format!(
                "/miniprogram/list?componentAppid={}",
                stack.component_appid()
            ),
            &other_admin,
        )
        .await;
    assert_refused(code, &out, 404, "NOT_FOUND", &stack.component_appid());
}

#[tokio::test]
async fn the_listing_shows_each_mini_programs_template_versions_and_visit_status() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&stack_tests::unique("lister")).await;
    let listed = |out: Value| {
        let row = out["items"][0].clone();
        assert_eq!(row["maAppId"], json!(appid), "{out}");
        row
    };
    let path = format!("/miniprogram/list?search={appid}");
    let (code, out) = stack.get(&path, &token).await;
    assert_eq!(code, 200, "{out}");
    let before = listed(out);
    assert_eq!(
        [
            &before["releaseState"],
            &before["trialVersion"],
            &before["onlineVersion"],
            &before["accessStatus"]
        ],
        [&json!("saved"), &Value::Null, &Value::Null, &json!("open")]
    );
    let template = before["templateId"].as_str().unwrap().to_owned();
    assert!(template.starts_with("it_"), "{before}");

    stack.published_release(&token, &appid).await;
    let close = json!({"maAppId": appid, "action": "close"});
    let (code, out) = stack.post("/code/visit-status", &token, &close).await;
    assert_eq!(code, 200, "{out}");
    // The operator's listing of the component shows the same.
    let (code, out) = stack.get(&path, &stack.token(Role::Operator)).await;
    assert_eq!(code, 200, "{out}");
    let after = listed(out);
    assert_eq!(
        [
            &after["releaseState"],
            &after["trialVersion"],
            &after["onlineVersion"],
            &after["accessStatus"]
        ],
        [
            &json!("released"),
            &json!("1.0.0"),
            &json!("1.0.0"),
            &json!("close")
        ]
    );
    assert_eq!(after["templateId"], json!(template));
    assert_eq!(after["auditReason"], Value::Null);
}

/// The events of up to `pages` pages of `/event/feed?{query}`, in the order the pages gave them.
async fn feed_pages(stack: &Stack, token: &str, query: &str, pages: usize) -> Vec<Value> {
    paged_items(stack, token, &format!("/event/feed?{query}"), pages)
        .await
        .0
}

#[tokio::test]
async fn the_event_feed_shows_the_components_events_newest_first_a_page_at_a_time() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&stack_tests::unique("feeder")).await;
    stack.published_release(&token, &appid).await;
    let op = stack.token(Role::Operator);

    // One mini-program's history, two at a time: newest first, nothing but its own events.
    let own = feed_pages(&stack, &op, &format!("maAppId={appid}&limit=2"), 50).await;
    let kinds: Vec<&str> = own.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let at = |e: &Value| e["detail"]["occurredAt"].as_i64().unwrap();
    assert!(own.windows(2).all(|w| at(&w[0]) >= at(&w[1])), "{kinds:?}");
    assert!(own.iter().all(|e| e["detail"]["maAppId"] == json!(appid)));
    let position = |kind: &str| {
        kinds
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("{kind} in {kinds:?}"))
    };
    assert!(position("CodeReleased") < position("AuditPassed"));
    assert!(position("AuditPassed") < position("AuditSubmitted"));
    assert!(position("AuditSubmitted") < position("CodeCommitted"));

    // The component's feed has the same events among everyone's, in time order across pages.
    let everyone = feed_pages(&stack, &stack.token(Role::Developer), "limit=100", 100).await;
    assert!(everyone.windows(2).all(|w| at(&w[0]) >= at(&w[1])));
    let ids = |events: &[Value]| {
        events
            .iter()
            .map(|e| e["detail"]["eventId"].clone())
            .collect::<Vec<_>>()
    };
    let all_ids = ids(&everyone);
    assert!(
        ids(&own).iter().all(|id| all_ids.contains(id)),
        "the component's feed lacks some of {appid}'s events"
    );

    // A merchant, a bad cursor or limit, and another tenant are refused.
    let (code, out) = stack.get("/event/feed", &token).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "");
    let (code, out) = stack.get("/event/feed?limit=0", &op).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "limit");
    let (code, out) = stack.get("/event/feed?cursor=not%20a%20cursor", &op).await;
    assert_eq!(code, 400, "{out}");
    let (_, other_admin) = stack.signed_up_tenant("Other Feeder").await;
    let path = format!("/event/feed?componentAppid={}", stack.component_appid());
    let (code, out) = stack.get(&path, &other_admin).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &stack.component_appid());
}
