//! Alipay for a provider: registering its third-party application (app id, its RSA2 private key, Alipay's public key)
//! in a component workspace, and merchants authorizing their mini-programs to it — the consent link with a signed,
//! expiring state, then the redirect whose `app_auth_code` is exchanged for durable tokens.
use serde::{Deserialize, Serialize};

use crate::alipay::client::{AlipayApp, Grant};
use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::error::{AppError, AppResult};
use crate::jwt as auth;
use crate::secrets::AlipaySecret;
use crate::services::merchants::{enc, verified_state};
use crate::services::quotas::{self, Kind};
use crate::store::alipay::{self as store, Authorization, Claim};
use crate::store::components::{self, Registration};

/// A consent link stays usable this long (Alipay's `app_auth_code` itself lives a day).
const LINK_TTL_SECS: i64 = 1800;
/// What a token without an `expires_in` is taken to live.
const TOKEN_YEAR_SECS: i64 = 365 * 86_400;
/// Keys arrive as PEM or Base64 DER; anything longer is not an RSA key we accept.
const MAX_KEY_CHARS: usize = 8192;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterAppRequest {
    pub app_id: String,
    pub private_key: String,
    pub alipay_public_key: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredApp {
    pub app_id: String,
    pub created: bool,
}

/// Alipay application ids are 16 digits.
pub fn valid_app_id(app_id: &str) -> bool {
    app_id.len() == 16 && app_id.bytes().all(|b| b.is_ascii_digit())
}

/// The workspace of a provider with only Alipay: an admin registering an application without naming a component gets
/// one of its own, keyed by the application id (`COMP#{appId}`, no WeChat secret behind it). Registering the same
/// application again (a key rotation) finds the workspace that already holds it.
pub async fn alipay_workspace(deps: &Deps, admin: &Claims, app_id: &str) -> AppResult<String> {
    if !valid_app_id(app_id) {
        return Err(AppError::InvalidId(
            "appId must be Alipay's 16-digit application id".into(),
        ));
    }
    let taken = || {
        AppError::Conflict(format!(
            "Alipay application {app_id} is registered for another workspace"
        ))
    };
    match store::app_claim(&deps.table, app_id).await? {
        Some((tenant, component)) if tenant == admin.tenant => return Ok(component),
        Some(_) => return Err(taken()),
        None => {}
    }
    match components::register(&deps.table, app_id, &admin.tenant).await? {
        Registration::Created | Registration::Updated => Ok(app_id.to_owned()),
        Registration::OwnedByOtherTenant => Err(taken()),
    }
}

/// `POST /alipay/app/register` (admin): keys are checked to be RSA keys, kept in Secrets Manager, never echoed.
pub async fn register_app(
    deps: &Deps,
    admin: &Claims,
    component: &str,
    req: RegisterAppRequest,
) -> AppResult<RegisteredApp> {
    if !valid_app_id(&req.app_id) {
        return Err(AppError::InvalidId(
            "appId must be Alipay's 16-digit application id".into(),
        ));
    }
    if req.private_key.len() > MAX_KEY_CHARS || req.alipay_public_key.len() > MAX_KEY_CHARS {
        return Err(AppError::BadRequest(format!(
            "keys are at most {MAX_KEY_CHARS} characters"
        )));
    }
    AlipayApp::new(&req.app_id, &req.private_key, &req.alipay_public_key)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let created = match store::claim_app(
        &deps.table,
        &req.app_id,
        &admin.tenant,
        component,
        now_millis(),
    )
    .await?
    {
        Claim::Created => true,
        Claim::Updated => false,
        Claim::Taken => {
            return Err(AppError::Conflict(format!(
                "Alipay application {} is registered for another workspace",
                req.app_id
            )))
        }
    };
    let secret = AlipaySecret {
        private_key: req.private_key,
        alipay_public_key: req.alipay_public_key,
    };
    if let Err(e) = deps.secrets.put_alipay(&req.app_id, &secret).await {
        if created {
            store::forget_new_app(&deps.table, &req.app_id, &admin.tenant, component).await?;
        }
        return Err(e.into());
    }
    tracing::info!(component, app_id = %req.app_id, created, "Alipay application registered");
    Ok(RegisteredApp {
        app_id: req.app_id,
        created,
    })
}

/// The component's Alipay application, ready to sign.
pub async fn app_of(deps: &Deps, component: &str) -> AppResult<AlipayApp> {
    let app_id = store::app_of_component(&deps.table, component)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "no Alipay application is registered here: an admin registers one with POST /alipay/app/register"
                    .into(),
            )
        })?;
    let secret = deps.secrets.alipay(&app_id).await?;
    AlipayApp::new(&app_id, &secret.private_key, &secret.alipay_public_key).map_err(|e| {
        AppError::Conflict(format!(
            "the stored keys of Alipay application {app_id} are unusable: {e}"
        ))
    })
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AlipayAuthLink {
    pub url: String,
    pub expires_in: i64,
}

/// `GET /alipay/auth/link`: Alipay's appToAppAuth page for the merchant named by `merchant` (the caller, or one of
/// the staff's merchants), counted in that merchant's daily quota of links.
pub async fn auth_link(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
) -> AppResult<AlipayAuthLink> {
    if deps.config.alipay_redirect_url.is_empty() {
        return Err(AppError::Conflict(
            "ALIPAY_REDIRECT_URL is not configured for this deployment".into(),
        ));
    }
    let app = app_of(deps, component).await?;
    let unit = quotas::take(deps, component, merchant, Kind::AuthorizationLink).await?;
    let now = now_secs();
    let state_claims = Claims {
        sub: merchant.sub.clone(),
        role: Role::Merchant,
        tenant: merchant.tenant.clone(),
        component: Some(component.to_owned()),
        iat: now,
        nbf: None,
        exp: now + LINK_TTL_SECS,
    };
    let state = unit
        .spend(async {
            Ok(auth::sign(
                &state_claims,
                &auth::state_key(deps.jwt_key().await?),
            ))
        })
        .await?;
    let url = format!(
        "{}/oauth2/appToAppAuth.htm?app_id={}&redirect_uri={}&state={}",
        deps.config.alipay_auth_base.trim_end_matches('/'),
        enc(&app.app_id),
        enc(&deps.config.alipay_redirect_url),
        enc(&state)
    );
    Ok(AlipayAuthLink {
        url,
        expires_in: LINK_TTL_SECS,
    })
}

/// `GET /alipay/auth/redirect`: the merchant's browser back from Alipay. Checks the state, exchanges the code and
/// keeps the tokens; returns the merchant mini-program's id.
pub async fn complete_redirect(
    deps: &Deps,
    state: &str,
    app_id: &str,
    app_auth_code: &str,
) -> AppResult<String> {
    let (claims, component) = verified_state(deps, state).await?;
    let app = app_of(deps, &component).await?;
    if app.app_id != app_id {
        return Err(AppError::BadRequest(format!(
            "the authorization was granted to application {app_id}, not to this workspace's"
        )));
    }
    let answer = deps
        .alipay
        .token_app(&app, Grant::AuthorizationCode(app_auth_code))
        .await?;
    // Taken after the answer: Alipay's own notification of these tokens says they were issued before.
    let issued_ms = now_millis();
    let authorization = authorization_of(&answer, &app.app_id, Some(&claims.sub), issued_ms)?;
    let mini_app_id = authorization.mini_app_id.clone();
    let stored = store::save_authorization(&deps.table, &component, &authorization).await?;
    let owner = match stored {
        Some(s) => s.merchant,
        // A newer answer is stored already: ownership is what it says.
        None => store::authorization(&deps.table, &component, &mini_app_id)
            .await?
            .and_then(|a| a.merchant),
    };
    if owner.as_deref() != Some(claims.sub.as_str()) {
        return Err(AppError::Conflict(format!(
            "Alipay mini-program {mini_app_id} belongs to another merchant"
        )));
    }
    tracing::info!(component, mini_app_id = %mini_app_id, merchant = %claims.sub, "Alipay mini-program authorized");
    Ok(mini_app_id)
}

/// The authorization an `alipay.open.auth.token.app` answer grants, issued at `issued_ms`. Newer answers carry the
/// values in `tokens[0]`, older ones at the top.
pub(crate) fn authorization_of(
    answer: &serde_json::Value,
    app_id: &str,
    merchant: Option<&str>,
    issued_ms: i64,
) -> AppResult<Authorization> {
    let tokens = answer["tokens"].get(0).unwrap_or(answer);
    let text = |k: &str| tokens[k].as_str().map(str::to_owned);
    let number = |k: &str| {
        tokens[k]
            .as_i64()
            .or_else(|| tokens[k].as_str().and_then(|v| v.parse().ok()))
            .unwrap_or(0)
    };
    let (Some(mini_app_id), Some(token), Some(refresh)) = (
        text("auth_app_id"),
        text("app_auth_token"),
        text("app_refresh_token"),
    ) else {
        return Err(AppError::Alipay(
            crate::alipay::client::AlipayError::Decode {
                method: "alipay.open.auth.token.app".into(),
                why: "no auth_app_id, app_auth_token or app_refresh_token".into(),
            },
        ));
    };
    let now = issued_ms / 1000;
    // Alipay's SDKs call `expires_in` obsolete (tokens are long-lived): without one, a year is assumed.
    let lifetime = |k: &str| {
        Some(number(k))
            .filter(|s| *s > 0)
            .unwrap_or(TOKEN_YEAR_SECS)
    };
    Ok(Authorization {
        mini_app_id,
        app_id: app_id.to_owned(),
        user_id: text("user_id").unwrap_or_default(),
        merchant: merchant.map(str::to_owned),
        app_auth_token: token,
        app_refresh_token: refresh,
        issued_ms,
        expires_at: now + lifetime("expires_in"),
        refresh_expires_at: now + lifetime("re_expires_in"),
        authorized_at: now,
        status: store::AUTHORIZED.into(),
    })
}
