//! What the pipeline asks of the platform that hosts a mini-program's code, for one mini-program. Credentials
//! (tokens, their refresh, the retry of a rejected one) are the implementation's business, not the pipeline's.
use serde_json::Value;

use crate::deps::Deps;
use crate::error::AppResult;
use crate::services::tokens::with_authorizer_token;
use crate::wechat::client::{
    AuditQuota, AuditStatus, Category, CodePrivacyInfo, IcpEntrance, LatestAudit, VersionInfo,
};

/// Used with static dispatch only (`pipeline::host`), so the futures' `Send`-ness is checked where they are used.
#[allow(async_fn_in_trait)]
pub trait CodeHost {
    /// Uploads the template's code with this mini-program's `ext_json` as its trial version.
    async fn commit(
        &self,
        template_id: i64,
        ext_json: &str,
        version: &str,
        desc: &str,
    ) -> AppResult<()>;
    /// The trial version's QR code: image bytes and their content type.
    async fn trial_qrcode(&self) -> AppResult<(Vec<u8>, &'static str)>;
    /// The committed code's page paths.
    async fn pages(&self) -> AppResult<Vec<String>>;
    /// The categories the mini-program may submit under.
    async fn categories(&self) -> AppResult<Vec<Category>>;
    async fn submit_audit(
        &self,
        items: &Value,
        desc: &str,
        privacy_api_not_use: bool,
    ) -> AppResult<i64>;
    async fn audit_status(&self, audit_id: i64) -> AppResult<AuditStatus>;
    /// The newest audit, whatever we recorded: settles an audit whose id was lost.
    async fn latest_audit(&self) -> AppResult<LatestAudit>;
    async fn undo_audit(&self) -> AppResult<()>;
    async fn speedup_audit(&self, audit_id: i64) -> AppResult<()>;
    /// The platform's audit quota (shared by all its mini-programs).
    async fn audit_quota(&self) -> AppResult<AuditQuota>;
    /// Publishes the audited version to everyone.
    async fn release(&self) -> AppResult<()>;
    async fn gray_release(&self, percentage: i64) -> AppResult<()>;
    async fn gray_release_plan(&self) -> AppResult<Value>;
    async fn revert_gray_release(&self) -> AppResult<()>;
    /// Puts the previous online version back.
    async fn revert_release(&self) -> AppResult<()>;
    async fn change_visit_status(&self, action: &str) -> AppResult<()>;
    /// The trial and online versions as the platform knows them.
    async fn version_info(&self) -> AppResult<VersionInfo>;
    /// The mini-program's ICP filing.
    async fn filing(&self) -> AppResult<IcpEntrance>;
    /// The privacy guide that goes out with the next release.
    async fn privacy_setting(&self) -> AppResult<Value>;
    async fn set_privacy_setting(&self, body: &Value) -> AppResult<()>;
    /// What the platform's privacy scan found in the committed code.
    async fn code_privacy_info(&self) -> AppResult<CodePrivacyInfo>;
    /// The mini-program's server domains (`action` add/delete/set/get); answers the lists after the change.
    async fn server_domains(&self, body: &Value) -> AppResult<Value>;
}

/// WeChat's third-party platform, acting with the mini-program's authorizer token.
pub struct WechatHost<'a> {
    deps: &'a Deps,
    component: &'a str,
    appid: &'a str,
}

impl<'a> WechatHost<'a> {
    pub fn new(deps: &'a Deps, component: &'a str, appid: &'a str) -> Self {
        Self {
            deps,
            component,
            appid,
        }
    }
}

/// One WeChat call with the authorizer token (refreshed, and retried once when WeChat rejects it).
macro_rules! wechat {
    ($host:expr, |$wx:ident, $aat:ident| $call:expr) => {{
        let deps = $host.deps;
        with_authorizer_token(deps, $host.component, $host.appid, |$aat| async move {
            let $wx = &deps.wechat;
            $call.await
        })
        .await
    }};
}

impl CodeHost for WechatHost<'_> {
    async fn commit(
        &self,
        template_id: i64,
        ext_json: &str,
        version: &str,
        desc: &str,
    ) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.commit(
            &aat,
            template_id,
            ext_json,
            version,
            desc
        ))
    }

    async fn trial_qrcode(&self) -> AppResult<(Vec<u8>, &'static str)> {
        wechat!(self, |wx, aat| wx.trial_qrcode(&aat))
    }

    async fn pages(&self) -> AppResult<Vec<String>> {
        wechat!(self, |wx, aat| wx.pages(&aat))
    }

    async fn categories(&self) -> AppResult<Vec<Category>> {
        wechat!(self, |wx, aat| wx.categories(&aat))
    }

    async fn submit_audit(
        &self,
        items: &Value,
        desc: &str,
        privacy_api_not_use: bool,
    ) -> AppResult<i64> {
        wechat!(self, |wx, aat| wx.submit_audit(
            &aat,
            items,
            desc,
            privacy_api_not_use
        ))
    }

    async fn audit_status(&self, audit_id: i64) -> AppResult<AuditStatus> {
        wechat!(self, |wx, aat| wx.audit_status(&aat, audit_id))
    }

    async fn latest_audit(&self) -> AppResult<LatestAudit> {
        wechat!(self, |wx, aat| wx.latest_audit_status(&aat))
    }

    async fn undo_audit(&self) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.undo_audit(&aat))
    }

    async fn speedup_audit(&self, audit_id: i64) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.speedup_audit(&aat, audit_id))
    }

    async fn audit_quota(&self) -> AppResult<AuditQuota> {
        wechat!(self, |wx, aat| wx.audit_quota(&aat))
    }

    async fn release(&self) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.release(&aat))
    }

    async fn gray_release(&self, percentage: i64) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.gray_release(&aat, percentage))
    }

    async fn gray_release_plan(&self) -> AppResult<Value> {
        wechat!(self, |wx, aat| wx.gray_release_plan(&aat))
    }

    async fn revert_gray_release(&self) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.revert_gray_release(&aat))
    }

    async fn revert_release(&self) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.revert_release(&aat))
    }

    async fn change_visit_status(&self, action: &str) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.change_visit_status(&aat, action))
    }

    async fn version_info(&self) -> AppResult<VersionInfo> {
        wechat!(self, |wx, aat| wx.version_info(&aat))
    }

    async fn filing(&self) -> AppResult<IcpEntrance> {
        wechat!(self, |wx, aat| wx.icp_entrance(&aat))
    }

    async fn privacy_setting(&self) -> AppResult<Value> {
        wechat!(self, |wx, aat| wx.privacy_setting(&aat))
    }

    async fn set_privacy_setting(&self, body: &Value) -> AppResult<()> {
        wechat!(self, |wx, aat| wx.set_privacy_setting(&aat, body))
    }

    async fn code_privacy_info(&self) -> AppResult<CodePrivacyInfo> {
        wechat!(self, |wx, aat| wx.code_privacy_info(&aat))
    }

    async fn server_domains(&self, body: &Value) -> AppResult<Value> {
        wechat!(self, |wx, aat| wx.modify_domain(&aat, body))
    }
}
