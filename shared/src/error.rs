//! The service-layer error: what every route and callback can fail with. Mapped to HTTP in `http::response`.
use crate::secrets::SecretsError;
use crate::store::StoreError;
use crate::wechat::WechatError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    /// An id, appid or cursor from the client that cannot be one of ours.
    #[error("{0}")]
    InvalidId(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The mini-program has no category WeChat lets it submit under.
    #[error("{0}")]
    CategoryRequired(String),
    /// WeChat reports no completed ICP filing for the mini-program: it cannot go online.
    #[error("{0}")]
    IcpFilingRequired(String),
    /// The privacy guide cannot be applied or does not cover what the code uses.
    #[error("{0}")]
    PrivacyRequired(String),
    /// A server domain the code needs is not registered on the platform.
    #[error("{0}")]
    DomainNotRegistered(String),
    /// Another batch is releasing the same template.
    #[error("{0}")]
    BatchRunning(String),
    /// The mini-program's authorization is not in force (unauthorized at WeChat).
    #[error("{0}")]
    NotAuthorized(String),
    #[error("request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// A push with the same identity is being handled by another delivery; WeChat should retry.
    /// A merchant used today's share of a WeChat quota all merchants of the component share.
    #[error("{0}")]
    MerchantDailyLimit(String),
    #[error("too many failed logins; try again in {0} seconds")]
    TooManyAttempts(i64),
    #[error("the same push is being processed")]
    PushInProgress,
    #[error("no valid component_verify_ticket has been received yet")]
    TicketMissing,
    #[error("mini-program {0} must be authorized again by its merchant")]
    ReauthorizationRequired(String),
    #[error("token refresh by another instance did not finish in time")]
    TokenBusy,
    #[error("WeChat refused the call: {0}")]
    Upstream(#[from] WechatError),
    #[error(transparent)]
    Alipay(#[from] crate::alipay::client::AlipayError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    #[error(transparent)]
    Blob(#[from] crate::blobs::BlobError),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    #[error(transparent)]
    Poster(#[from] crate::domain::poster::PosterError),
    #[error(transparent)]
    Pay(#[from] crate::wechat_pay::client::PayError),
}

/// An error and its causes, outermost first (`a: b: c`), for logs: adapters keep the SDK's error as the source.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_keeps_every_cause() {
        let io = std::io::Error::other("connection reset by peer");
        let err = AppError::Blob(crate::blobs::BlobError {
            operation: "PutObject",
            source: Box::new(io),
        });
        assert_eq!(chain(&err), "S3 PutObject failed: connection reset by peer");
    }
}
