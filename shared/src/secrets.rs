//! Component secrets (one JSON secret per component) and the JWT key. The JWT key is read once per cold start;
//! component secrets are cached for `COMPONENT_SECRET_TTL` and re-read at once (at most every
//! `RELOAD_MIN_INTERVAL`) when WeChat's signature or errcode says the cached one is stale, so a rotation reaches
//! warm instances.
use aws_sdk_secretsmanager::Client;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

use crate::aws::LazyClient;

/// How long a warm instance trusts a component secret it read.
const COMPONENT_SECRET_TTL: Duration = Duration::from_secs(300);
/// A forced re-read happens at most this often per component, so forged pushes cannot hammer Secrets Manager.
const RELOAD_MIN_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Cached {
    secret: ComponentSecret,
    read_at: Instant,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSecret {
    pub appsecret: String,
    pub token: String,
    pub encoding_aes_key: String,
}

impl std::fmt::Debug for ComponentSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ComponentSecret(***)")
    }
}

/// A provider's Alipay application: its RSA2 private key and Alipay's public key (PEM or Base64), one JSON secret
/// per application.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlipaySecret {
    pub private_key: String,
    pub alipay_public_key: String,
}

impl std::fmt::Debug for AlipaySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlipaySecret(***)")
    }
}

/// A provider's WeChat Pay service-provider merchant (one JSON secret per component): its ids, the API
/// certificate's serial and private key, the APIv3 key, and the WeChat Pay public key when the merchant is in
/// public-key mode (else platform certificates are fetched).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaySecret {
    pub sp_mchid: String,
    pub sp_appid: String,
    pub serial_no: String,
    pub private_key: String,
    pub api_v3_key: String,
    #[serde(default)]
    pub public_key_id: Option<String>,
    #[serde(default)]
    pub public_key: Option<String>,
}

impl std::fmt::Debug for PaySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaySecret(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret {0} not found")]
    NotFound(String),
    #[error("Secrets Manager {operation} failed: {message}")]
    Service {
        operation: &'static str,
        message: String,
    },
    #[error("secret {0} is malformed")]
    Malformed(String),
}

#[derive(Clone)]
pub struct Secrets {
    client: LazyClient<Client>,
    prefix: String,
    alipay_prefix: String,
    components: Arc<RwLock<HashMap<String, Cached>>>,
}

fn service_error<E: aws_sdk_secretsmanager::error::ProvideErrorMetadata, R>(
    operation: &'static str,
    err: &aws_sdk_secretsmanager::error::SdkError<E, R>,
) -> SecretsError {
    let message = err
        .as_service_error()
        .and_then(|e| e.code().map(str::to_owned))
        .unwrap_or_else(|| "transport error".into());
    SecretsError::Service { operation, message }
}

impl Secrets {
    pub fn new(client: LazyClient<Client>, prefix: &str, alipay_prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            alipay_prefix: alipay_prefix.to_owned(),
            components: Default::default(),
        }
    }

    fn client(&self) -> &Client {
        self.client.get()
    }

    pub fn component_secret_name(&self, appid: &str) -> String {
        format!("{}{appid}", self.prefix)
    }

    async fn read_string(&self, id: &str) -> Result<String, SecretsError> {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        let out = self
            .client()
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().and_then(|s| s.code()) == Some("ResourceNotFoundException")
                {
                    SecretsError::NotFound(id.to_owned())
                } else {
                    service_error("GetSecretValue", &e)
                }
            })?;
        out.secret_string
            .ok_or_else(|| SecretsError::Malformed(id.to_owned()))
    }

    pub async fn component(&self, appid: &str) -> Result<ComponentSecret, SecretsError> {
        if let Some(c) = self.components.read().await.get(appid) {
            if c.read_at.elapsed() < COMPONENT_SECRET_TTL {
                return Ok(c.secret.clone());
            }
        }
        self.read_component(appid).await
    }

    /// The cached secret failed (a push's signature, WeChat's 40125): reads it again and returns it if it changed.
    /// `None` when it is unchanged, or was read too recently to read again.
    pub async fn reload_component(
        &self,
        appid: &str,
    ) -> Result<Option<ComponentSecret>, SecretsError> {
        let previous = self.components.read().await.get(appid).cloned();
        if let Some(c) = &previous {
            if c.read_at.elapsed() < RELOAD_MIN_INTERVAL {
                return Ok(None);
            }
        }
        let fresh = self.read_component(appid).await?;
        let changed = previous.is_none_or(|c| {
            c.secret.token != fresh.token
                || c.secret.encoding_aes_key != fresh.encoding_aes_key
                || c.secret.appsecret != fresh.appsecret
        });
        Ok(changed.then_some(fresh))
    }

    async fn read_component(&self, appid: &str) -> Result<ComponentSecret, SecretsError> {
        let name = self.component_secret_name(appid);
        let secret: ComponentSecret = serde_json::from_str(&self.read_string(&name).await?)
            .map_err(|_| SecretsError::Malformed(name))?;
        self.remember(appid, &secret).await;
        Ok(secret)
    }

    async fn remember(&self, appid: &str, secret: &ComponentSecret) {
        self.components.write().await.insert(
            appid.to_owned(),
            Cached {
                secret: secret.clone(),
                read_at: Instant::now(),
            },
        );
    }

    /// Creates or replaces the component's secret and refreshes this instance's cache.
    pub async fn put_component(
        &self,
        appid: &str,
        secret: &ComponentSecret,
    ) -> Result<(), SecretsError> {
        let name = self.component_secret_name(appid);
        self.put_json(
            &name,
            &serde_json::to_string(secret).expect("secret serializes"),
        )
        .await?;
        self.remember(appid, secret).await;
        Ok(())
    }

    /// Creates the secret, or gives an existing one a new value.
    async fn put_json(&self, name: &str, value: &str) -> Result<(), SecretsError> {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        let created = self
            .client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().and_then(|s| s.code())
                    == Some("ResourceExistsException") =>
            {
                self.client()
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| service_error("PutSecretValue", &e))
            }
            Err(e) => Err(service_error("CreateSecret", &e)),
        }
    }

    pub fn alipay_secret_name(&self, app_id: &str) -> String {
        format!("{}{app_id}", self.alipay_prefix)
    }

    pub async fn put_alipay(
        &self,
        app_id: &str,
        secret: &AlipaySecret,
    ) -> Result<(), SecretsError> {
        let value = serde_json::to_string(secret).expect("secret serializes");
        self.put_json(&self.alipay_secret_name(app_id), &value)
            .await
    }

    /// Read each time it is needed: Alipay calls are rare next to WeChat pushes, and a rotation is seen at once.
    pub async fn alipay(&self, app_id: &str) -> Result<AlipaySecret, SecretsError> {
        let name = self.alipay_secret_name(app_id);
        serde_json::from_str(&self.read_string(&name).await?)
            .map_err(|_| SecretsError::Malformed(name))
    }

    /// Where a component's WeChat Pay merchant settings are kept.
    pub fn pay_secret_name(&self, prefix: &str, component: &str) -> String {
        format!("{prefix}{component}")
    }

    pub async fn put_pay(&self, name: &str, secret: &PaySecret) -> Result<(), SecretsError> {
        let value = serde_json::to_string(secret).expect("secret serializes");
        self.put_json(name, &value).await
    }

    /// Read each time it is needed, like Alipay's: a rotated key is used at once.
    pub async fn pay(&self, name: &str) -> Result<PaySecret, SecretsError> {
        serde_json::from_str(&self.read_string(name).await?)
            .map_err(|_| SecretsError::Malformed(name.to_owned()))
    }

    /// The HS256 signing key for API tokens (read once per process by `Deps::jwt_key`).
    pub async fn jwt_key(&self, secret_id: &str) -> Result<Vec<u8>, SecretsError> {
        let key = self.read_string(secret_id).await?;
        if key.len() < 32 {
            return Err(SecretsError::Malformed(secret_id.to_owned()));
        }
        Ok(key.into_bytes())
    }
}
