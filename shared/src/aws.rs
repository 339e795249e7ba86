//! The AWS SDK set up for a short cold start: credentials and region taken straight from the environment Lambda gives
//! every function, root certificates compiled in (no read of the system store), and each service's client and the
//! TLS setup built on first use, since most functions touch one or two of the five services.
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The shared SDK configuration. Lambda sets `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` and
/// `AWS_REGION`; elsewhere (a laptop with a profile) the SDK's default chains are used.
pub async fn sdk_config() -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(LazyHttpClient::default());
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Ok(region) = std::env::var("AWS_REGION") {
        loader = loader.region(Region::new(region));
    }
    loader.load().await
}

/// A service client built the first time it is used.
#[derive(Clone)]
pub struct LazyClient<C> {
    config: SdkConfig,
    build: fn(&SdkConfig) -> C,
    client: OnceLock<C>,
}

impl<C> LazyClient<C> {
    pub fn new(config: &SdkConfig, build: fn(&SdkConfig) -> C) -> Self {
        Self {
            config: config.clone(),
            build,
            client: OnceLock::new(),
        }
    }

    /// A client that is already built (tests that bring their own).
    pub fn ready(client: C) -> Self {
        let client = OnceLock::from(client);
        Self {
            config: SdkConfig::builder().build(),
            build: |_| unreachable!("the client was given ready-made"),
            client,
        }
    }

    pub fn get(&self) -> &C {
        self.client.get_or_init(|| (self.build)(&self.config))
    }
}

/// The SDK's rustls HTTPS client, trusting the compiled-in roots, made when the first client needs a connector.
#[derive(Debug, Default)]
struct LazyHttpClient(OnceLock<SharedHttpClient>);

impl HttpClient for LazyHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0
            .get_or_init(https_client)
            .http_connector(settings, components)
    }
}

fn https_client() -> SharedHttpClient {
    let mut roots = TrustStore::empty().with_native_roots(false);
    for pem in crate::tls_roots::pem() {
        roots.add_pem_certificate(pem);
    }
    let tls = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("compiled-in roots form a TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazy_client_is_built_once_on_first_use() {
        let config = SdkConfig::builder().build();
        let lazy = LazyClient::new(&config, |_| std::time::Instant::now());
        assert!(lazy.client.get().is_none(), "nothing is built before use");
        let first = *lazy.get();
        assert_eq!(*lazy.get(), first);
    }
}
