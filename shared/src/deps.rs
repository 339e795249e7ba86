//! Everything a function needs, set up once per cold start and borrowed by every invocation. Nothing here calls the
//! network at start: clients connect on first use and the JWT key is read by the first request that needs it.
use tokio::sync::OnceCell;

use crate::alipay::client::AlipayClient;
use crate::aws::LazyClient;
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
    pub alipay: AlipayClient,
    pub pay: crate::wechat_pay::client::PayClient,
    pub blobs: Blobs,
    pub bus: EventBus,
    pub queue: WorkQueue,
    /// Forwarded pushes (消息转发), and where they go after their last try.
    pub forward_queue: WorkQueue,
    pub forward_dead_letters: WorkQueue,
    /// The chat's WebSocket connections, when the deployment has the WebSocket API.
    pub sockets: Option<crate::sockets::Sockets>,
    needs: Needs,
    /// HS256 key for API JWTs, read from Secrets Manager by the first request that verifies or signs one.
    jwt_key: OnceCell<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
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
        let aws = crate::aws::sdk_config().await;
        let table = Table {
            client: LazyClient::new(&aws, aws_sdk_dynamodb::Client::new),
            name: config.table_name.clone(),
        };
        let secrets = Secrets::new(
            LazyClient::new(&aws, aws_sdk_secretsmanager::Client::new),
            &config.component_secret_prefix,
            &config.alipay_secret_prefix,
        );
        let wechat = WechatClient::new(&config.wechat_api_base);
        let alipay = AlipayClient::new(&config.alipay_gateway);
        let pay = crate::wechat_pay::client::PayClient::new(&config.wechat_pay_base);
        let blobs = Blobs::new(LazyClient::new(&aws, s3_client), &config.bucket_name);
        let bus = EventBus::new(
            LazyClient::new(&aws, aws_sdk_eventbridge::Client::new),
            &config.event_bus_name,
        );
        let sqs = LazyClient::new(&aws, aws_sdk_sqs::Client::new);
        let queue = WorkQueue::new(sqs.clone(), config.batch_queue_url.clone());
        let forward_queue = WorkQueue::new(sqs.clone(), config.forward_queue_url.clone());
        let forward_dead_letters = WorkQueue::new(sqs, config.forward_dead_letter_url.clone());
        let sockets = config
            .chat_socket_endpoint
            .as_deref()
            .map(|endpoint| crate::sockets::Sockets::new(&aws, endpoint));
        Ok(Self {
            config,
            table,
            secrets,
            wechat,
            alipay,
            pay,
            blobs,
            bus,
            queue,
            forward_queue,
            forward_dead_letters,
            sockets,
            needs,
            jwt_key: OnceCell::new(),
        })
    }

    /// The HS256 key that signs and verifies API tokens; read once, by the first request that needs it.
    pub async fn jwt_key(&self) -> Result<&[u8], crate::secrets::SecretsError> {
        assert!(
            self.needs == Needs::Api,
            "only API functions (Needs::Api) sign or verify tokens"
        );
        let key = self
            .jwt_key
            .get_or_try_init(|| self.secrets.jwt_key(&self.config.jwt_secret_id))
            .await?;
        Ok(key)
    }

    pub fn push_ttl(&self, now: i64) -> i64 {
        now + self.config.push_record_ttl_days * 86_400
    }
}

fn s3_client(aws: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    // Emulators serve buckets by path; AWS itself prefers virtual-hosted addressing.
    let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(path_style)
            .build(),
    )
}
