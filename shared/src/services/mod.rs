//! Services that orchestrate adapters: the token store, push handling, component registration, scheduled jobs.
pub mod access;
pub mod accounts;
pub mod batches;
pub mod callbacks;
pub mod components;
pub mod decoration;
pub mod domains;
pub mod events;
pub mod merchants;
pub mod mini_programs;
pub mod onboarding;
pub mod quotas;
pub mod refresh_job;
pub mod templates;
pub mod testers;
pub mod tokens;
pub mod wxacode;
