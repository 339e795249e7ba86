//! HTTP edge shared by every route: request parsing and limits, JWT auth, error → response mapping.
pub mod auth;
pub mod request;
pub mod response;
