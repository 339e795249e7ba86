//! The release pipeline of one mini-program: commit → readiness (category, privacy, domains) → submit → audit →
//! publish, gray release, rollback, and the sweep that settles what the platform left open. Its states are
//! `domain::release::ReleaseState`, the same for every platform; each step is carried out by the mini-program's
//! platform through `platform::ReleasePlatform` (WeChat's over `host::CodeHost`, Alipay's in `alipay`).
pub mod alipay;
pub mod audit;
pub mod host;
pub mod online;
pub mod platform;
pub mod readiness;
pub mod release;

use crate::deps::Deps;

/// The platform that hosts a mini-program's code: the one place where it is chosen.
pub fn host<'a>(deps: &'a Deps, component: &'a str, appid: &'a str) -> host::WechatHost<'a> {
    host::WechatHost::new(deps, component, appid)
}
