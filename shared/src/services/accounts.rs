//! Accounts: argon2 password hashes, login with a brute-force brake, user management within a tenant.
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::error::{AppError, AppResult};
use crate::http::auth::{sign, Claims, Role};
use crate::store::{components, users, users::User};

/// Failed logins allowed before the account is slowed down.
const FREE_ATTEMPTS: i64 = 5;
const FIRST_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 15 * 60;
const SESSION_SECS: i64 = 12 * 3600;
const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 128;

/// How long an account stays locked after its `failures`-th consecutive failure (0 while attempts are free).
pub fn lock_seconds(failures: i64) -> i64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(10) as u32;
    (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS)
}

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

fn validate_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(AppError::BadRequest(format!(
            "password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

fn validate_account(account: &str) -> AppResult<()> {
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

fn parse_role(role: &str) -> AppResult<Role> {
    serde_json::from_value(serde_json::Value::String(role.to_owned())).map_err(|_| {
        AppError::BadRequest("role must be developer, operator, merchant or admin".into())
    })
}

pub async fn login(deps: &Deps, req: LoginRequest) -> AppResult<LoginResponse> {
    let bad = || AppError::Unauthenticated("account or password is wrong".into());
    let now = now_secs();
    let Some(user) = users::get(&deps.table, &req.account).await? else {
        let _ = password_matches(&req.password, dummy_hash());
        return Err(bad());
    };
    if user.locked_until > now {
        return Err(AppError::TooManyAttempts(user.locked_until - now));
    }
    if !password_matches(&req.password, &user.password_hash) {
        let failures = user.failed_logins + 1;
        let lock = lock_seconds(failures);
        users::record_failed_login(
            &deps.table,
            &user.account,
            if lock > 0 { now + lock } else { 0 },
        )
        .await?;
        tracing::info!(account = %user.account, failures, "login refused");
        return Err(bad());
    }
    if user.failed_logins > 0 {
        users::reset_failed_logins(&deps.table, &user.account).await?;
    }
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
        iat: now,
        exp: now + SESSION_SECS,
    };
    let key = deps.jwt_key.as_deref().expect("login runs with Needs::Api");
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

/// An admin creates a user in the admin's own tenant, with components of that tenant only.
pub async fn create_user(
    deps: &Deps,
    admin: &Claims,
    req: CreateUserRequest,
) -> AppResult<UserView> {
    validate_account(&req.account)?;
    validate_password(&req.password)?;
    parse_role(&req.role)?;
    if req.components.len() > 20 {
        return Err(AppError::BadRequest(
            "a user can have at most 20 components".into(),
        ));
    }
    for appid in &req.components {
        let owned = components::get(&deps.table, appid)
            .await?
            .is_some_and(|c| c.tenant == admin.tenant);
        if !owned {
            return Err(AppError::NotFound(format!("component {appid}")));
        }
    }
    let user = User {
        account: req.account,
        tenant: admin.tenant.clone(),
        role: req.role,
        components: req.components,
        password_hash: hash_password(&req.password)?,
        failed_logins: 0,
        locked_until: 0,
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
    )
    .await?
    {
        return Err(AppError::Conflict(
            "the password changed meanwhile; try again".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_grows_after_free_attempts_and_is_capped() {
        assert_eq!(lock_seconds(1), 0);
        assert_eq!(lock_seconds(4), 0);
        assert_eq!(lock_seconds(5), 30);
        assert_eq!(lock_seconds(6), 60);
        assert_eq!(lock_seconds(8), 240);
        assert_eq!(lock_seconds(50), MAX_LOCK_SECS);
    }

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
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pw").is_ok());
        assert!(parse_role("operator").is_ok());
        assert!(parse_role("root").is_err());
    }
}
