//! Violations, black-box: WeChat's violation records and appeals are shown per mini-program, and a pushed
//! `wxa_punish_event` is kept once however often it is delivered; other merchants, wrong roles and bad ids are
//! refused.
use serde_json::json;
use stack_tests::{assert_refused, unique, Stack};
use wxtpl::http::auth::Role;

#[tokio::test]
async fn violations_appeals_and_pushed_punishments_are_shown_per_mini_program() {
    let stack = Stack::connect().await;
    let (token, appid) = stack.decorated(&unique("violator")).await;
    let path = format!("/miniprogram/violations?maAppId={appid}");

    let (code, out) = stack.get(&path, &token).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (out["illegalRecords"].clone(), out["punishments"].clone()),
        (json!([]), json!([]))
    );

    // WeChat records a violation, with a rejected appeal, and pushes a ban.
    let found = stack
        .sandbox(
            "/control/violation",
            json!({"appid": appid, "reason": "虚假宣传", "appeals": [{"status": 3, "from": 1, "auditReason": "no proof"}],
                   "punish": {"eventType": 2, "detail": {"banned_days": 7, "banned_function_names": "payments"}}}),
        )
        .await;
    assert_eq!(found["delivery"]["delivered"], true, "{found}");
    let record_id = found["illegalRecordId"].as_str().unwrap().to_owned();
    let punish_id = found["delivery"]["punishId"].as_str().unwrap().to_owned();

    let (code, out) = stack.get(&path, &token).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        out["illegalRecords"][0]["illegalRecordId"],
        record_id.as_str()
    );
    assert_eq!(out["illegalRecords"][0]["illegalReason"], "虚假宣传");
    let punished = out["punishments"].as_array().unwrap();
    assert_eq!(punished.len(), 1, "{out}");
    assert_eq!(
        (&punished[0]["punishId"], &punished[0]["eventType"]),
        (&json!(punish_id), &json!(2))
    );
    let detail: serde_json::Value =
        serde_json::from_str(punished[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["banned_days"], 7);

    // The same punishment pushed again, even with another time, is kept once.
    let later = punished[0]["punishTime"].as_i64().unwrap() + 60;
    let again = stack
        .sandbox(
            "/control/violation",
            json!({"appid": appid, "punish": {"eventType": 2, "punishId": punish_id, "punishTime": later}}),
        )
        .await;
    assert_eq!(again["delivery"]["delivered"], true, "{again}");
    let (_, out) = stack.get(&path, &token).await;
    assert_eq!(out["punishments"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out["illegalRecords"].as_array().unwrap().len(), 2);

    // The appeals of one record, in the API's words; the component's operator sees them too.
    let appeals = format!("/miniprogram/appeals?maAppId={appid}&illegalRecordId={record_id}");
    let (code, out) = stack.get(&appeals, &stack.token(Role::Operator)).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (
            &out["appeals"][0]["appealStatus"],
            &out["appeals"][0]["appealFrom"]
        ),
        (&json!("rejected"), &json!("provider"))
    );

    // Refusals: another merchant, wrong roles, a malformed record id, and WeChat's own refusal of an unknown one.
    let stranger = stack.token_for_user(Role::Merchant, &unique("stranger"));
    let (code, out) = stack.get(&path, &stranger).await;
    assert_refused(code, &out, 404, "NOT_FOUND", &appid);
    for role in [Role::Developer, Role::Admin] {
        let (code, out) = stack.get(&path, &stack.token(role)).await;
        assert_refused(code, &out, 403, "FORBIDDEN", "");
    }
    let (code, out) = stack
        .get(
            &format!("/miniprogram/appeals?maAppId={appid}&illegalRecordId=a%20b"),
            &token,
        )
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "illegalRecordId");
    let (code, out) = stack
        .get(&format!("/miniprogram/appeals?maAppId={appid}"), &token)
        .await;
    assert_refused(code, &out, 400, "BAD_REQUEST", "illegalRecordId");
    let (code, out) = stack
        .get(
            &format!("/miniprogram/appeals?maAppId={appid}&illegalRecordId=ir000"),
            &token,
        )
        .await;
    assert_refused(code, &out, 400, "WECHAT_REFUSED_INPUT", "40097");
}
