//! Logging setup, once per cold start: JSON lines for CloudWatch, level from RUST_LOG (default info).
//! Nothing logs token or secret values; errors carry codes and causes only.
pub fn init() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    const DEFAULT: &str = "info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn";
    let filter: tracing_subscriber::filter::Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| DEFAULT.parse().expect("the default directives parse"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                // The runtime's span (requestId, xrayTraceId) and ours (route), on every line.
                .with_current_span(false)
                .with_span_list(true)
                .with_target(false),
        )
        .with(filter)
        .try_init();
}
