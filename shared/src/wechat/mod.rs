//! Everything that speaks WeChat: message crypto, push models, the API client and its errcodes.
pub mod crypto;
pub mod push;
