//! Registering a component and reporting its health (never token or secret values).
use serde::{Deserialize, Serialize};

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::secrets::ComponentSecret;
use crate::store::components::{self, Registration};
use crate::store::tokens::{self, Subject};
use crate::wechat::crypto::decode_aes_key;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    pub appid: String,
    pub appsecret: String,
    pub token: String,
    pub encoding_aes_key: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PushTicketStart {
    pub started: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_errcode: Option<i64>,
    pub message: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    pub appid: String,
    pub created: bool,
    pub push_ticket: PushTicketStart,
}

/// WeChat appids are `wx` followed by 16 hexadecimal digits.
pub fn valid_appid(appid: &str) -> bool {
    appid.len() == 18
        && appid.starts_with("wx")
        && appid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn validate(req: &RegisterRequest) -> AppResult<()> {
    if !valid_appid(&req.appid) {
        return Err(AppError::BadRequest(
            "appid must be wx followed by 16 hexadecimal digits".into(),
        ));
    }
    if req.appsecret.len() < 16
        || req.appsecret.len() > 64
        || !req.appsecret.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(AppError::BadRequest(
            "appsecret must be 16 to 64 letters or digits".into(),
        ));
    }
    if req.token.len() < 3
        || req.token.len() > 32
        || !req.token.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(AppError::BadRequest(
            "token must be 3 to 32 letters or digits".into(),
        ));
    }
    decode_aes_key(&req.encoding_aes_key)
        .map_err(|_| AppError::BadRequest("encodingAesKey must be 43 letters or digits".into()))?;
    Ok(())
}

pub async fn register(
    deps: &Deps,
    tenant: &str,
    req: RegisterRequest,
) -> AppResult<RegisterResponse> {
    validate(&req)?;
    // The record is claimed first, conditionally (new, or this tenant's): another tenant can then never reach the
    // secret write and overwrite a registered component's appsecret, token or key, even by racing its registration.
    let created = match components::register(&deps.table, &req.appid, tenant).await? {
        Registration::Created => true,
        Registration::Updated => false,
        Registration::OwnedByOtherTenant => {
            return Err(AppError::Conflict(format!(
                "component {} is registered by another tenant",
                req.appid
            )))
        }
    };
    let secret = ComponentSecret {
        appsecret: req.appsecret,
        token: req.token,
        encoding_aes_key: req.encoding_aes_key,
    };
    if let Err(e) = deps.secrets.put_component(&req.appid, &secret).await {
        // A record never stays pointing at a missing secret: a new one is taken back (an old one keeps its secret).
        if created {
            components::forget_unused(&deps.table, &req.appid, tenant).await?;
        }
        return Err(e.into());
    }
    // WeChat pushes a ticket every 10 minutes anyway: a refusal here is reported, not fatal.
    let push_ticket = match deps
        .wechat
        .start_push_ticket(&req.appid, &secret.appsecret)
        .await
    {
        Ok(()) => PushTicketStart {
            started: true,
            wechat_errcode: None,
            message: "ticket push started".into(),
        },
        Err(e) => PushTicketStart {
            started: false,
            wechat_errcode: e.errcode(),
            message: e.to_string(),
        },
    };
    tracing::info!(appid = %req.appid, created, push_started = push_ticket.started, "component registered");
    Ok(RegisterResponse {
        appid: req.appid,
        created,
        push_ticket,
    })
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TicketStatus {
    pub create_time: i64,
    pub received_at: i64,
    pub age_seconds: i64,
    pub valid: bool,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatus {
    pub expires_at: i64,
    pub expires_in_seconds: i64,
    pub refreshed_at: i64,
    pub state: &'static str,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    pub component_appid: String,
    pub registered_at: i64,
    pub ticket: Option<TicketStatus>,
    pub component_token: Option<TokenStatus>,
}

pub fn token_state(expires_at: i64, now: i64) -> &'static str {
    if expires_at <= now {
        "expired"
    } else if expires_at <= now + crate::services::tokens::SCHEDULED_REFRESH_MARGIN_SECS {
        "refresh_due"
    } else {
        "valid"
    }
}

pub async fn status(deps: &Deps, component: &components::Component) -> AppResult<ComponentStatus> {
    let now = now_secs();
    let ticket = components::get_ticket(&deps.table, &component.appid)
        .await?
        .map(|t| TicketStatus {
            create_time: t.create_time,
            received_at: t.received_at,
            age_seconds: now - t.received_at,
            valid: t.is_valid_at(now),
        });
    let token = tokens::get(&deps.table, &component.appid, Subject::Component)
        .await?
        .filter(|t| t.value.is_some())
        .map(|t| TokenStatus {
            expires_at: t.expires_at,
            expires_in_seconds: (t.expires_at - now).max(0),
            refreshed_at: t.refreshed_at,
            state: token_state(t.expires_at, now),
        });
    Ok(ComponentStatus {
        component_appid: component.appid.clone(),
        registered_at: component.created_at,
        ticket,
        component_token: token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> RegisterRequest {
        RegisterRequest {
            appid: "wx0123456789abcdef".into(),
            appsecret: "0123456789abcdef0123456789abcdef".into(),
            token: "tok123".into(),
            encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
        }
    }

    #[test]
    fn accepts_a_valid_registration() {
        assert!(validate(&req()).is_ok());
    }

    #[test]
    fn rejects_bad_fields_with_a_message_naming_them() {
        for (bad, field) in [
            (
                RegisterRequest {
                    appid: "wx123".into(),
                    ..req()
                },
                "appid",
            ),
            (
                RegisterRequest {
                    appid: "wx0123456789abcdeg".into(),
                    ..req()
                },
                "appid",
            ),
            (
                RegisterRequest {
                    appsecret: "short".into(),
                    ..req()
                },
                "appsecret",
            ),
            (
                RegisterRequest {
                    token: "a b".into(),
                    ..req()
                },
                "token",
            ),
            (
                RegisterRequest {
                    encoding_aes_key: "abc".into(),
                    ..req()
                },
                "encodingAesKey",
            ),
        ] {
            let err = validate(&bad).unwrap_err().to_string();
            assert!(err.contains(field), "{err} should name {field}");
        }
    }

    #[test]
    fn token_states() {
        assert_eq!(token_state(100, 100), "expired");
        assert_eq!(token_state(100 + 60, 100), "refresh_due");
        assert_eq!(token_state(100 + 7200, 100), "valid");
    }
}
