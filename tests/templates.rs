//! Template lifecycle, black-box: draft → industry template → handover → operator edit → release → market,
//! and every refusal on the way.
use serde_json::{json, Value};
use stack_tests::{assert_refused, serial, Stack};
use wxtpl::http::auth::Role;

async fn new_draft(stack: &Stack) -> i64 {
    let draft = stack
        .sandbox(
            "/control/drafts",
            json!({"userVersion": "1.2.0", "userDesc": "shop template"}),
        )
        .await;
    draft["draft_id"].as_i64().unwrap()
}

fn release_body(draft_id: i64) -> Value {
    json!({
        "draftId": draft_id, "industryId": "catering", "industryName": "Catering",
        "config": {"theme": "red", "showBanner": true},
        "pages": [
            {"pageKey": "home", "name": "Home", "config": {"blocks": ["banner", "menu"]}},
            {"pageKey": "menu", "name": "Menu", "config": {"columns": 2}}
        ],
        "desc": "for restaurants"
    })
}

async fn released_template(stack: &Stack) -> Value {
    let draft_id = new_draft(stack).await;
    let (code, body) = stack
        .post(
            "/draft/release",
            &stack.token(Role::Developer),
            &release_body(draft_id),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    body["template"].clone()
}

#[tokio::test]
async fn the_whole_story_from_draft_to_market() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (dev, ops, merchant) = (
        stack.token(Role::Developer),
        stack.token(Role::Operator),
        stack.token(Role::Merchant),
    );
    let draft_id = new_draft(&stack).await;
    let (code, drafts) = stack.get("/draft/list", &dev).await;
    assert_eq!(code, 200, "{drafts}");
    assert_eq!(drafts["items"][0]["draft_id"], draft_id, "newest first");

    let (code, body) = stack
        .post("/draft/release", &dev, &release_body(draft_id))
        .await;
    assert_eq!(code, 201, "{body}");
    let t = &body["template"];
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(t["status"], 0);
    assert_eq!(t["draftId"], draft_id);
    assert!(t["templateId"].as_i64().unwrap() > 0);
    assert!(t["productAppId"].as_str().unwrap().starts_with("wx"));

    // Releasing the same draft again returns the same template, and WeChat gets no second template.
    let adds = stack.counter("addtotemplate").await;
    let (code, again) = stack
        .post("/draft/release", &dev, &release_body(draft_id))
        .await;
    assert_eq!((code, again["created"].as_bool()), (200, Some(false)));
    assert_eq!(again["template"]["id"], id.as_str());
    assert_eq!(stack.counter("addtotemplate").await, adds);

    // Developer edits, hands over; operator edits desc; releases; merchant sees it.
    // An ext that is not a JSON object is refused, and the version stays.
    let bad = json!({"id": id, "version": 1, "ext": ["not", "an", "object"]});
    let (code, body) = stack.post("/template/update", &dev, &bad).await;
    assert_refused(code, &body, 400, "BAD_REQUEST", "ext must be a JSON object");
    let update = json!({"id": id, "version": 1, "config": {"theme": "green"}, "ext": {"industryTag": "tea"}});
    let (code, body) = stack.post("/template/update", &dev, &update).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["template"]["config"]["theme"], "green");
    assert_eq!(body["template"]["ext"], json!({"industryTag": "tea"}));
    assert_eq!(body["template"]["version"], 2);
    let (code, body) = stack
        .post("/template/handover", &dev, &json!({"id": id, "version": 2}))
        .await;
    assert_eq!(
        (code, body["template"]["status"].as_i64()),
        (200, Some(1)),
        "{body}"
    );
    // The operator uploads a cover through the presigned URL and sets it with the description.
    let jpeg: Vec<u8> = b"\xff\xd8\xff\xe0"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(1u8, 500))
        .collect();
    let ask = json!({"id": id, "contentType": "image/jpeg", "size": jpeg.len()});
    let (code, upload) = stack.post("/template/cover/upload-url", &ops, &ask).await;
    assert_eq!(code, 200, "{upload}");
    let url = upload["uploadUrl"].as_str().unwrap();
    let put = stack
        .http
        .put(url)
        .header("Content-Type", "image/jpeg")
        .body(jpeg.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let (code, body) = stack
        .post(
            "/template/update",
            &ops,
            &json!({"id": id, "version": 3, "desc": "Warm and red", "img": upload["key"]}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = stack
        .post("/template/release", &ops, &json!({"id": id, "version": 4}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["template"]["status"], 2);
    let pages = body["pageConfigs"].as_array().unwrap();
    assert_eq!(pages.len(), 2);
    let values: Vec<&str> = pages
        .iter()
        .map(|p| p["pageValue"].as_str().unwrap())
        .collect();
    assert_ne!(values[0], values[1], "page values are unique");

    let (code, market) = stack
        .get("/template/market?industryId=catering", &merchant)
        .await;
    assert_eq!(code, 200, "{market}");
    let item = market["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("published template in the market");
    assert_eq!(item["desc"], "Warm and red");
    let cover_url = item["imgUrl"].as_str().expect("cover URL");
    let cover = stack
        .http
        .get(cover_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(cover.as_ref(), jpeg.as_slice());
    assert_eq!(item["pages"].as_array().unwrap().len(), 2);
    assert!(
        item.get("config").is_none() && item.get("draftId").is_none(),
        "developer fields stay private"
    );

    // Withdrawn: gone from the market, back to status 1; a second release keeps the page values.
    let (code, _) = stack
        .post("/template/withdraw", &ops, &json!({"id": id, "version": 5}))
        .await;
    assert_eq!(code, 200);
    let (_, market) = stack.get("/template/market", &merchant).await;
    assert!(market["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["id"] != id.as_str()));
    let (code, body) = stack
        .post("/template/release", &ops, &json!({"id": id, "version": 6}))
        .await;
    assert_eq!(code, 200, "{body}");
    let again: Vec<&str> = body["pageConfigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pageValue"].as_str().unwrap())
        .collect();
    assert_eq!(again, values);

    let (code, list) = stack
        .get("/template/list?status=2&industryId=catering", &ops)
        .await;
    assert_eq!(code, 200);
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == id.as_str()));
}

#[tokio::test]
async fn wrong_role_wrong_status_and_stale_version_are_refused_without_changes() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let (dev, ops) = (stack.token(Role::Developer), stack.token(Role::Operator));
    let t = released_template(&stack).await;
    let id = t["id"].as_str().unwrap();

    assert_eq!(
        stack
            .post(
                "/template/update",
                &ops,
                &json!({"id": id, "version": 1, "config": {}})
            )
            .await
            .0,
        403
    );
    let (code, body) = stack
        .post(
            "/template/update",
            &dev,
            &json!({"id": id, "version": 1, "desc": "x"}),
        )
        .await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(
        stack
            .post("/template/release", &ops, &json!({"id": id, "version": 1}))
            .await
            .0,
        409,
        "release needs status 1"
    );
    assert_eq!(
        stack
            .post("/template/handover", &ops, &json!({"id": id, "version": 1}))
            .await
            .0,
        403
    );
    assert_eq!(
        stack.post("/draft/release", &ops, &release_body(1)).await.0,
        403
    );
    assert_eq!(stack.get("/template/market", &dev).await.0, 403);
    assert_eq!(stack.get("/draft/list", &ops).await.0, 403);

    let (code, body) = stack
        .post(
            "/template/update",
            &dev,
            &json!({"id": id, "version": 7, "config": {"a": 1}}),
        )
        .await;
    assert_eq!(code, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("stale"));
    stack
        .post("/template/handover", &dev, &json!({"id": id, "version": 1}))
        .await;
    let (code, body) = stack
        .post(
            "/template/update",
            &dev,
            &json!({"id": id, "version": 2, "config": {"a": 1}}),
        )
        .await;
    assert_eq!(code, 409, "config is frozen after handover: {body}");

    let (_, detail) = stack.get(&format!("/template/detail?id={id}"), &dev).await;
    assert_eq!(
        detail["template"]["config"], t["config"],
        "nothing was written by the refusals"
    );
    assert_eq!(detail["template"]["version"], 2);
}

#[tokio::test]
async fn another_tenants_template_is_404_and_nothing_leaks() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let t = released_template(&stack).await;
    let id = t["id"].as_str().unwrap();
    // A developer of another tenant, with a component of their own.
    let other_appid = format!("wx{:016x}", wxtpl::clock::now_millis() + 7);
    let other_admin = stack.token_for(Role::Admin, "tenant-b", None);
    let reg = json!({"appid": other_appid, "appsecret": "0123456789abcdef0123456789abcdef", "token": "tokenb", "encodingAesKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"});
    assert_eq!(
        stack
            .post("/component/register", &other_admin, &reg)
            .await
            .0,
        201
    );
    let intruder = stack.token_for(Role::Developer, "tenant-b", Some(&other_appid));
    let (code, body) = stack
        .get(&format!("/template/detail?id={id}"), &intruder)
        .await;
    assert_eq!(code, 404);
    assert!(!body.to_string().contains("catering"));
    assert_eq!(
        stack
            .post(
                "/template/update",
                &intruder,
                &json!({"id": id, "version": 1, "config": {}})
            )
            .await
            .0,
        404
    );
    assert_eq!(
        stack
            .post(
                "/template/handover",
                &intruder,
                &json!({"id": id, "version": 1})
            )
            .await
            .0,
        404
    );
    // Naming the victim's component directly is refused as well.
    let path = format!(
        "/template/detail?id={id}&componentAppid={}",
        stack.component_appid()
    );
    assert_eq!(stack.get(&path, &intruder).await.0, 404);
    let (_, detail) = stack
        .get(
            &format!("/template/detail?id={id}"),
            &stack.token(Role::Developer),
        )
        .await;
    assert_eq!(detail["template"]["version"], 1);
}

#[tokio::test]
async fn wechat_refusals_and_bad_input_are_clear_errors() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let dev = stack.token(Role::Developer);
    let template_records = || async {
        let items = stack
            .partition_items(&format!("COMP#{}", stack.component_appid()))
            .await;
        items
            .iter()
            .filter(|i| i["SK"].as_s().unwrap().starts_with("TPL"))
            .count()
    };
    let before = template_records().await;

    let (code, body) = stack
        .post("/draft/release", &dev, &release_body(999_999))
        .await;
    assert_eq!(code, 404, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("draft 999999"));

    let draft_id = new_draft(&stack).await;
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "addtotemplate", "errcode": 85065, "times": 1}),
        )
        .await;
    let (code, body) = stack
        .post("/draft/release", &dev, &release_body(draft_id))
        .await;
    stack.clear_faults().await;
    assert_eq!(code, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("full"));

    let resp = stack
        .http
        .post(format!("{}/draft/release", stack.api_url()))
        .bearer_auth(&dev)
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (code, body) = stack
        .post("/draft/release", &dev, &json!({"draftId": draft_id}))
        .await;
    assert_eq!(code, 400, "{body}");
    let mut dup = release_body(draft_id);
    dup["pages"][1]["pageKey"] = json!("home");
    let (code, body) = stack.post("/draft/release", &dev, &dup).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("twice"));
    let mut big = release_body(draft_id);
    big["config"] = json!({"blob": "x".repeat(40 * 1024)});
    let (code, body) = stack.post("/draft/release", &dev, &big).await;
    assert_eq!(code, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("bytes"));
    let mut huge = release_body(draft_id);
    huge["config"] = json!({"blob": "x".repeat(80 * 1024)});
    assert_eq!(stack.post("/draft/release", &dev, &huge).await.0, 413);
    assert_eq!(stack.get("/template/list?status=7", &dev).await.0, 400);
    assert_eq!(stack.get("/template/detail?id=it_nope", &dev).await.0, 404);

    assert_eq!(
        template_records().await,
        before,
        "no template record was written by any refusal"
    );
}

async fn handed_over(stack: &Stack) -> (String, i64) {
    let t = released_template(stack).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let (code, body) = stack
        .post(
            "/template/handover",
            &stack.token(Role::Developer),
            &json!({"id": id, "version": 1}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    (id, 2)
}

#[tokio::test]
async fn operators_upload_a_cover_through_a_presigned_url() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let ops = stack.token(Role::Operator);
    let (id, version) = handed_over(&stack).await;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(7u8, 1000))
        .collect();
    let ask = json!({"id": id, "contentType": "image/png", "size": png.len()});
    let (code, upload) = stack.post("/template/cover/upload-url", &ops, &ask).await;
    assert_eq!(code, 200, "{upload}");
    let key = upload["key"].as_str().unwrap();
    assert!(key.starts_with(&format!("covers/{}/{id}/", stack.component_appid())));

    // An img key with nothing behind it yet is refused.
    let (code, body) = stack
        .post(
            "/template/update",
            &ops,
            &json!({"id": id, "version": version, "img": key}),
        )
        .await;
    assert_eq!(code, 400, "{body}");

    let put = stack
        .http
        .put(upload["uploadUrl"].as_str().unwrap())
        .header("Content-Type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert!(
        put.status().is_success(),
        "PUT to the presigned URL: {}",
        put.status()
    );
    let (code, body) = stack
        .post(
            "/template/update",
            &ops,
            &json!({"id": id, "version": version, "img": key}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let url = body["template"]["imgUrl"]
        .as_str()
        .expect("presigned read URL");
    let got = stack
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), png.as_slice());

    // Refusals: type, size, role, status, foreign key.
    let bad_type = json!({"id": id, "contentType": "image/gif", "size": 10});
    assert_eq!(
        stack
            .post("/template/cover/upload-url", &ops, &bad_type)
            .await
            .0,
        400
    );
    let too_big = json!({"id": id, "contentType": "image/jpeg", "size": 3 * 1024 * 1024});
    assert_eq!(
        stack
            .post("/template/cover/upload-url", &ops, &too_big)
            .await
            .0,
        400
    );
    assert_eq!(
        stack
            .post(
                "/template/cover/upload-url",
                &stack.token(Role::Developer),
                &ask
            )
            .await
            .0,
        403
    );
    let fresh = released_template(&stack).await;
    let at_status_0 = json!({"id": fresh["id"], "contentType": "image/png", "size": 10});
    assert_eq!(
        stack
            .post("/template/cover/upload-url", &ops, &at_status_0)
            .await
            .0,
        409
    );
    let foreign =
        json!({"id": id, "version": version + 1, "img": "covers/wx0000000000000000/x/y.png"});
    assert_eq!(stack.post("/template/update", &ops, &foreign).await.0, 400);
}

#[tokio::test]
async fn developers_delete_unused_templates_at_wechat_and_here() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let dev = stack.token(Role::Developer);
    let t = released_template(&stack).await;
    let (id, draft_id) = (
        t["id"].as_str().unwrap().to_owned(),
        t["draftId"].as_i64().unwrap(),
    );

    // In use by a mini-program: refused, and WeChat is not asked.
    let pk = format!("COMP#{}", stack.component_appid());
    stack
        .set_number(&pk, &format!("TPL#{id}"), "mini_programs", 1)
        .await;
    let deletes = stack.counter("deletetemplate").await;
    let (code, body) = stack
        .post("/template/delete", &dev, &json!({"id": id, "version": 1}))
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(stack.counter("deletetemplate").await, deletes);
    stack
        .set_number(&pk, &format!("TPL#{id}"), "mini_programs", 0)
        .await;

    assert_eq!(
        stack
            .post(
                "/template/delete",
                &stack.token(Role::Operator),
                &json!({"id": id, "version": 1})
            )
            .await
            .0,
        403
    );
    let (code, body) = stack
        .post("/template/delete", &dev, &json!({"id": id, "version": 1}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(stack.counter("deletetemplate").await, deletes + 1);
    assert_eq!(
        stack
            .get(&format!("/template/detail?id={id}"), &dev)
            .await
            .0,
        404
    );
    // The draft is free again.
    let (code, body) = stack
        .post("/draft/release", &dev, &release_body(draft_id))
        .await;
    assert_eq!(code, 201, "{body}");
    assert_ne!(body["template"]["id"], id.as_str());
}

#[tokio::test]
async fn the_library_shows_wechats_templates_and_its_cap_to_staff_only() {
    let _g = serial().await;
    let stack = Stack::connect().await;
    let library = |token: String| {
        let stack = &stack;
        async move { stack.get("/template/library", &token).await }
    };
    let (code, before) = library(stack.token(Role::Operator)).await;
    assert_eq!(code, 200, "{before}");
    let t = released_template(&stack).await;
    let (code, after) = library(stack.token(Role::Developer)).await;
    assert_eq!(code, 200, "{after}");
    assert_eq!(after["limit"], 200);
    let items = after["items"].as_array().unwrap();
    assert_eq!(after["count"].as_u64().unwrap() as usize, items.len());
    assert_eq!(
        after["count"].as_u64().unwrap(),
        before["count"].as_u64().unwrap() + 1,
        "{after}"
    );
    // Newest first: the one just made from the draft leads.
    assert_eq!(items[0]["draft_id"], t["draftId"], "{after}");
    assert_eq!(library(stack.token(Role::Admin)).await.0, 200);

    let (code, out) = library(stack.token(Role::Merchant)).await;
    assert_refused(code, &out, 403, "FORBIDDEN", "merchant");
    // WeChat refusing: its errcode, nothing else.
    stack
        .sandbox(
            "/control/faults",
            json!({"endpoint": "gettemplatelist", "errcode": 45009, "times": 1}),
        )
        .await;
    let (code, out) = library(stack.token(Role::Developer)).await;
    assert!(code >= 400, "{code} {out}");
    assert_eq!(out["error"]["wechatErrcode"], 45009, "{out}");
}
