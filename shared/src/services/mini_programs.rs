//! `GET /miniprogram/list`: finding mini-programs by name or appid and by release state. A merchant sees its own,
//! an operator or admin the component's (up to 10,000): those are read page by page in key order and filtered here,
//! within a budget of records per request, so a rare match costs a few requests with `nextCursor`, never a full load.
use std::collections::HashMap;

use serde::Serialize;

use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::domain::release::ReleaseState;
use crate::error::{AppError, AppResult};
use crate::store::authorizers::{self, Authorizer};
use crate::store::listing::{self, Facts};

/// At most this many records of the component are examined for one request.
const SCAN_BUDGET: usize = 2_000;
/// Records read per Query while filtering.
const FILTER_PAGE: i32 = 200;
/// What a mini-program nobody decorated yet reports as its release state.
pub const NOT_DECORATED: &str = "none";

#[derive(Debug, Default)]
pub struct Filter {
    /// Part of the nickname or the appid, compared without case.
    pub search: Option<String>,
    /// A release state (`domain::release::ReleaseState`), or `none` for a mini-program without saved decoration.
    pub release_state: Option<String>,
}

impl Filter {
    pub fn parse(search: Option<String>, release_state: Option<String>) -> AppResult<Self> {
        let search = search
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        if search.as_ref().is_some_and(|s| s.chars().count() > 64) {
            return Err(AppError::BadRequest(
                "search must be at most 64 characters".into(),
            ));
        }
        if let Some(state) = &release_state {
            if state != NOT_DECORATED && ReleaseState::parse(state).is_none() {
                return Err(AppError::BadRequest(format!(
                    "releaseState must be a release state (saved, committed, auditing, released, ...) or {NOT_DECORATED}"
                )));
            }
        }
        Ok(Filter {
            search,
            release_state,
        })
    }

    fn is_empty(&self) -> bool {
        self.search.is_none() && self.release_state.is_none()
    }

    fn names(&self, a: &Authorizer) -> bool {
        self.search.as_ref().is_none_or(|s| {
            a.appid.to_lowercase().contains(s.as_str())
                || a.nick_name.to_lowercase().contains(s.as_str())
        })
    }

    fn in_state(&self, state: &str) -> bool {
        self.release_state
            .as_deref()
            .is_none_or(|wanted| wanted == state)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub ma_app_id: String,
    pub nick_name: String,
    pub user_name: String,
    pub status: String,
    pub authorized_at: i64,
    pub merchant: Option<String>,
    pub func_info: Vec<i64>,
    /// Where its code stands in the release pipeline, `none` before any saved decoration.
    pub release_state: String,
    /// Its merchant hosts it with the provider: the component's operators may decorate it.
    pub hosted: bool,
    /// The template it is decorated on, why its latest audit was rejected, `open` or `close` to visitors, the
    /// version last committed (trial) and the one online: none before any saved decoration.
    pub template_id: Option<String>,
    pub audit_reason: Option<String>,
    pub access_status: Option<String>,
    pub trial_version: Option<String>,
    pub online_version: Option<String>,
    /// The shop it belongs to, if any (its name as of the shop's last change).
    pub shop_id: Option<String>,
    pub shop_name: Option<String>,
    /// Whether the privacy guide's owner contact is set (the pipeline refuses an audit without one).
    pub privacy_contact: bool,
    /// The ICP filing as WeChat last reported it (`GET /miniprogram/readiness`, a publish): None until asked.
    pub icp_filed: Option<bool>,
    pub icp_checked_at: Option<i64>,
}

pub struct Found {
    pub items: Vec<Listed>,
    /// Where the next request goes on; set whenever records are left unexamined, even if this page is short.
    pub next_cursor: Option<String>,
}

/// Where a mini-program's code stands: `none` before any saved decoration.
fn state_of<'a>(facts: &'a HashMap<String, Facts>, appid: &str) -> &'a str {
    facts
        .get(appid)
        .and_then(|f| f.release.as_ref())
        .map_or(NOT_DECORATED, |s| s.state.as_str())
}

fn listed(a: Authorizer, facts: &HashMap<String, Facts>) -> Listed {
    let release_state = state_of(facts, &a.appid).to_owned();
    let hosted = a.is_hosted();
    let f = facts.get(&a.appid).cloned().unwrap_or_default();
    let summary = f.release.as_ref();
    Listed {
        template_id: summary.and_then(|s| s.template_id.clone()),
        audit_reason: summary.and_then(|s| s.audit_reason.clone()),
        access_status: summary.map(|s| s.access_status.clone()),
        trial_version: summary.and_then(|s| s.trial_version.clone()),
        online_version: summary.and_then(|s| s.online_version.clone()),
        shop_id: f.shop.as_ref().map(|l| l.shop_id.clone()),
        shop_name: f.shop.and_then(|l| l.shop_name),
        privacy_contact: f.privacy_contact,
        icp_filed: f.icp.as_ref().map(|i| i.filed),
        icp_checked_at: f.icp.map(|i| i.checked_ms),
        ma_app_id: a.appid,
        nick_name: a.nick_name,
        user_name: a.user_name,
        status: a.status,
        authorized_at: a.authorized_at,
        merchant: a.merchant,
        func_info: a.func_ids,
        release_state,
        hosted,
    }
}

/// The cursor of a listing that stopped after `appid` (the same form the store's pages use).
fn cursor_after(appid: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("AUTHZ#{appid}"))
}

fn appid_of_cursor(cursor: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("AUTHZ#")
        .map(str::to_owned)
}

pub async fn find(
    deps: &Deps,
    claims: &Claims,
    component: &str,
    filter: &Filter,
    limit: usize,
    cursor: Option<&str>,
) -> AppResult<Found> {
    if claims.role == Role::Merchant {
        return find_own(deps, claims, component, filter, limit, cursor).await;
    }
    let mut items = Vec::new();
    let mut cursor = cursor.map(str::to_owned);
    let mut examined = 0;
    let page_size = if filter.is_empty() {
        limit as i32
    } else {
        FILTER_PAGE
    };
    loop {
        let page = authorizers::list(&deps.table, component, page_size, cursor.as_deref()).await?;
        let candidates: Vec<Authorizer> =
            page.items.into_iter().filter(|a| filter.names(a)).collect();
        let ids: Vec<&str> = candidates.iter().map(|a| a.appid.as_str()).collect();
        let facts = listing::read(&deps.table, component, &ids).await?;
        examined += page_size as usize;
        let count = candidates.len();
        for (i, a) in candidates.into_iter().enumerate() {
            if !filter.in_state(state_of(&facts, &a.appid)) {
                continue;
            }
            items.push(listed(a, &facts));
            if items.len() == limit {
                // Full: go on after the last one listed (what follows it on this page is read again next time).
                let more = page.next_cursor.is_some() || i + 1 < count;
                return Ok(Found {
                    next_cursor: more.then(|| cursor_after(&items[items.len() - 1].ma_app_id)),
                    items,
                });
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() || examined >= SCAN_BUDGET {
            return Ok(Found {
                items,
                next_cursor: cursor,
            });
        }
    }
}

/// A merchant's own mini-programs are few (read whole through its index), listed in appid order.
async fn find_own(
    deps: &Deps,
    claims: &Claims,
    component: &str,
    filter: &Filter,
    limit: usize,
    cursor: Option<&str>,
) -> AppResult<Found> {
    let after = match cursor {
        Some(c) => Some(
            appid_of_cursor(c).ok_or_else(|| AppError::BadRequest("cursor is invalid".into()))?,
        ),
        None => None,
    };
    let mut own = authorizers::list_for_merchant(&deps.table, component, &claims.sub).await?;
    own.sort_by(|a, b| a.appid.cmp(&b.appid));
    own.retain(|a| {
        after
            .as_deref()
            .is_none_or(|after| a.appid.as_str() > after)
            && filter.names(a)
    });
    let ids: Vec<&str> = own.iter().map(|a| a.appid.as_str()).collect();
    let facts = listing::read(&deps.table, component, &ids).await?;
    let mut matching = own
        .into_iter()
        .filter(|a| filter.in_state(state_of(&facts, &a.appid)));
    let items: Vec<Listed> = matching
        .by_ref()
        .take(limit)
        .map(|a| listed(a, &facts))
        .collect();
    let more = matching.next().is_some();
    Ok(Found {
        next_cursor: more.then(|| cursor_after(&items[items.len() - 1].ma_app_id)),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorizer(appid: &str, nick: &str) -> Authorizer {
        Authorizer {
            appid: appid.into(),
            nick_name: nick.into(),
            ..Authorizer::default()
        }
    }

    #[test]
    fn search_matches_part_of_the_name_or_the_appid_without_case() {
        let f = Filter::parse(Some("  Noodle ".into()), None).unwrap();
        assert!(f.names(&authorizer("wx1", "Best noodles")));
        assert!(!f.names(&authorizer("wx1", "Tea house")));
        let f = Filter::parse(Some("WXAB".into()), None).unwrap();
        assert!(f.names(&authorizer("wxab12", "Tea house")));
        let f = Filter::parse(Some("面馆".into()), None).unwrap();
        assert!(f.names(&authorizer("wx2", "兰州面馆")));
        // Blank is no filter at all.
        assert!(Filter::parse(Some("   ".into()), None).unwrap().is_empty());
    }

    #[test]
    fn release_state_must_be_a_known_state_or_none() {
        assert!(Filter::parse(None, Some("released".into())).is_ok());
        assert!(Filter::parse(None, Some(NOT_DECORATED.into())).is_ok());
        assert!(matches!(
            Filter::parse(None, Some("online".into())),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            Filter::parse(Some("x".repeat(65)), None),
            Err(AppError::BadRequest(_))
        ));
        let f = Filter::parse(None, Some(NOT_DECORATED.into())).unwrap();
        assert!(f.in_state(NOT_DECORATED) && !f.in_state("saved"));
    }

    #[test]
    fn a_cursor_names_the_last_appid_listed() {
        assert_eq!(
            appid_of_cursor(&cursor_after("wxab")).as_deref(),
            Some("wxab")
        );
        assert_eq!(appid_of_cursor("not base64!"), None);
    }
}
