//! The Alipay open platform, for providers whose merchants run Alipay mini-programs: RSA2 signing and checking
//! (`sign`) and the gateway client (`client`), one method per Alipay method the product calls.
pub mod client;
pub mod sign;
