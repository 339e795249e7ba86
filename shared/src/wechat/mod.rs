//! Everything that speaks WeChat: message crypto, push models, the API client and its errcodes.
pub mod client;
pub mod crypto;
pub mod errcode;
pub mod push;
pub mod user_data;

pub use client::{WechatClient, WechatError};
