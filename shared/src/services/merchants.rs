//! Merchants authorize their mini-programs through our link: a pre-auth code, WeChat's consent page, and the
//! redirect back with an authorization code that names the merchant through a signed, expiring `state`.
use serde::Serialize;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::error::{AppError, AppResult};
use crate::jwt as auth;
use crate::services::quotas::{self, Kind};
use crate::services::{access, accounts, callbacks, tokens::with_component_token};
use crate::store::{components, users};

/// A link (and its state) stays usable for at most this long; WeChat's pre-auth code lives about as long.
const LINK_TTL_SECS: i64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Pc,
    H5,
}

impl LinkKind {
    pub fn parse(kind: &str) -> AppResult<Self> {
        match kind {
            "pc" => Ok(LinkKind::Pc),
            "h5" => Ok(LinkKind::H5),
            _ => Err(AppError::BadRequest("kind must be pc or h5".into())),
        }
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AuthLink {
    pub url: String,
    pub expires_in: i64,
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn enc(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 3);
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The claims of `merchant`, a merchant user of the caller's tenant working in this component, for a link an
/// operator or admin hands it: what it authorizes becomes that merchant's, and the link counts in that merchant's
/// daily quota, as if the merchant had asked.
pub async fn as_merchant(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    merchant: &str,
) -> AppResult<Claims> {
    let user = users::get(&deps.table, merchant).await?.filter(|u| {
        u.tenant == caller.tenant
            && accounts::parse_role(&u.role).ok() == Some(Role::Merchant)
            && u.components.iter().any(|c| c == component)
    });
    let Some(user) = user else {
        return Err(AppError::NotFound(format!(
            "merchant {merchant} in component {component}"
        )));
    };
    if user.disabled {
        return Err(AppError::Conflict(format!(
            "merchant {merchant} is disabled: enable it before handing it a link"
        )));
    }
    let now = now_secs();
    Ok(Claims {
        sub: user.account,
        role: Role::Merchant,
        tenant: user.tenant,
        component: Some(component.to_owned()),
        iat: now,
        nbf: None,
        exp: now + LINK_TTL_SECS,
    })
}

pub async fn auth_link(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    kind: LinkKind,
) -> AppResult<AuthLink> {
    if deps.config.auth_redirect_url.is_empty() {
        return Err(AppError::Conflict(
            "AUTH_REDIRECT_URL is not configured for this deployment".into(),
        ));
    }
    let unit = quotas::take(deps, component, merchant, Kind::AuthorizationLink).await?;
    let pre = unit
        .spend(with_component_token(deps, component, |cat| async move {
            deps.wechat.create_preauthcode(&cat, component).await
        }))
        .await?;
    let now = now_secs();
    let ttl = pre.expires_in.clamp(60, LINK_TTL_SECS);
    let state_claims = Claims {
        sub: merchant.sub.clone(),
        role: Role::Merchant,
        tenant: merchant.tenant.clone(),
        component: Some(component.to_owned()),
        iat: now,
        nbf: None,
        exp: now + ttl,
    };
    let key = auth::state_key(deps.jwt_key().await?);
    let state = auth::sign(&state_claims, &key);
    let redirect = format!("{}?state={}", deps.config.auth_redirect_url, enc(&state));
    let common = format!(
        "component_appid={}&pre_auth_code={}&redirect_uri={}&auth_type=2",
        enc(component),
        enc(&pre.pre_auth_code),
        enc(&redirect)
    );
    let url = match kind {
        LinkKind::Pc => format!(
            "{}/cgi-bin/componentloginpage?{common}",
            deps.config.wechat_mp_base
        ),
        LinkKind::H5 => format!(
            "{}/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&{common}#wechat_redirect",
            deps.config.wechat_open_base
        ),
    };
    Ok(AuthLink {
        url,
        expires_in: ttl,
    })
}

/// The merchant and component a consent link's signed state names (WeChat's or Alipay's), once the state verifies,
/// has not expired and the component is still its tenant's.
pub async fn verified_state(deps: &Deps, state: &str) -> AppResult<(Claims, String)> {
    let key = auth::state_key(deps.jwt_key().await?);
    let claims = auth::verify(state, &key, now_secs()).map_err(|_| {
        AppError::Unauthenticated(
            "the authorization link is invalid or expired; ask for a new one".into(),
        )
    })?;
    let component = claims
        .component
        .clone()
        .ok_or_else(|| AppError::BadRequest("state names no component".into()))?;
    let owned = components::get(&deps.table, &component)
        .await?
        .is_some_and(|c| c.tenant == claims.tenant);
    if !owned {
        return Err(AppError::NotFound(format!("component {component}")));
    }
    Ok((claims, component))
}

/// Completes WeChat's redirect: checks the state, exchanges the code (or finds the push's result) and links the
/// mini-program to the merchant. Returns the mini-program's appid.
pub async fn complete_redirect(deps: &Deps, state: &str, auth_code: &str) -> AppResult<String> {
    let (claims, component) = verified_state(deps, state).await?;
    let authorized =
        callbacks::authorize_with_code(deps, &component, auth_code, now_secs(), Some(&claims.sub))
            .await?;
    match authorized.claim {
        Some(access::Claim::OwnedByOther) => Err(access::owned_by_other(&authorized.appid)),
        _ => Ok(authorized.appid),
    }
}
