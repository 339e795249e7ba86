//! Batch release: one template to many mini-programs. The batch's and each target's states, the messages that
//! drive them, and the pacing rules. Pure: no I/O.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// How far each target of a batch goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    Committed,
    Submitted,
    Released,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    Running,
    Paused,
    Cancelled,
    Completed,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Running => "running",
            BatchState::Paused => "paused",
            BatchState::Cancelled => "cancelled",
            BatchState::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }
}

/// Where one target (mini-program) of a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    Pending,
    /// The commit is being made (a crash here is resolved from the mini-program's own release record).
    Committing,
    Committed,
    /// Committed; WeChat's audit quota is used up, so the submission waits and retries by itself.
    WaitingQuota,
    /// Committed; WeChat is still scanning the code for privacy (61039), the submission retries by itself.
    SubmitPending,
    Auditing,
    Submitted,
    /// Passed its audit; the mini-program has no ICP filing yet, so publishing waits and retries by itself.
    WaitingIcp,
    Released,
    Gray,
    Rejected,
    Failed,
    Skipped,
    Cancelled,
}

pub const TARGET_STATES: [TargetState; 14] = [
    TargetState::Pending,
    TargetState::Committing,
    TargetState::Committed,
    TargetState::WaitingQuota,
    TargetState::SubmitPending,
    TargetState::Auditing,
    TargetState::Submitted,
    TargetState::WaitingIcp,
    TargetState::Released,
    TargetState::Gray,
    TargetState::Rejected,
    TargetState::Failed,
    TargetState::Skipped,
    TargetState::Cancelled,
];

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Pending => "pending",
            TargetState::Committing => "committing",
            TargetState::Committed => "committed",
            TargetState::WaitingQuota => "waiting_quota",
            TargetState::SubmitPending => "submit_pending",
            TargetState::Auditing => "auditing",
            TargetState::Submitted => "submitted",
            TargetState::WaitingIcp => "waiting_icp",
            TargetState::Released => "released",
            TargetState::Gray => "gray",
            TargetState::Rejected => "rejected",
            TargetState::Failed => "failed",
            TargetState::Skipped => "skipped",
            TargetState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }

    /// Nothing more happens to a target in this state, for a batch that goes `until` this far.
    pub fn is_finished(self, until: Until) -> bool {
        match self {
            TargetState::Rejected
            | TargetState::Failed
            | TargetState::Skipped
            | TargetState::Cancelled
            | TargetState::Submitted
            | TargetState::Released
            | TargetState::Gray => true,
            TargetState::Committed => until == Until::Committed,
            _ => false,
        }
    }
}

/// What a provider asked for (`POST /batch/release`), kept on the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSpec {
    pub template_id: String,
    /// The targets named; empty with `all`.
    #[serde(default)]
    pub ma_app_ids: Vec<String>,
    #[serde(default)]
    pub all: bool,
    pub user_version: String,
    #[serde(default)]
    pub user_desc: String,
    pub until: Until,
    /// Publish to this percentage of users (gray release) instead of everyone.
    pub gray_percentage: Option<i64>,
}

/// A batch names at most this many targets explicitly; `all` has no limit.
pub const MAX_NAMED_TARGETS: usize = 1000;

impl BatchSpec {
    pub fn validate(&self) -> Result<(), String> {
        if self.all == !self.ma_app_ids.is_empty() {
            return Err("give either maAppIds (1 to 1000) or all: true".into());
        }
        if self.ma_app_ids.len() > MAX_NAMED_TARGETS {
            return Err(format!(
                "maAppIds holds at most {MAX_NAMED_TARGETS} mini-programs"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = self.ma_app_ids.iter().find(|a| !seen.insert(a.as_str())) {
            return Err(format!("maAppIds names {dup} twice"));
        }
        if self.user_version.is_empty() || self.user_version.len() > 64 {
            return Err("userVersion must be 1 to 64 characters".into());
        }
        if self.user_desc.chars().count() > 200 {
            return Err("userDesc must be at most 200 characters".into());
        }
        match self.gray_percentage {
            Some(p) if !(1..=100).contains(&p) => Err("gray.percentage must be 1 to 100".into()),
            Some(_) if self.until != Until::Released => {
                Err("gray only applies with until: released".into())
            }
            _ => Ok(()),
        }
    }
}

/// One unit of queued work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum WorkMessage {
    /// Create the targets of one page of the batch (`cursor` "" for the first), then queue the next page.
    #[serde(rename_all = "camelCase")]
    Expand {
        component: String,
        batch_id: String,
        cursor: String,
    },
    /// Queue every unfinished target of one page again (after resume or cancel), then the next page.
    #[serde(rename_all = "camelCase")]
    Requeue {
        component: String,
        batch_id: String,
        cursor: String,
    },
    /// Move one target on. `turn` orders its messages: one older than the target's turn is a duplicate.
    #[serde(rename_all = "camelCase")]
    Target {
        component: String,
        batch_id: String,
        ma_app_id: String,
        turn: i64,
    },
    /// One turn of the component's audit-quota watch: wake the targets parked for quota that WeChat has quota for.
    #[serde(rename_all = "camelCase")]
    QuotaWatch { component: String, turn: i64 },
}

/// A target gives up after this many failed attempts at one step (WeChat kept failing).
pub const MAX_ATTEMPTS: i64 = 8;

/// Seconds before attempt `attempt` (1-based) of a step that failed for a passing reason: doubling from `base`,
/// at most 15 minutes (SQS's longest delay).
pub fn retry_delay_secs(attempt: i64, base: i64) -> i64 {
    let shift = attempt.clamp(1, 16) - 1;
    base.max(1).saturating_mul(1 << shift).min(900)
}

/// The batch's state as shown: a running batch whose unfinished targets all wait for WeChat's audit quota is
/// `waiting_quota`.
pub fn shown_state(
    state: BatchState,
    counts: &BTreeMap<String, i64>,
    unfinished: i64,
) -> &'static str {
    let waiting = counts
        .get(TargetState::WaitingQuota.as_str())
        .copied()
        .unwrap_or(0);
    if state == BatchState::Running && unfinished > 0 && waiting == unfinished {
        "waiting_quota"
    } else {
        state.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> Result<BatchSpec, String> {
        let s: BatchSpec = serde_json::from_value(v).map_err(|e| e.to_string())?;
        s.validate().map(|_| s)
    }

    #[test]
    fn a_spec_names_targets_or_all_but_not_both() {
        let base = json!({"templateId": "t", "userVersion": "1.0.0", "until": "submitted"});
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            spec(v)
        };
        assert!(with(json!({"all": true})).is_ok());
        assert!(with(json!({"maAppIds": ["wx1"]})).is_ok());
        assert!(with(json!({})).is_err());
        assert!(with(json!({"all": true, "maAppIds": ["wx1"]})).is_err());
        assert!(with(json!({"maAppIds": ["wx1", "wx1"]})).is_err());
        let many: Vec<String> = (0..1001).map(|i| format!("wx{i}")).collect();
        assert!(with(json!({"maAppIds": many})).is_err());
        assert!(
            with(json!({"all": true, "grayPercentage": 10})).is_err(),
            "gray needs until released"
        );
        assert!(with(json!({"all": true, "userVersion": ""})).is_err());
    }

    #[test]
    fn gray_is_a_percentage_of_a_release() {
        let v = json!({"templateId": "t", "all": true, "userVersion": "1", "until": "released"});
        let mut ok = v.clone();
        ok["grayPercentage"] = json!(30);
        assert!(spec(ok).is_ok());
        let mut bad = v;
        bad["grayPercentage"] = json!(0);
        assert!(spec(bad).is_err());
    }

    #[test]
    fn what_is_finished_depends_on_how_far_the_batch_goes() {
        assert!(TargetState::Committed.is_finished(Until::Committed));
        assert!(!TargetState::Committed.is_finished(Until::Released));
        assert!(TargetState::Submitted.is_finished(Until::Submitted));
        assert!(!TargetState::WaitingQuota.is_finished(Until::Submitted));
        assert!(!TargetState::Auditing.is_finished(Until::Released));
        for s in [
            TargetState::Rejected,
            TargetState::Failed,
            TargetState::Skipped,
            TargetState::Cancelled,
        ] {
            assert!(s.is_finished(Until::Committed) && s.is_finished(Until::Released));
        }
        for s in TARGET_STATES {
            assert_eq!(TargetState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn retries_double_up_to_sqs_longest_delay() {
        assert_eq!(retry_delay_secs(1, 5), 5);
        assert_eq!(retry_delay_secs(2, 5), 10);
        assert_eq!(retry_delay_secs(4, 5), 40);
        assert_eq!(retry_delay_secs(30, 5), 900);
        assert_eq!(retry_delay_secs(0, 0), 1);
    }

    #[test]
    fn a_batch_waits_for_quota_only_when_every_unfinished_target_does() {
        let mut counts = BTreeMap::new();
        counts.insert("waiting_quota".to_owned(), 3);
        assert_eq!(
            shown_state(BatchState::Running, &counts, 3),
            "waiting_quota"
        );
        assert_eq!(shown_state(BatchState::Running, &counts, 4), "running");
        assert_eq!(shown_state(BatchState::Paused, &counts, 3), "paused");
        assert_eq!(
            shown_state(BatchState::Running, &BTreeMap::new(), 0),
            "running"
        );
    }

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let m = WorkMessage::Target {
            component: "wxc".into(),
            batch_id: "b1".into(),
            ma_app_id: "wxa".into(),
            turn: 3,
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains("\"kind\":\"target\"") && text.contains("\"maAppId\":\"wxa\""));
        assert_eq!(serde_json::from_str::<WorkMessage>(&text).unwrap(), m);
        let watch = WorkMessage::QuotaWatch {
            component: "wxc".into(),
            turn: 7,
        };
        let text = serde_json::to_string(&watch).unwrap();
        assert!(text.contains("\"kind\":\"quotaWatch\""), "{text}");
        assert_eq!(serde_json::from_str::<WorkMessage>(&text).unwrap(), watch);
    }
}
