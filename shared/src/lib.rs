//! Library behind every Lambda function of the mini-program template platform.
//!
//! Layers, depending downwards only: `api` (route handlers), `jobs` and `lambda` (function runtime glue) →
//! `pipeline` (commit → readiness → submit → audit → publish, over a `CodeHost`) and `services` (tokens, push
//! handling, templates, decoration, batches) → adapters (`store`, `wechat`, `alipay`, `secrets`) → `domain`, `config`, `clock`.
pub mod alipay;
pub mod api;
pub mod aws;
pub mod blobs;
pub mod bus;
pub mod clock;
pub mod config;
pub mod deps;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod jwt;
pub mod lambda;
pub mod metrics;
pub mod pipeline;
pub mod queue;
pub mod random;
pub mod secrets;
pub mod services;
pub mod signing;
pub mod sockets;
pub mod store;
pub mod telemetry;
pub mod tls_roots;
pub mod wechat;
pub mod wechat_pay;
