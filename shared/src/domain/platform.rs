//! Which platform hosts a mini-program, and how Alipay's version states read in the pipeline's terms. Pure.
use serde::{Deserialize, Serialize};

use crate::domain::release::ReleaseState;

/// The Alipay template an industry template's Alipay mini-programs are built from (`version.upload`): its id and,
/// optionally, one of its versions (Alipay's newest otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlipayTemplate {
    pub template_id: String,
    pub template_version: Option<String>,
}

impl AlipayTemplate {
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = (1..=32).contains(&self.template_id.len())
            && self.template_id.bytes().all(|b| b.is_ascii_digit());
        if !id_ok {
            return Err("alipay.templateId must be Alipay's template id: 1 to 32 digits".into());
        }
        if self
            .template_version
            .as_deref()
            .is_some_and(|v| !valid_alipay_version(v))
        {
            return Err("alipay.templateVersion must be x.y.z".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Wechat,
    Alipay,
}

impl Platform {
    /// Told by the id itself: WeChat's app ids are `wx` and 16 hex digits, Alipay's mini-program ids 16 decimal
    /// digits (`2021…`), so the two never meet and no lookup is needed to route a request.
    pub fn of(appid: &str) -> Self {
        if appid.len() == 16 && appid.bytes().all(|b| b.is_ascii_digit()) {
            Platform::Alipay
        } else {
            Platform::Wechat
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Wechat => "wechat",
            Platform::Alipay => "alipay",
        }
    }
}

/// What an Alipay audit is applied with besides the version (`audit.apply`), as a release asks for it: the
/// screenshots (keys of uploaded images), the service region and the categories. Kept with the commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlipayAudit {
    #[serde(default)]
    pub screenshots: Vec<String>,
    /// `GLOBAL` (the default) or `CHINA`; `LOCATION` needs provinces and cities, not taken here.
    pub region_type: Option<String>,
    /// 1 to 4 `first_second` category ids; left out, the mini-program's own categories stand.
    pub app_category_ids: Option<Vec<String>>,
}

/// Alipay's category ids as its upload-style methods take them: 1 to 4 `first_second` pairs of numbers.
pub fn valid_category_ids(ids: &[String]) -> bool {
    let well_formed = |id: &String| {
        id.split_once('_').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        })
    };
    (1..=4).contains(&ids.len()) && ids.iter().all(well_formed)
}

/// `audit.apply` takes five screenshots at most.
pub const MAX_SCREENSHOTS: usize = 5;

impl AlipayAudit {
    pub fn validate(&self) -> Result<(), String> {
        if self.screenshots.len() > MAX_SCREENSHOTS {
            return Err(format!("alipay.screenshots are at most {MAX_SCREENSHOTS}"));
        }
        if let Some(region) = self.region_type.as_deref() {
            if !matches!(region, "GLOBAL" | "CHINA") {
                return Err("alipay.regionType is GLOBAL or CHINA".into());
            }
        }
        if let Some(ids) = &self.app_category_ids {
            if !valid_category_ids(ids) {
                return Err(
                    "alipay.appCategoryIds are 1 to 4 first_second category ids (e.g. 20_21)"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// The form fields it adds to `audit.apply`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![(
            "region_type",
            self.region_type.clone().unwrap_or_else(|| "GLOBAL".into()),
        )];
        if let Some(ids) = &self.app_category_ids {
            out.push(("app_category_ids", ids.join(";")));
        }
        out
    }
}

/// Alipay's gray strategies are fixed shares: a percentage asked for becomes the smallest strategy that covers it.
pub fn alipay_gray_strategy(percentage: i64) -> Result<(&'static str, i64), String> {
    match percentage {
        1..=10 => Ok(("p10", 10)),
        11..=30 => Ok(("p30", 30)),
        31..=50 => Ok(("p50", 50)),
        _ => Err(
            "Alipay's gray release reaches 10, 30 or 50 percent of users: ask for 1 to 50, or publish to everyone"
                .into(),
        ),
    }
}

/// Alipay's version numbers are `x.y.z`, each part a number below 2^31.
pub fn valid_alipay_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 10
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u64>().is_ok_and(|n| n <= i32::MAX as u64)
        })
}

/// What an Alipay build status (`build.query`) means for the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    Running,
    Done,
    Failed,
}

/// `build_status`: 0 queued, 1 building, 2 done, 3 failed, 4 timed out, 6 version created.
pub fn alipay_build(build_status: &str) -> Build {
    match build_status {
        "2" | "6" => Build::Done,
        "3" | "4" | "5" => Build::Failed,
        _ => Build::Running,
    }
}

/// Where an audit stands by Alipay's version status (`detail.query`): the settled state, or None while it runs.
pub fn alipay_audit_result(status: &str) -> Option<ReleaseState> {
    match status {
        "WAIT_RELEASE" | "BASE_AUDIT_PASS" | "GRAY" | "RELEASE" => Some(ReleaseState::Passed),
        "AUDIT_REJECT" | "PROMOTE_AUDIT_REJECT" => Some(ReleaseState::Rejected),
        "INIT" => Some(ReleaseState::Withdrawn),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_tells_the_platform() {
        assert_eq!(Platform::of("2021004000000001"), Platform::Alipay);
        assert_eq!(Platform::of("wx1234567890abcdef"), Platform::Wechat);
        assert_eq!(Platform::of("202100400000000"), Platform::Wechat);
        assert_eq!(Platform::of("20210040000000a1"), Platform::Wechat);
    }

    #[test]
    fn gray_percentages_round_up_to_alipays_strategies() {
        assert_eq!(alipay_gray_strategy(1), Ok(("p10", 10)));
        assert_eq!(alipay_gray_strategy(10), Ok(("p10", 10)));
        assert_eq!(alipay_gray_strategy(11), Ok(("p30", 30)));
        assert_eq!(alipay_gray_strategy(50), Ok(("p50", 50)));
        assert!(alipay_gray_strategy(51).is_err());
        assert!(alipay_gray_strategy(0).is_err());
    }

    #[test]
    fn an_audits_region_and_categories_are_alipays_forms() {
        let audit = |region: Option<&str>, ids: Option<Vec<&str>>| AlipayAudit {
            screenshots: vec![],
            region_type: region.map(str::to_owned),
            app_category_ids: ids.map(|v| v.into_iter().map(str::to_owned).collect()),
        };
        assert!(audit(None, None).validate().is_ok());
        assert_eq!(
            audit(None, None).fields(),
            vec![("region_type", "GLOBAL".to_owned())]
        );
        let china = audit(Some("CHINA"), Some(vec!["20_21", "3_4"]));
        assert!(china.validate().is_ok());
        assert_eq!(
            china.fields()[1],
            ("app_category_ids", "20_21;3_4".to_owned())
        );
        assert!(audit(Some("LOCATION"), None).validate().is_err());
        assert!(audit(None, Some(vec![])).validate().is_err());
        assert!(audit(None, Some(vec!["20-21"])).validate().is_err());
        assert!(audit(None, Some(vec!["1_2", "3_4", "5_6", "7_8", "9_10"]))
            .validate()
            .is_err());
        let many = AlipayAudit {
            screenshots: vec!["k".into(); 6],
            ..AlipayAudit::default()
        };
        assert!(many.validate().is_err());
    }

    #[test]
    fn versions_are_three_numbers() {
        assert!(valid_alipay_version("1.0.12"));
        assert!(valid_alipay_version("0.0.2147483647"));
        assert!(!valid_alipay_version("0.0.2147483648"));
        assert!(!valid_alipay_version("1.0"));
        assert!(!valid_alipay_version("1.0.x"));
        assert!(!valid_alipay_version("1..2"));
    }

    #[test]
    fn builds_and_audits_read_as_pipeline_states() {
        assert_eq!(alipay_build("1"), Build::Running);
        assert_eq!(alipay_build("6"), Build::Done);
        assert_eq!(alipay_build("3"), Build::Failed);
        assert_eq!(alipay_audit_result("AUDITING"), None);
        assert_eq!(
            alipay_audit_result("WAIT_RELEASE"),
            Some(ReleaseState::Passed)
        );
        assert_eq!(
            alipay_audit_result("AUDIT_REJECT"),
            Some(ReleaseState::Rejected)
        );
    }
}
