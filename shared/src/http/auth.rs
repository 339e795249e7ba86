//! The API's bearer tokens at the HTTP edge: the identity types and the token codec, re-exported.
pub use crate::domain::identity::{Claims, Role};
pub use crate::jwt::{sign, state_key, verify};
