//! Accounts: argon2 password hashes, login with a brute-force brake, user management within a tenant.
//!
//! The brake: every password check takes a slot first (`store::login_attempts`), one per account name (known or
//! not, so both answer alike) and one per source address. At most `ACCOUNT_ATTEMPTS` checks per account and
//! `SOURCE_ATTEMPTS` per source reach the hash in any `ATTEMPT_WINDOW_MS`; a successful login gives its slots back.
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::identity::{Claims, Role};
use crate::error::{AppError, AppResult};
use crate::jwt::sign;
use crate::store::login_attempts::{self, Reservation};
use crate::store::{components, users, users::User};

/// Password checks per account name in any window (failed ones: a success gives its slot back).
pub const ACCOUNT_ATTEMPTS: usize = 5;
/// The sliding window of the brake.
pub const ATTEMPT_WINDOW_MS: i64 = 15 * 60 * 1000;
const SESSION_SECS: i64 = 12 * 3600;
const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 128;

pub fn hash_password(password: &str) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| AppError::BadRequest("password cannot be hashed".into()))
}

fn password_matches(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Unknown accounts cost the same hash as known ones, so timing does not reveal which accounts exist.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").expect("static password hashes"))
}

pub(crate) fn validate_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(AppError::BadRequest(format!(
            "password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

pub(crate) fn validate_account(account: &str) -> AppResult<()> {
    let ok = (3..=64).contains(&account.len())
        && account
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    ok.then_some(()).ok_or_else(|| {
        AppError::BadRequest("account must be 3 to 64 letters, digits or . _ @ -".into())
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub account: String,
    pub password: String,
    /// Which of the user's components the session works in (default: the first).
    pub component_appid: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: i64,
    pub role: Role,
    pub tenant: String,
    pub component_appid: Option<String>,
    pub components: Vec<String>,
}

pub(crate) fn parse_role(role: &str) -> AppResult<Role> {
    serde_json::from_value(serde_json::Value::String(role.to_owned())).map_err(|_| {
        AppError::BadRequest("role must be developer, operator, merchant or admin".into())
    })
}

/// Logs in. `source` is the caller's address as API Gateway saw it.
pub async fn login(deps: &Deps, req: LoginRequest, source: &str) -> AppResult<LoginResponse> {
    // Checked before anything is counted: malformed input is the caller's mistake, not a guess.
    validate_account(&req.account)?;
    if req.password.is_empty() || req.password.len() > MAX_PASSWORD * 4 {
        return Err(AppError::BadRequest(format!(
            "password must be 1 to {MAX_PASSWORD} characters"
        )));
    }
    let bad = || AppError::Unauthenticated("account or password is wrong".into());
    let now_ms = now_millis();
    let window = ATTEMPT_WINDOW_MS;
    let source_scope = format!("src#{source}");
    let account_scope = format!("acct#{}", req.account);
    let per_source = deps.config.login_attempts_per_source;
    let source_slot =
        match login_attempts::reserve(&deps.table, &source_scope, per_source, window, now_ms)
            .await?
        {
            Reservation::Granted { slot, at_ms } => (slot, at_ms),
            Reservation::Refused { retry_after_secs } => {
                tracing::warn!(source, "login refused: too many attempts from this source");
                return Err(AppError::TooManyAttempts(retry_after_secs));
            }
        };
    let account_slot = match login_attempts::reserve(
        &deps.table,
        &account_scope,
        ACCOUNT_ATTEMPTS,
        window,
        now_ms,
    )
    .await?
    {
        Reservation::Granted { slot, at_ms } => (slot, at_ms),
        Reservation::Refused { retry_after_secs } => {
            // Only checks that reach the hash count against the source.
            login_attempts::release(&deps.table, &source_scope, source_slot.0, source_slot.1)
                .await?;
            return Err(AppError::TooManyAttempts(retry_after_secs));
        }
    };
    let user = users::get(&deps.table, &req.account).await?;
    // Unknown accounts cost the same hash, so timing does not tell them apart.
    let hash = user
        .as_ref()
        .map_or(dummy_hash(), |u| u.password_hash.as_str());
    let matches = password_matches(&req.password, hash);
    let Some(user) = user.filter(|u| matches && !u.disabled) else {
        tracing::info!(account = %req.account, "login refused");
        return Err(bad());
    };
    login_attempts::release(&deps.table, &account_scope, account_slot.0, account_slot.1).await?;
    login_attempts::release(&deps.table, &source_scope, source_slot.0, source_slot.1).await?;
    let now = now_ms / 1000;
    let component = match req.component_appid {
        Some(c) if user.components.contains(&c) => Some(c),
        Some(_) => {
            return Err(AppError::Forbidden(
                "the account has no access to that component".into(),
            ))
        }
        None => user.components.first().cloned(),
    };
    let role = parse_role(&user.role)?;
    let claims = Claims {
        sub: user.account,
        role,
        tenant: user.tenant.clone(),
        component: component.clone(),
        // A login in the same second as a password, role or status change still opens a valid session.
        iat: now.max(user.sessions_valid_after),
        nbf: None,
        exp: now + SESSION_SECS,
    };
    let key = deps.jwt_key().await?;
    Ok(LoginResponse {
        token: sign(&claims, key),
        expires_at: claims.exp,
        role,
        tenant: user.tenant,
        component_appid: component,
        components: user.components,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    pub account: String,
    pub password: String,
    pub role: String,
    #[serde(default)]
    pub components: Vec<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub account: String,
    pub tenant: String,
    pub role: String,
    pub components: Vec<String>,
    pub created_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            account: u.account,
            tenant: u.tenant,
            role: u.role,
            components: u.components,
            created_at: u.created_at,
        }
    }
}

/// Every one of `appids` is a component of `tenant` (another tenant's is reported as missing); at most 20.
pub(crate) async fn check_components(
    deps: &Deps,
    tenant: &str,
    appids: &[String],
) -> AppResult<()> {
    if appids.len() > 20 {
        return Err(AppError::BadRequest(
            "a user can have at most 20 components".into(),
        ));
    }
    for appid in appids {
        let owned = components::get(&deps.table, appid)
            .await?
            .is_some_and(|c| c.tenant == tenant);
        if !owned {
            return Err(AppError::NotFound(format!("component {appid}")));
        }
    }
    Ok(())
}

/// An admin creates a user in the admin's own tenant, with components of that tenant only.
pub async fn create_user(
    deps: &Deps,
    admin: &Claims,
    req: CreateUserRequest,
) -> AppResult<UserView> {
    validate_account(&req.account)?;
    validate_password(&req.password)?;
    parse_role(&req.role)?;
    check_components(deps, &admin.tenant, &req.components).await?;
    let user = User {
        account: req.account,
        tenant: admin.tenant.clone(),
        role: req.role,
        components: req.components,
        password_hash: hash_password(&req.password)?,
        disabled: false,
        sessions_valid_after: 0,
        created_at: now_secs(),
    };
    if !users::create(&deps.table, &user).await? {
        return Err(AppError::Conflict(format!(
            "account {} already exists",
            user.account
        )));
    }
    Ok(user.into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// Admins may name another user of their tenant; everyone else changes their own password.
    pub account: Option<String>,
    pub current_password: Option<String>,
    pub new_password: String,
}

pub async fn change_password(
    deps: &Deps,
    caller: &Claims,
    req: ChangePasswordRequest,
) -> AppResult<()> {
    validate_password(&req.new_password)?;
    let account = req.account.unwrap_or_else(|| caller.sub.clone());
    let user = users::get(&deps.table, &account)
        .await?
        .filter(|u| u.tenant == caller.tenant);
    let user = user.ok_or_else(|| AppError::NotFound(format!("account {account}")))?;
    let own = user.account == caller.sub;
    if !own && caller.role != Role::Admin {
        return Err(AppError::NotFound(format!("account {account}")));
    }
    if own {
        let current = req
            .current_password
            .ok_or_else(|| AppError::BadRequest("currentPassword is required".into()))?;
        if !password_matches(&current, &user.password_hash) {
            return Err(AppError::Unauthenticated(
                "current password is wrong".into(),
            ));
        }
    }
    if !users::set_password(
        &deps.table,
        &user.account,
        &user.password_hash,
        &hash_password(&req.new_password)?,
        now_secs(),
    )
    .await?
    {
        return Err(AppError::Conflict(
            "the password changed meanwhile; try again".into(),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountRequest {
    pub account: String,
    /// For `/user/role` only.
    pub role: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct UserChange {
    pub account: String,
    pub disabled: Option<bool>,
    pub role: Option<String>,
    pub sessions_ended: bool,
}

/// The admin's own account cannot be disabled or demoted by themselves: a tenant must keep an admin.
fn not_self(admin: &Claims, account: &str) -> AppResult<()> {
    if admin.sub == account {
        return Err(AppError::Conflict(
            "admins cannot disable or change the role of their own account".into(),
        ));
    }
    Ok(())
}

/// `POST /user/disable` and `/user/enable` (admin, own tenant). Disabling ends the user's sessions.
pub async fn set_disabled(
    deps: &Deps,
    admin: &Claims,
    req: AccountRequest,
    disabled: bool,
) -> AppResult<UserChange> {
    validate_account(&req.account)?;
    if req.role.is_some() {
        return Err(AppError::BadRequest(
            "role is not a field of this route".into(),
        ));
    }
    not_self(admin, &req.account)?;
    if !users::set_disabled(
        &deps.table,
        &admin.tenant,
        &req.account,
        disabled,
        now_secs(),
    )
    .await?
    {
        return Err(AppError::NotFound(format!("account {}", req.account)));
    }
    Ok(UserChange {
        account: req.account,
        disabled: Some(disabled),
        role: None,
        sessions_ended: disabled,
    })
}

/// `POST /user/role` (admin, own tenant): the new role applies from the user's next login.
pub async fn set_role(deps: &Deps, admin: &Claims, req: AccountRequest) -> AppResult<UserChange> {
    validate_account(&req.account)?;
    let role = req
        .role
        .ok_or_else(|| AppError::BadRequest("role is required".into()))?;
    parse_role(&role)?;
    not_self(admin, &req.account)?;
    if !users::set_role(&deps.table, &admin.tenant, &req.account, &role, now_secs()).await? {
        return Err(AppError::NotFound(format!("account {}", req.account)));
    }
    Ok(UserChange {
        account: req.account,
        disabled: None,
        role: Some(role),
        sessions_ended: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &a));
        assert!(!password_matches("wrong horse battery", &a));
        assert!(!password_matches("anything", "not a hash"));
    }

    #[test]
    fn account_and_password_rules() {
        assert!(validate_account("dev@shop.example").is_ok());
        assert!(validate_account("a b").is_err());
        assert!(validate_account("ab").is_err());
        assert!(validate_account(&"a".repeat(65)).is_err());
        assert!(validate_account("tab\there").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pw").is_ok());
        assert!(parse_role("operator").is_ok());
        assert!(parse_role("root").is_err());
    }
}
