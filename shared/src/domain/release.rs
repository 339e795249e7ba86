//! The release pipeline's state machine and the `ext_json` a commit carries. Pure: no I/O.
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Where a mini-program's code stands: saved → committed → auditing → passed / rejected / delayed / withdrawn → released.
/// `SubmitPending`: committed, and the audit submit waits for WeChat's privacy scan (61039).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    Saved,
    /// Intent: a commit is being sent to WeChat; nobody else may commit until it is recorded or abandoned.
    Committing,
    /// Uploaded to a platform that builds the code after answering (Alipay): the sweep polls the build.
    Building,
    Committed,
    /// Intent: the audit submission is being sent to WeChat.
    Submitting,
    SubmitPending,
    Auditing,
    Delayed,
    Passed,
    Rejected,
    Withdrawn,
    /// The audited version is online for part of the users (gray release).
    Gray,
    Released,
    /// Intent: WeChat is asked to publish the audited version.
    Releasing,
    /// Intent: WeChat is asked to withdraw the open audit.
    Withdrawing,
    /// Intent: WeChat is asked to put the previous online version back (from whatever state the code was in).
    RollingBack,
}

impl ReleaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Saved => "saved",
            ReleaseState::Committing => "committing",
            ReleaseState::Building => "building",
            ReleaseState::Committed => "committed",
            ReleaseState::Submitting => "submitting",
            ReleaseState::SubmitPending => "submit_pending",
            ReleaseState::Auditing => "auditing",
            ReleaseState::Delayed => "delayed",
            ReleaseState::Passed => "passed",
            ReleaseState::Rejected => "rejected",
            ReleaseState::Withdrawn => "withdrawn",
            ReleaseState::Gray => "gray",
            ReleaseState::Released => "released",
            ReleaseState::Releasing => "releasing",
            ReleaseState::Withdrawing => "withdrawing",
            ReleaseState::RollingBack => "rolling_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }

    /// Intent states: written before WeChat is asked, resolved by the step's caller or, if it died, the sweep.
    pub fn is_intent(self) -> bool {
        matches!(
            self,
            ReleaseState::Committing
                | ReleaseState::Submitting
                | ReleaseState::Releasing
                | ReleaseState::Withdrawing
                | ReleaseState::RollingBack
        )
    }

    /// States that wait for WeChat (a submit to retry, an audit to settle, an intent to resolve): the sweep
    /// looks at every record in one of them.
    pub fn is_open(self) -> bool {
        self.is_intent()
            || matches!(
                self,
                ReleaseState::SubmitPending
                    | ReleaseState::Building
                    | ReleaseState::Auditing
                    | ReleaseState::Delayed
            )
    }

    /// The audited version may be published fully: after its audit passed, or during its gray release.
    pub fn may_publish(self) -> bool {
        matches!(self, ReleaseState::Passed | ReleaseState::Gray)
    }

    /// A new commit (and audit) may start unless a commit or an audit is under way or waiting to be submitted.
    pub fn may_commit(self) -> Result<(), String> {
        match self {
            s if s.is_intent() => Err(format!(
                "another release step of this mini-program is {} right now",
                s.as_str()
            )),
            ReleaseState::Building => {
                Err("the platform is building the committed code: wait for the build to end".into())
            }
            ReleaseState::Auditing | ReleaseState::Delayed | ReleaseState::SubmitPending => {
                Err(format!(
                    "the code is {}: wait for the audit to finish or undo it first",
                    self.as_str()
                ))
            }
            ReleaseState::Gray => Err(
                "a gray release is running: publish it fully or revert it before releasing new code".into(),
            ),
            _ => Ok(()),
        }
    }
}

/// WeChat takes at most this many items in an audit submission.
pub const MAX_AUDIT_ITEMS: usize = 5;

/// `item_list` of `submit_audit`: the committed pages (up to 5), each with one of the mini-program's own
/// categories in turn. Every item needs a category, so a mini-program without one cannot be submitted.
pub fn audit_items(pages: &[String], categories: &[Value], title: &str) -> Result<Value, String> {
    if categories.is_empty() {
        return Err("the mini-program has no category: add one on WeChat before releasing".into());
    }
    let fallback = ["pages/index/index".to_owned()];
    let pages = if pages.is_empty() {
        &fallback[..]
    } else {
        pages
    };
    let items: Vec<Value> = pages
        .iter()
        .take(MAX_AUDIT_ITEMS)
        .zip(categories.iter().cycle())
        .map(|(page, c)| {
            json!({"address": page, "title": title,
                   "first_class": c["first_class"], "second_class": c["second_class"],
                   "first_id": c["first_id"], "second_id": c["second_id"]})
        })
        .collect();
    Ok(Value::Array(items))
}

/// `ext_json` for `/wxa/commit`: the saved config becomes `ext`, each saved page an entry of `extPages`.
pub fn ext_json(
    ma_app_id: &str,
    config: &Value,
    pages: &[(String, String, Value)],
    required_private_infos: &[String],
) -> String {
    let mut ext_pages = Map::new();
    for (page_key, page_value, page_config) in pages {
        let mut entry = match page_config {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        entry.insert("pageValue".into(), Value::String(page_value.clone()));
        ext_pages.insert(format!("pages/{page_key}/index"), Value::Object(entry));
    }
    let mut ext = json!({
        "extEnable": true,
        "extAppid": ma_app_id,
        "directCommit": false,
        "ext": config,
        "extPages": ext_pages,
    });
    if !required_private_infos.is_empty() {
        ext["requiredPrivateInfos"] = json!(required_private_infos);
    }
    ext.to_string()
}

/// The longest the sweep leaves an open release alone.
pub const MAX_SWEEP_DELAY_MS: i64 = 3_600_000;

/// WeChat's code and words for the status of an audit (`get_auditstatus`), from the audit status the release
/// record keeps: seed 000's `auditStatus` and `auditStatusDesc`. None before the first audit.
pub fn wechat_audit_status(kept: &str) -> Option<(i64, &'static str)> {
    match kept {
        "passed" | "gray" | "released" => Some((0, "审核成功")),
        "rejected" => Some((1, "审核被拒绝")),
        "auditing" => Some((2, "审核中")),
        "withdrawn" => Some((3, "已撤回")),
        "delayed" => Some((4, "审核延后")),
        _ => None,
    }
}

/// Seed 000's `accessStatus`: 1 when the mini-program can be visited, 0 when its merchant closed it.
pub fn access_status_code(kept: &str) -> i64 {
    i64::from(kept != "close")
}

/// How long the sweep waits before it looks at an open release again, after `misses` looks that found nothing to
/// do: `base_ms` doubled per miss, at most an hour.
pub fn sweep_delay_ms(base_ms: i64, misses: i64) -> i64 {
    base_ms
        .max(0)
        .saturating_mul(1 << misses.clamp(0, 8))
        .min(MAX_SWEEP_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_and_visit_status_are_shown_in_wechats_codes() {
        assert_eq!(wechat_audit_status("auditing"), Some((2, "审核中")));
        assert_eq!(wechat_audit_status("passed"), Some((0, "审核成功")));
        assert_eq!(wechat_audit_status("rejected").map(|s| s.0), Some(1));
        assert_eq!(wechat_audit_status("withdrawn").map(|s| s.0), Some(3));
        assert_eq!(wechat_audit_status("delayed").map(|s| s.0), Some(4));
        assert_eq!(wechat_audit_status(""), None);
        assert_eq!(
            (access_status_code("open"), access_status_code("close")),
            (1, 0)
        );
    }

    #[test]
    fn the_sweep_backs_off_doubling_up_to_an_hour() {
        assert_eq!(sweep_delay_ms(60_000, 0), 60_000);
        assert_eq!(sweep_delay_ms(60_000, 1), 120_000);
        assert_eq!(sweep_delay_ms(60_000, 3), 480_000);
        assert_eq!(sweep_delay_ms(60_000, 50), MAX_SWEEP_DELAY_MS);
        assert_eq!(sweep_delay_ms(0, 5), 0);
        assert_eq!(sweep_delay_ms(600_000, -1), 600_000);
    }

    #[test]
    fn ext_json_carries_config_and_pages() {
        let pages = vec![(
            "home".to_owned(),
            "up_1".to_owned(),
            json!({"banner": true}),
        )];
        let v: Value =
            serde_json::from_str(&ext_json("wxabc", &json!({"theme": "red"}), &pages, &[]))
                .unwrap();
        assert_eq!(v["extEnable"], true);
        assert_eq!(v["extAppid"], "wxabc");
        assert_eq!(v["ext"]["theme"], "red");
        assert_eq!(v["extPages"]["pages/home/index"]["banner"], true);
        assert_eq!(v["extPages"]["pages/home/index"]["pageValue"], "up_1");
        assert!(v.get("requiredPrivateInfos").is_none());
        let located = ext_json("wxabc", &json!({}), &pages, &["getLocation".to_owned()]);
        let v: Value = serde_json::from_str(&located).unwrap();
        assert_eq!(v["requiredPrivateInfos"], json!(["getLocation"]));
    }

    #[test]
    fn audit_items_pair_pages_with_the_mini_programs_categories() {
        let food =
            json!({"first_class": "Food", "second_class": "Tea", "first_id": 1, "second_id": 2});
        let shop =
            json!({"first_class": "Shop", "second_class": "Gifts", "first_id": 3, "second_id": 4});
        let pages: Vec<String> = (0..7).map(|i| format!("pages/p{i}/index")).collect();
        let items = audit_items(&pages, &[food, shop], "Tea House").unwrap();
        let items = items.as_array().unwrap();
        assert_eq!(items.len(), MAX_AUDIT_ITEMS);
        assert_eq!(items[0]["address"], "pages/p0/index");
        assert_eq!(items[0]["second_id"], 2);
        assert_eq!(items[1]["second_id"], 4);
        assert_eq!(items[2]["second_id"], 2);
        assert_eq!(items[4]["title"], "Tea House");
        assert!(audit_items(&pages, &[], "x").is_err());
        let one = audit_items(&[], &[json!({"first_id": 1})], "x").unwrap();
        assert_eq!(one[0]["address"], "pages/index/index");
    }

    #[test]
    fn no_commit_while_an_audit_is_open() {
        for open in [
            ReleaseState::Gray,
            ReleaseState::Committing,
            ReleaseState::Submitting,
            ReleaseState::Releasing,
            ReleaseState::Withdrawing,
            ReleaseState::RollingBack,
            ReleaseState::Auditing,
            ReleaseState::Delayed,
            ReleaseState::SubmitPending,
            ReleaseState::Building,
        ] {
            assert!(open.may_commit().is_err());
        }
        for closed in [
            ReleaseState::Saved,
            ReleaseState::Passed,
            ReleaseState::Rejected,
            ReleaseState::Withdrawn,
            ReleaseState::Released,
            ReleaseState::Committed,
        ] {
            assert!(closed.may_commit().is_ok());
        }
        for waiting in [
            "committing",
            "submitting",
            "releasing",
            "withdrawing",
            "rolling_back",
            "submit_pending",
            "building",
            "auditing",
            "delayed",
        ] {
            assert!(
                ReleaseState::parse(waiting).is_some_and(ReleaseState::is_open),
                "{waiting}"
            );
        }
        for done in [
            "saved",
            "committed",
            "passed",
            "rejected",
            "withdrawn",
            "released",
        ] {
            assert!(!ReleaseState::parse(done).unwrap().is_open(), "{done}");
        }
        assert_eq!(
            ReleaseState::parse("submit_pending"),
            Some(ReleaseState::SubmitPending)
        );
        assert_eq!(ReleaseState::parse("nope"), None);
    }
}
