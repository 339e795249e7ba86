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
use base64::Engine;

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
    for pem in root_certificates_pem() {
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

/// Mozilla's root certificates (the `webpki-root-certs` crate), DER.
pub fn root_certificates() -> impl Iterator<Item = &'static [u8]> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| c.as_ref())
}

fn root_certificates_pem() -> impl Iterator<Item = String> {
    root_certificates().map(|der| {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_survives_the_pem_round_trip() {
        let ders: Vec<_> = root_certificates().collect();
        assert!(ders.len() > 100, "Mozilla's set has well over 100 roots");
        for (pem, der) in root_certificates_pem().zip(&ders) {
            let body = pem
                .strip_prefix("-----BEGIN CERTIFICATE-----\n")
                .and_then(|p| p.strip_suffix("\n-----END CERTIFICATE-----\n"))
                .unwrap();
            assert!(
                body.lines().all(|l| l.len() <= 64),
                "PEM lines are at most 64 characters"
            );
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(body.replace('\n', ""))
                .unwrap();
            assert_eq!(decoded, *der);
        }
    }

    #[test]
    fn a_lazy_client_is_built_once_on_first_use() {
        let config = SdkConfig::builder().build();
        let lazy = LazyClient::new(&config, |_| std::time::Instant::now());
        assert!(lazy.client.get().is_none(), "nothing is built before use");
        let first = *lazy.get();
        assert_eq!(*lazy.get(), first);
    }
}
