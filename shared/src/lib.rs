//! Library behind every Lambda function of the mini-program template platform.
pub mod wechat;
