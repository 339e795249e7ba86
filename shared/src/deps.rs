//! Everything a function needs, built once per cold start and borrowed by every invocation.
use crate::blobs::Blobs;
use crate::bus::EventBus;
use crate::config::Config;
use crate::queue::WorkQueue;
use crate::secrets::Secrets;
use crate::store::Table;
use crate::wechat::WechatClient;

pub struct Deps {
    pub config: Config,
    pub table: Table,
    pub secrets: Secrets,
    pub wechat: WechatClient,
    pub blobs: Blobs,
    pub bus: EventBus,
    pub queue: WorkQueue,
    /// HS256 key for API JWTs; `None` for functions that only serve WeChat or schedules.
    pub jwt_key: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot read the JWT signing key: {0}")]
    JwtKey(#[from] crate::secrets::SecretsError),
}

/// Which optional parts a function needs at init.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Routes called with a bearer JWT.
    Api,
    /// WeChat callbacks and scheduled jobs.
    Backend,
}

impl Deps {
    pub async fn from_env(needs: Needs) -> Result<Self, InitError> {
        let config = Config::from_env()?;
        let aws = aws_config::load_from_env().await;
        let table = Table {
            client: aws_sdk_dynamodb::Client::new(&aws),
            name: config.table_name.clone(),
        };
        let secrets = Secrets::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            &config.component_secret_prefix,
        );
        let jwt_key = match needs {
            Needs::Api => Some(secrets.jwt_key(&config.jwt_secret_id).await?),
            Needs::Backend => None,
        };
        let wechat = WechatClient::new(&config.wechat_api_base);
        // Emulators serve buckets by path; AWS itself prefers virtual-hosted addressing.
        let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&aws)
                .force_path_style(path_style)
                .build(),
        );
        let blobs = Blobs::new(s3, &config.bucket_name);
        let bus = EventBus::new(
            aws_sdk_eventbridge::Client::new(&aws),
            &config.event_bus_name,
        );
        let queue = WorkQueue::new(
            aws_sdk_sqs::Client::new(&aws),
            config.batch_queue_url.clone(),
        );
        Ok(Self {
            config,
            table,
            secrets,
            wechat,
            blobs,
            bus,
            queue,
            jwt_key,
        })
    }

    pub fn push_ttl(&self, now: i64) -> i64 {
        now + self.config.push_record_ttl_days * 86_400
    }
}
