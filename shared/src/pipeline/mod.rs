//! The release pipeline of one mini-program: commit → readiness (category, privacy, domains) → submit → audit →
//! publish, gray release, rollback, and the sweep that settles what WeChat left open. Its states are
//! `domain::release::ReleaseState`, the same for every platform; what it asks of the platform goes through
//! `host::CodeHost`, so a second platform (Alipay) plugs in its own implementation beside `host::WechatHost`.
pub mod alipay;
pub mod audit;
pub mod host;
pub mod online;
pub mod readiness;
pub mod release;

use crate::deps::Deps;

/// The platform that hosts a mini-program's code: the one place where it is chosen.
pub fn host<'a>(deps: &'a Deps, component: &'a str, appid: &'a str) -> host::WechatHost<'a> {
    host::WechatHost::new(deps, component, appid)
}
