//! Fast registration (代注册), black-box: a merchant registers a company's mini-program, the legal person confirms
//! through WeChat, and WeChat's push makes it the merchant's authorized mini-program; an operator registers a
//! person's for a merchant and a refused confirmation fails the task with WeChat's reason. Bad input, a second
//! task for one company, wrong roles and other merchants' tasks are refused.
use serde_json::{json, Value};
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

fn company_code() -> String {
    format!("91{}", wxtpl::random::hex(8).to_uppercase())
}

async fn status(stack: &Stack, token: &str, task: &str) -> (u16, Value) {
    stack
        .get(&format!("/register/status?taskId={task}"), token)
        .await
}

#[tokio::test]
async fn a_registered_mini_program_becomes_its_merchants_once_confirmed() {
    let stack = Stack::connect().await;
    let merchant = unique("registrant");
    let token = stack.token_for_user(Role::Merchant, &merchant);
    let code = company_code();
    let body = json!({"kind": "company", "name": "Sandbox Tea Co.", "code": code, "componentPhone": "010-8888"});

    let (code_, task) = stack.post("/register/create", &token, &body).await;
    assert_eq!(code_, 202, "{task}");
    assert_eq!(task["state"], "awaiting_confirmation");
    assert!(task["authorizeUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let task_id = task["taskId"].as_str().unwrap().to_owned();
    // The same company again while its task runs: WeChat's refusal, as a clear 409.
    let (c, out) = stack.post("/register/create", &token, &body).await;
    assert_refused(c, &out, 409, "WECHAT_STATE_CONFLICT", "89249");

    let confirmed = stack
        .sandbox("/control/register/confirm", json!({"taskid": task_id}))
        .await;
    assert_eq!(confirmed["delivery"]["delivered"], true, "{confirmed}");
    let appid = confirmed["appid"].as_str().unwrap().to_owned();
    let (c, now) = status(&stack, &token, &task_id).await;
    assert_eq!(c, 200, "{now}");
    assert_eq!(
        (now["state"].as_str(), now["maAppId"].as_str()),
        (Some("registered"), Some(appid.as_str()))
    );
    assert_eq!(stack.mini_programs(&token).await, vec![appid.clone()]);
    assert_eq!(
        stack
            .events_of(&appid, "MiniProgramAuthorized", 1)
            .await
            .len(),
        1
    );

    // An operator registers a person's mini-program for another merchant; the person never confirms.
    let other = unique("registrant-two");
    let op = stack.token(Role::Operator);
    let (c, task) = stack
        .post(
            "/register/create",
            &op,
            &json!({"kind": "person", "wechatId": unique("tea_lady"), "personName": "王芳", "merchant": other}),
        )
        .await;
    assert_eq!(c, 202, "{task}");
    let person_task = task["taskId"].as_str().unwrap().to_owned();
    let failed = stack
        .sandbox(
            "/control/register/confirm",
            json!({"taskid": person_task, "result": "fail", "reason": "not confirmed within 24 h"}),
        )
        .await;
    assert_eq!(failed["delivery"]["delivered"], true, "{failed}");
    let other_token = stack.token_for_user(Role::Merchant, &other);
    let (c, now) = status(&stack, &other_token, &person_task).await;
    assert_eq!(c, 200, "{now}");
    assert_eq!(
        (now["state"].as_str(), now["message"].as_str()),
        (Some("failed"), Some("not confirmed within 24 h"))
    );
    assert!(stack.mini_programs(&other_token).await.is_empty());

    // Refusals: other merchants' tasks, wrong roles, bad input before WeChat, WeChat's own refusal.
    let (c, out) = status(&stack, &token, &person_task).await;
    assert_refused(c, &out, 404, "NOT_FOUND", &person_task);
    for role in [Role::Developer, Role::Admin] {
        let (c, out) = stack
            .post("/register/create", &stack.token(role), &body)
            .await;
        assert_refused(c, &out, 403, "FORBIDDEN", "");
    }
    for (bad, mentions) in [
        (
            json!({"kind": "company", "name": "T", "code": "123"}),
            "18-character",
        ),
        (json!({"kind": "company", "code": company_code()}), "name"),
        (json!({"kind": "person", "wechatId": "x"}), "personName"),
        (json!({"kind": "shop"}), "company or person"),
        (
            json!({"kind": "company", "name": "T", "code": company_code(), "merchant": "someone"}),
            "for themselves",
        ),
        (
            json!({"kind": "company", "name": "T", "code": company_code(), "extra": 1}),
            "unknown field",
        ),
    ] {
        let (c, out) = stack.post("/register/create", &token, &bad).await;
        assert_eq!(c, 400, "{bad}: {out}");
        assert!(
            out["error"]["message"].as_str().unwrap().contains(mentions),
            "{out}"
        );
    }
    let (c, out) = stack
        .post(
            "/register/create",
            &token,
            &json!({"kind": "person", "wechatId": "nobody_here", "personName": "X"}),
        )
        .await;
    assert_refused(c, &out, 400, "WECHAT_REFUSED_INPUT", "86004");
    let (c, out) = status(&stack, &token, "no-such-task").await;
    assert_refused(c, &out, 404, "NOT_FOUND", "no-such-task");
}
