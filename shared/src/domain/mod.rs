//! Pure rules: no I/O. Services call these before touching any store.
pub mod batch;
pub mod chat;
pub mod events;
pub mod forwarding;
pub mod identity;
pub mod ids;
pub mod jump_rules;
pub mod orders;
pub mod platform;
pub mod poster;
pub mod readiness;
pub mod release;
pub mod runtime;
pub mod templates;
pub mod wxacode;
