//! Per-merchant daily limits on the WeChat quotas all merchants of a component share, so one merchant cannot use
//! up what the others need: audit submissions, undos, speed-ups and authorization links (limits: config).
use crate::clock::now_secs;
use crate::config::MerchantDailyLimits;
use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::error::{AppError, AppResult};
use crate::store::quotas;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AuditSubmission,
    AuditUndo,
    AuditSpeedup,
    AuthorizationLink,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::AuditSubmission => "audit",
            Kind::AuditUndo => "undo",
            Kind::AuditSpeedup => "speedup",
            Kind::AuthorizationLink => "authlink",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::AuditSubmission => "audit submissions",
            Kind::AuditUndo => "audit withdrawals",
            Kind::AuditSpeedup => "audit speed-ups",
            Kind::AuthorizationLink => "authorization links",
        }
    }

    pub fn limit(self, limits: &MerchantDailyLimits) -> i64 {
        match self {
            Kind::AuditSubmission => limits.audits,
            Kind::AuditUndo => limits.undos,
            Kind::AuditSpeedup => limits.speedups,
            Kind::AuthorizationLink => limits.auth_links,
        }
    }
}

/// WeChat's quotas reset at midnight Beijing time (UTC+8); so do ours.
pub fn day_of(now_secs: i64) -> i64 {
    (now_secs + 8 * 3600) / 86_400
}

/// One unit of a merchant's daily limit, taken before WeChat is asked (`counted` false for the provider's own
/// operators, whom the limits do not concern).
pub struct Unit<'a> {
    deps: &'a Deps,
    component: &'a str,
    merchant: &'a str,
    kind: Kind,
    day: i64,
    counted: bool,
}

/// Takes a unit of the calling merchant's limit, or refuses with 429 `MERCHANT_DAILY_LIMIT` when the merchant used
/// today's. Other callers (operators) are not limited here.
pub async fn take<'a>(
    deps: &'a Deps,
    component: &'a str,
    caller: &'a Claims,
    kind: Kind,
) -> AppResult<Unit<'a>> {
    let (merchant, day) = (caller.sub.as_str(), day_of(now_secs()));
    if caller.role != Role::Merchant {
        return Ok(Unit {
            deps,
            component,
            merchant,
            kind,
            day,
            counted: false,
        });
    }
    let limit = kind.limit(&deps.config.merchant_daily);
    if !quotas::take(&deps.table, component, merchant, kind.key(), day, limit).await? {
        return Err(AppError::MerchantDailyLimit(format!(
            "this merchant has used today's {limit} {}; the limit resets at midnight Beijing time",
            kind.what()
        )));
    }
    Ok(Unit {
        deps,
        component,
        merchant,
        kind,
        day,
        counted: true,
    })
}

impl Unit<'_> {
    /// Runs `op`; a failed operation gives its unit back (WeChat's quota was not spent on it).
    pub async fn spend<T>(
        self,
        op: impl std::future::Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        let out = op.await;
        if out.is_err() && self.counted {
            let given = quotas::give_back(
                &self.deps.table,
                self.component,
                self.merchant,
                self.kind.key(),
                self.day,
            )
            .await;
            if let Err(e) = given {
                tracing::warn!(error = %e, "a merchant quota unit was not given back");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_turn_at_midnight_beijing_time() {
        // 2026-11-21 15:59:59 UTC is 23:59:59 in Beijing; a second later it is the next day there.
        let before = 1_795_276_799;
        assert_eq!(day_of(before) + 1, day_of(before + 1));
    }
}
