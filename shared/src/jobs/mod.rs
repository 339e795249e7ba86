//! Queue-driven work: the batch release worker.
pub mod batch;
pub mod forward;
