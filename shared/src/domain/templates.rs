//! Industry templates: their status machine, who may edit what in which status, and input limits.
//! Status 0 dev-config (developers) → 1 ops-config (operators) → 2 published (visible to merchants).
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::identity::Role;

pub const MAX_CONFIG_BYTES: usize = 32 * 1024;
pub const MAX_PAGES: usize = 50;
pub const MAX_DESC_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum Status {
    DevConfig = 0,
    OpsConfig = 1,
    Published = 2,
}

impl From<Status> for i64 {
    fn from(s: Status) -> i64 {
        s as i64
    }
}

impl TryFrom<i64> for Status {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match v {
            0 => Ok(Status::DevConfig),
            1 => Ok(Status::OpsConfig),
            2 => Ok(Status::Published),
            other => Err(format!("unknown template status {other}")),
        }
    }
}

/// Why a request is refused; the service maps these to 400 / 403 / 409.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Role(String),
    #[error("{0}")]
    State(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageSpec {
    pub page_key: String,
    pub name: String,
    #[serde(default)]
    pub config: Value,
}

pub fn validate_config(config: &Value) -> Result<(), Refusal> {
    if !config.is_object() {
        return Err(Refusal::Invalid("config must be a JSON object".into()));
    }
    let size = serde_json::to_vec(config)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_CONFIG_BYTES {
        return Err(Refusal::Invalid(format!(
            "config is {size} bytes; at most {MAX_CONFIG_BYTES}"
        )));
    }
    Ok(())
}

/// Seed 000's `ext` (of an industry template, a user template or a page): a JSON object no larger than a config.
pub fn validate_ext(what: &str, ext: &Value) -> Result<(), Refusal> {
    validate_config(ext).map_err(|_| {
        Refusal::Invalid(format!(
            "{what} must be a JSON object of at most {MAX_CONFIG_BYTES} bytes"
        ))
    })
}

pub fn validate_pages(pages: &[PageSpec]) -> Result<(), Refusal> {
    if pages.is_empty() || pages.len() > MAX_PAGES {
        return Err(Refusal::Invalid(format!(
            "pages must hold 1 to {MAX_PAGES} pages"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for page in pages {
        let key_ok = (1..=64).contains(&page.page_key.len())
            && page
                .page_key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-/".contains(&b));
        if !key_ok {
            return Err(Refusal::Invalid(format!(
                "pageKey {:?} must be 1 to 64 letters, digits, _ - /",
                page.page_key
            )));
        }
        if !seen.insert(page.page_key.as_str()) {
            return Err(Refusal::Invalid(format!(
                "pageKey {} appears twice",
                page.page_key
            )));
        }
        if page.name.trim().is_empty() || page.name.chars().count() > 64 {
            return Err(Refusal::Invalid(format!(
                "page {} needs a name of 1 to 64 characters",
                page.page_key
            )));
        }
        if !page.config.is_null() {
            validate_config(&page.config)?;
        }
    }
    let total: usize = pages
        .iter()
        .map(|p| serde_json::to_vec(&p.config).map(|v| v.len()).unwrap_or(0))
        .sum();
    if total > MAX_CONFIG_BYTES * 4 {
        return Err(Refusal::Invalid(format!(
            "page configs total {total} bytes; at most {}",
            MAX_CONFIG_BYTES * 4
        )));
    }
    Ok(())
}

/// What an update touches.
#[derive(Debug, Default)]
pub struct Changes {
    pub config_or_pages: bool,
    pub desc_or_img: bool,
}

/// Developers edit config and pages while status is 0; operators edit desc and img while status is 1.
pub fn check_edit(role: Role, status: Status, changes: &Changes) -> Result<(), Refusal> {
    if !changes.config_or_pages && !changes.desc_or_img {
        return Err(Refusal::Invalid("nothing to update".into()));
    }
    if changes.config_or_pages {
        if role != Role::Developer {
            return Err(Refusal::Role(
                "only developers edit config and pages".into(),
            ));
        }
        if status != Status::DevConfig {
            return Err(Refusal::State(
                "config and pages can only change while the template is in status 0 (dev-config)"
                    .into(),
            ));
        }
    }
    if changes.desc_or_img {
        if role != Role::Operator {
            return Err(Refusal::Role("only operators edit desc and img".into()));
        }
        if status != Status::OpsConfig {
            return Err(Refusal::State(
                "desc and img can only change while the template is in status 1 (ops-config)"
                    .into(),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// developer, 0 → 1
    Handover,
    /// operator, 1 → 2
    Release,
    /// operator, 2 → 1
    Withdraw,
}

/// The status a transition moves to, if this role may make it from this status.
pub fn transition(role: Role, from: Status, t: Transition) -> Result<Status, Refusal> {
    let (who, needed, to) = match t {
        Transition::Handover => (Role::Developer, Status::DevConfig, Status::OpsConfig),
        Transition::Release => (Role::Operator, Status::OpsConfig, Status::Published),
        Transition::Withdraw => (Role::Operator, Status::Published, Status::OpsConfig),
    };
    if role != who {
        return Err(Refusal::Role(
            format!("{t:?} is done by the {who:?} role").to_lowercase(),
        ));
    }
    if from != needed {
        return Err(Refusal::State(format!(
            "{t:?} needs status {} but the template is in status {}",
            needed as i64, from as i64
        )));
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(key: &str) -> PageSpec {
        PageSpec {
            page_key: key.into(),
            name: "Home".into(),
            config: json!({"banner": "x"}),
        }
    }

    #[test]
    fn status_machine() {
        assert_eq!(
            transition(Role::Developer, Status::DevConfig, Transition::Handover),
            Ok(Status::OpsConfig)
        );
        assert_eq!(
            transition(Role::Operator, Status::OpsConfig, Transition::Release),
            Ok(Status::Published)
        );
        assert_eq!(
            transition(Role::Operator, Status::Published, Transition::Withdraw),
            Ok(Status::OpsConfig)
        );
        assert!(matches!(
            transition(Role::Operator, Status::DevConfig, Transition::Handover),
            Err(Refusal::Role(_))
        ));
        assert!(matches!(
            transition(Role::Operator, Status::DevConfig, Transition::Release),
            Err(Refusal::State(_))
        ));
        assert!(matches!(
            transition(Role::Developer, Status::OpsConfig, Transition::Handover),
            Err(Refusal::State(_))
        ));
        assert!(matches!(
            transition(Role::Merchant, Status::Published, Transition::Withdraw),
            Err(Refusal::Role(_))
        ));
    }

    #[test]
    fn edit_rules() {
        let dev = Changes {
            config_or_pages: true,
            desc_or_img: false,
        };
        let ops = Changes {
            config_or_pages: false,
            desc_or_img: true,
        };
        assert!(check_edit(Role::Developer, Status::DevConfig, &dev).is_ok());
        assert!(matches!(
            check_edit(Role::Developer, Status::OpsConfig, &dev),
            Err(Refusal::State(_))
        ));
        assert!(matches!(
            check_edit(Role::Operator, Status::DevConfig, &dev),
            Err(Refusal::Role(_))
        ));
        assert!(check_edit(Role::Operator, Status::OpsConfig, &ops).is_ok());
        assert!(matches!(
            check_edit(Role::Operator, Status::Published, &ops),
            Err(Refusal::State(_))
        ));
        assert!(matches!(
            check_edit(Role::Developer, Status::OpsConfig, &ops),
            Err(Refusal::Role(_))
        ));
        assert!(matches!(
            check_edit(Role::Developer, Status::DevConfig, &Changes::default()),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn input_limits() {
        assert!(validate_config(&json!({"a": 1})).is_ok());
        assert!(validate_config(&json!([1])).is_err());
        assert!(validate_config(&json!({"a": "x".repeat(MAX_CONFIG_BYTES)})).is_err());
        assert!(validate_pages(&[page("home"), page("detail")]).is_ok());
        assert!(validate_pages(&[]).is_err());
        assert!(validate_pages(&[page("home"), page("home")]).is_err());
        assert!(validate_pages(&[page("bad key")]).is_err());
        assert!(validate_pages(
            &vec![page("p"); 1]
                .into_iter()
                .cycle()
                .take(MAX_PAGES + 1)
                .enumerate()
                .map(|(i, mut p)| {
                    p.page_key = format!("p{i}");
                    p
                })
                .collect::<Vec<_>>()
        )
        .is_err());
    }
}
