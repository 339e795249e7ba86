//! Typed configuration, read once per cold start from the environment.

#[derive(Debug, Clone)]
pub struct Config {
    /// The single DynamoDB table.
    pub table_name: String,
    /// Bucket for cover images and QR codes.
    pub bucket_name: String,
    /// WeChat API base URL; the sandbox locally, `https://api.weixin.qq.com` in AWS.
    pub wechat_api_base: String,
    /// Component secrets are stored as `{prefix}{componentAppid}`.
    pub component_secret_prefix: String,
    /// Secret holding the HS256 key that signs API JWTs.
    pub jwt_secret_id: String,
    /// Where WeChat's consent pages live (`https://mp.weixin.qq.com`, `https://open.weixin.qq.com`; the sandbox locally).
    pub wechat_mp_base: String,
    pub wechat_open_base: String,
    /// Our public `GET /auth/redirect` URL, given to WeChat as `redirect_uri`.
    pub auth_redirect_url: String,
    /// The front end the merchant returns to after authorizing, with `?outcome=...`.
    pub frontend_url: String,
    /// Alipay's open-platform gateway, its merchant consent page's host, the public URL of
    /// `GET /alipay/auth/redirect`, and where the provider applications' keys live in Secrets Manager.
    pub alipay_gateway: String,
    pub alipay_auth_base: String,
    pub alipay_redirect_url: String,
    pub alipay_secret_prefix: String,
    /// The chat WebSocket API's connection management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/
    /// {stage}`); without it, messages are not pushed (polling still works).
    pub chat_socket_endpoint: Option<String>,
    /// WeChat Pay's API (`https://api.mch.weixin.qq.com`; the sandbox locally), where the providers' merchant
    /// settings live in Secrets Manager, and our public base URL WeChat Pay posts notifications to.
    pub wechat_pay_base: String,
    pub pay_secret_prefix: String,
    pub pay_notify_base: String,
    /// The EventBridge bus that receives the platform's events.
    pub event_bus_name: String,
    /// Audits are polled with `get_auditstatus` once they are this old without a result.
    pub audit_poll_after_secs: i64,
    /// The sweep retries a submission waiting for WeChat's privacy scan (or a failed look) after this, doubling.
    pub sweep_retry_secs: i64,
    /// Pushes and their idempotency records expire after this many days.
    pub push_record_ttl_days: i64,
    /// Password checks from one source address in any 15 minutes (spraying across accounts).
    pub login_attempts_per_source: usize,
    /// Whether anyone may sign up a tenant (`SIGNUP=open`, the default) or only the operator creates them (`closed`).
    pub signup_open: bool,
    /// Tenant sign-ups from one source address in any hour.
    pub signups_per_source: usize,
    /// What one merchant may use per day of the WeChat quotas all merchants of a component share.
    pub merchant_daily: MerchantDailyLimits,
    /// The SQS queue batch work travels on; only the batch functions have it.
    pub batch_queue_url: Option<String>,
    /// A batch target waiting for WeChat (an audit, the privacy scan, quota, an ICP filing) looks again after this.
    pub batch_poll_secs: i64,
    /// A batch step that failed for a passing reason is retried after this, doubling each attempt.
    pub batch_retry_secs: i64,
    /// The queue forwarded pushes travel on (the push functions and the forward worker), and where a forward goes
    /// after its last try.
    pub forward_queue_url: Option<String>,
    pub forward_dead_letter_url: Option<String>,
    /// A failed forward is tried again after this, doubling each try.
    pub forward_retry_secs: i64,
    /// Forwards may go to loopback addresses over plain http (the local stack's test receivers only).
    pub forward_allow_loopback: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct MerchantDailyLimits {
    pub audits: i64,
    pub undos: i64,
    pub speedups: i64,
    pub auth_links: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: environment variable {0} is required")]
pub struct ConfigError(pub &'static str);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError(name))
        };
        let optional = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or(default.into())
        };
        let positive = |name: &'static str, default: &str| {
            optional(name, default)
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError(name))
        };
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            bucket_name: required("BUCKET_NAME")?,
            wechat_api_base: optional("WECHAT_API_BASE", "https://api.weixin.qq.com"),
            component_secret_prefix: optional("COMPONENT_SECRET_PREFIX", "wxtpl/component/"),
            jwt_secret_id: required("JWT_SECRET_ID")?,
            wechat_mp_base: optional("WECHAT_MP_BASE", "https://mp.weixin.qq.com"),
            wechat_open_base: optional("WECHAT_OPEN_BASE", "https://open.weixin.qq.com"),
            auth_redirect_url: optional("AUTH_REDIRECT_URL", ""),
            frontend_url: optional("FRONTEND_URL", ""),
            alipay_gateway: optional("ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do"),
            alipay_auth_base: optional("ALIPAY_AUTH_BASE", "https://openauth.alipay.com"),
            alipay_redirect_url: optional("ALIPAY_REDIRECT_URL", ""),
            alipay_secret_prefix: optional("ALIPAY_SECRET_PREFIX", "wxtpl/alipay/"),
            wechat_pay_base: optional("WECHAT_PAY_BASE", "https://api.mch.weixin.qq.com"),
            pay_secret_prefix: optional("PAY_SECRET_PREFIX", "wxtpl/pay/"),
            pay_notify_base: optional("PAY_NOTIFY_BASE", ""),
            event_bus_name: required("EVENT_BUS_NAME")?,
            audit_poll_after_secs: optional("AUDIT_POLL_AFTER_SECONDS", "600")
                .parse()
                .map_err(|_| ConfigError("AUDIT_POLL_AFTER_SECONDS"))?,
            sweep_retry_secs: optional("SWEEP_RETRY_SECONDS", "60")
                .parse()
                .map_err(|_| ConfigError("SWEEP_RETRY_SECONDS"))?,
            push_record_ttl_days: optional("PUSH_RECORD_TTL_DAYS", "7")
                .parse()
                .map_err(|_| ConfigError("PUSH_RECORD_TTL_DAYS"))?,
            login_attempts_per_source: optional("LOGIN_ATTEMPTS_PER_SOURCE", "20")
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError("LOGIN_ATTEMPTS_PER_SOURCE"))?,
            signup_open: match optional("SIGNUP", "open").as_str() {
                "open" => true,
                "closed" => false,
                _ => return Err(ConfigError("SIGNUP")),
            },
            signups_per_source: optional("SIGNUPS_PER_SOURCE", "10")
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or(ConfigError("SIGNUPS_PER_SOURCE"))?,
            merchant_daily: MerchantDailyLimits {
                audits: positive("MERCHANT_DAILY_AUDITS", "10")?,
                undos: positive("MERCHANT_DAILY_UNDOS", "10")?,
                speedups: positive("MERCHANT_DAILY_SPEEDUPS", "2")?,
                auth_links: positive("MERCHANT_DAILY_AUTH_LINKS", "20")?,
            },
            batch_queue_url: std::env::var("BATCH_QUEUE_URL")
                .ok()
                .filter(|v| !v.is_empty()),
            batch_poll_secs: positive("BATCH_POLL_SECONDS", "60")?,
            batch_retry_secs: positive("BATCH_RETRY_SECONDS", "15")?,
            forward_queue_url: std::env::var("FORWARD_QUEUE_URL")
                .ok()
                .filter(|v| !v.is_empty()),
            forward_dead_letter_url: std::env::var("FORWARD_DEAD_LETTER_URL")
                .ok()
                .filter(|v| !v.is_empty()),
            forward_retry_secs: positive("FORWARD_RETRY_SECONDS", "30")?,
            forward_allow_loopback: optional("FORWARD_ALLOW_LOOPBACK", "false") == "true",
            chat_socket_endpoint: std::env::var("CHAT_SOCKET_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty()),
        })
    }
}
