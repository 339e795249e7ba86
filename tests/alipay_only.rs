//! A provider with only Alipay, black-box against the Alipay sandbox: its admin registers the Alipay application
//! without any WeChat component and gets a workspace of its own; developers make an industry template from an
//! Alipay template alone; merchants authorize, and one batch with `all` releases the template to every one of them.
//! And in a workspace with both platforms: a template made for Alipay only is refused to WeChat mini-programs.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, unique, Stack};
use wxtpl::http::auth::Role;

fn ids() -> (String, String) {
    let n = wxtpl::clock::now_millis() % 1_000_000_000_000;
    (format!("2019{n:012}"), format!("2022{n:012}"))
}

/// An industry template made from an Alipay template alone, handed over and on the market.
async fn alipay_only_template(
    stack: &Stack,
    dev: &str,
    ops: &str,
    alipay_template: &str,
) -> String {
    let body = json!({"industryId": "tea", "industryName": "Tea shop", "config": {"theme": "jade"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {"banner": true}}],
        "alipay": {"templateId": alipay_template}});
    let (code, out) = stack.post("/draft/release", dev, &body).await;
    assert_eq!(code, 201, "{out}");
    let template = &out["template"];
    assert_eq!(template["templateId"], Value::Null, "{out}");
    assert_eq!(template["draftId"], Value::Null, "{out}");
    assert_eq!(template["alipay"]["templateId"], alipay_template, "{out}");
    let id = template["id"].as_str().unwrap().to_owned();
    // The same request again (a double click, a retry) is the same template.
    let (code, again) = stack.post("/draft/release", dev, &body).await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["template"]["id"], id.as_str());
    let (code, out) = stack
        .post("/template/handover", dev, &json!({"id": id, "version": 1}))
        .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = stack
        .post("/template/release", ops, &json!({"id": id, "version": 2}))
        .await;
    assert_eq!(code, 200, "{out}");
    id
}

#[tokio::test]
async fn a_provider_with_only_alipay_registers_makes_a_template_and_releases_to_all_its_mini_programs(
) {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (app_id, alipay_template) = ids();
    let tenant = unique(&format!("alipay-only-{app_id}"));
    stack
        .alipay_sandbox("/control/isv", json!({"appId": app_id}))
        .await;
    stack
        .alipay_sandbox(
            "/control/template",
            json!({"templateId": alipay_template, "version": "0.0.1"}),
        )
        .await;

    // The admin has no WeChat component: registering the application makes its workspace.
    let admin = stack.token_for(Role::Admin, &tenant, None);
    let mut keys = stack.alipay_app();
    keys["appId"] = json!(app_id);
    let (code, out) = stack.post("/alipay/app/register", &admin, &keys).await;
    assert_eq!((code, &out["created"]), (201, &json!(true)), "{out}");
    // Again (a key rotation): the same workspace, nothing new.
    let (code, out) = stack.post("/alipay/app/register", &admin, &keys).await;
    assert_eq!((code, &out["created"]), (200, &json!(false)), "{out}");
    // Another provider cannot take the application, nor its workspace.
    let stranger = stack.token_for(Role::Admin, &unique("alipay-stranger"), None);
    let (code, out) = stack.post("/alipay/app/register", &stranger, &keys).await;
    assert_refused(code, &out, 409, "CONFLICT", "another workspace");
    let path = format!("/alipay/miniprogram/list?componentAppid={app_id}");
    let (code, out) = stack.get(&path, &stranger).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &app_id);

    let in_workspace = |role: Role, sub: &str| stack.token_as(role, sub, &tenant, Some(&app_id));
    let (dev, ops) = (
        in_workspace(Role::Developer, "dev"),
        in_workspace(Role::Operator, "ops"),
    );
    // WeChat's routes say clearly that this workspace has no WeChat component.
    let (code, out) = stack.get("/draft/list", &dev).await;
    assert_refused(code, &out, 409, "CONFLICT", "Alipay application only");
    // A template needs code from somewhere: a WeChat draft or an Alipay template.
    let body = json!({"industryId": "tea", "industryName": "Tea shop", "config": {},
        "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
    let (code, out) = stack.post("/draft/release", &dev, &body).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "draftId");
    let mut bad = body.clone();
    bad["alipay"] = json!({"templateId": "not-digits"});
    let (code, out) = stack.post("/draft/release", &dev, &bad).await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "alipay.templateId");
    let template = alipay_only_template(&stack, &dev, &ops, &alipay_template).await;

    // Three merchants authorize their mini-programs through the workspace's consent link.
    let mut apps = Vec::new();
    for i in 0..3 {
        let merchant = in_workspace(Role::Merchant, &format!("tea-merchant-{i}"));
        let (link, mini_app_id) = stack.alipay_consent(&merchant).await;
        assert!(link.contains(&app_id), "{link}");
        let base = json!({"miniAppId": mini_app_id, "servicePhone": "0571-88886666"});
        let (code, out) = stack
            .post("/alipay/baseinfo/modify", &merchant, &base)
            .await;
        assert_eq!(code, 200, "{out}");
        apps.push(mini_app_id);
    }
    let (code, listing) = stack.get("/alipay/miniprogram/list", &ops).await;
    assert_eq!(code, 200, "{listing}");
    assert_eq!(listing["items"].as_array().unwrap().len(), 3, "{listing}");

    // One batch, `all`: the workspace's Alipay mini-programs, each from its default config.
    let body =
        json!({"templateId": template, "all": true, "userVersion": "1.0.0", "until": "released"});
    let (code, out) = stack.post("/batch/release", &ops, &body).await;
    assert_eq!(code, 202, "{out}");
    let batch = out["batchId"].as_str().unwrap().to_owned();
    let status = || async {
        let (code, out) = stack
            .get(&format!("/batch/status?batchId={batch}"), &ops)
            .await;
        assert_eq!(code, 200, "{out}");
        out
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut decided = false;
    let view = loop {
        let view = status().await;
        if view["state"] == "completed" {
            break view;
        }
        if !decided && view["counts"]["auditing"] == 3 {
            for app in &apps {
                stack
                    .alipay_sandbox(
                        "/control/audit/decide",
                        json!({"miniAppId": app, "result": "pass"}),
                    )
                    .await;
            }
            decided = true;
        }
        assert!(std::time::Instant::now() < deadline, "batch stuck: {view}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(view["counts"]["released"], 3, "{view}");
    assert_eq!(view["total"], 3, "{view}");
    for app in &apps {
        let versions = stack.alipay_versions(app).await;
        assert_eq!(versions["1.0.0"]["status"], "RELEASE", "{versions}");
        assert_eq!(
            versions["1.0.0"]["ext"]["ext"]["theme"], "jade",
            "{versions}"
        );
        assert_eq!(
            versions.as_object().unwrap().len(),
            1,
            "one upload each: {versions}"
        );
    }
}

#[tokio::test]
async fn a_template_made_for_alipay_only_is_refused_to_wechat_mini_programs() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (_, alipay_template) = ids();
    stack
        .alipay_sandbox(
            "/control/template",
            json!({"templateId": alipay_template, "version": "0.0.1"}),
        )
        .await;
    let (dev, ops) = (stack.token(Role::Developer), stack.token(Role::Operator));
    let template = alipay_only_template(&stack, &dev, &ops, &alipay_template).await;
    let (merchant, appid) = stack.decorated(&unique("wechat-on-alipay-only")).await;
    let save = json!({"maAppId": appid, "templateId": template, "config": {"theme": "red"},
        "pages": [{"pageKey": "home", "name": "Home", "config": {}}]});
    let (_, before) = stack
        .get(&format!("/config/query?maAppId={appid}"), &merchant)
        .await;
    let mut body = save.clone();
    body["version"] = before["userTemplate"]["version"].clone();
    let (code, out) = stack.post("/config/save", &merchant, &body).await;
    assert_refused(code, &out, 409, "CONFLICT", "Alipay only");
    // Nothing changed: the merchant's config is still the one on the WeChat template.
    let (_, after) = stack
        .get(&format!("/config/query?maAppId={appid}"), &merchant)
        .await;
    assert_eq!(after["userTemplate"], before["userTemplate"]);

    // A batch naming the WeChat mini-program skips it with the reason.
    let body = json!({"templateId": template, "maAppIds": [appid], "userVersion": "1.0.0", "until": "committed"});
    let (code, out) = stack.post("/batch/release", &ops, &body).await;
    assert_eq!(code, 202, "{out}");
    let batch = out["batchId"].as_str().unwrap().to_owned();
    let (view, seen) = stack
        .wait_for_batch(&batch, 30, |v, _| v["state"] == "completed")
        .await;
    assert_eq!(view["counts"]["skipped"], 1, "{view}");
    let reason = seen[appid.as_str()]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("Alipay only"), "{reason}");

    // Deleting it touches nothing at WeChat and frees the Alipay template for a new industry template.
    let deletes = stack.counter("deletetemplate").await;
    let (code, out) = stack
        .post(
            "/template/delete",
            &dev,
            &json!({"id": template, "version": 3}),
        )
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(stack.counter("deletetemplate").await, deletes);
    let again = alipay_only_template(&stack, &dev, &ops, &alipay_template).await;
    assert_ne!(again, template);
}
