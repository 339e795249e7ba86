//! Component secrets (one JSON secret per component) and the JWT key, read once per cold start and cached.
use aws_sdk_secretsmanager::Client;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::RwLock;

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
    client: Client,
    prefix: String,
    components: Arc<RwLock<HashMap<String, ComponentSecret>>>,
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
    pub fn new(client: Client, prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_owned(),
            components: Default::default(),
        }
    }

    pub fn component_secret_name(&self, appid: &str) -> String {
        format!("{}{appid}", self.prefix)
    }

    async fn read_string(&self, id: &str) -> Result<String, SecretsError> {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        let out = self
            .client
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
        if let Some(s) = self.components.read().await.get(appid) {
            return Ok(s.clone());
        }
        let name = self.component_secret_name(appid);
        let secret: ComponentSecret = serde_json::from_str(&self.read_string(&name).await?)
            .map_err(|_| SecretsError::Malformed(name))?;
        self.components
            .write()
            .await
            .insert(appid.to_owned(), secret.clone());
        Ok(secret)
    }

    /// Creates or replaces the component's secret and refreshes this instance's cache.
    pub async fn put_component(
        &self,
        appid: &str,
        secret: &ComponentSecret,
    ) -> Result<(), SecretsError> {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        let name = self.component_secret_name(appid);
        let value = serde_json::to_string(secret).expect("secret serializes");
        let created = self
            .client
            .create_secret()
            .name(&name)
            .secret_string(&value)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error().and_then(|s| s.code())
                    == Some("ResourceExistsException") =>
            {
                self.client
                    .put_secret_value()
                    .secret_id(&name)
                    .secret_string(&value)
                    .send()
                    .await
                    .map_err(|e| service_error("PutSecretValue", &e))?;
            }
            Err(e) => return Err(service_error("CreateSecret", &e)),
        }
        self.components
            .write()
            .await
            .insert(appid.to_owned(), secret.clone());
        Ok(())
    }

    /// The HS256 signing key for API tokens (read once at cold start by `Deps`).
    pub async fn jwt_key(&self, secret_id: &str) -> Result<Vec<u8>, SecretsError> {
        let key = self.read_string(secret_id).await?;
        if key.len() < 32 {
            return Err(SecretsError::Malformed(secret_id.to_owned()));
        }
        Ok(key.into_bytes())
    }
}
