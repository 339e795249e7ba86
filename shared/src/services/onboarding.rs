//! Self-service accounts: a provider signs up a tenant with its first admin, and admins invite staff and merchants
//! with single-use codes that fix the role and the components. No e-mail is involved: the admin hands the code over.
//!
//! Both public routes are braked per source address (`store::login_attempts`): sign-ups count every attempt that
//! reaches the store (`signups_per_source` an hour), invitation acceptances every code that was not valid.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::error::{AppError, AppResult};
use crate::services::accounts::{
    check_components, hash_password, parse_role, validate_account, validate_password, UserView,
    ATTEMPT_WINDOW_MS,
};
use crate::store::login_attempts::{self, Reservation};
use crate::store::tenants::{self, Invitation, Tenant};
use crate::store::users::User;

const SIGNUP_WINDOW_MS: i64 = 3600 * 1000;
const MAX_TENANT_NAME: usize = 64;
/// Invitations are valid a week unless the admin says otherwise; at most 30 days.
const DEFAULT_INVITE_HOURS: i64 = 7 * 24;
const MAX_INVITE_HOURS: i64 = 30 * 24;
/// 16 random bytes, hex.
const CODE_LEN: usize = 32;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupRequest {
    /// The provider's name as its staff will see it.
    pub name: String,
    pub account: String,
    pub password: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SignedUp {
    pub tenant: String,
    pub name: String,
    pub admin: UserView,
}

fn validate_name(name: &str) -> AppResult<()> {
    crate::domain::ids::check_name("name", name, MAX_TENANT_NAME)
}

/// Takes one slot of `scope`'s brake or answers 429 with when to try again.
async fn brake(deps: &Deps, scope: &str, slots: usize, window_ms: i64) -> AppResult<(usize, i64)> {
    match login_attempts::reserve(&deps.table, scope, slots, window_ms, now_millis()).await? {
        Reservation::Granted { slot, at_ms } => Ok((slot, at_ms)),
        Reservation::Refused { retry_after_secs } => {
            Err(AppError::TooManyAttempts(retry_after_secs))
        }
    }
}

/// `POST /tenant/signup`: a new tenant and its first admin, in one transaction.
pub async fn signup(deps: &Deps, req: SignupRequest, source: &str) -> AppResult<SignedUp> {
    if !deps.config.signup_open {
        return Err(AppError::Forbidden(
            "sign-up is closed on this platform; ask its operator for a tenant".into(),
        ));
    }
    validate_name(&req.name)?;
    validate_account(&req.account)?;
    validate_password(&req.password)?;
    brake(
        deps,
        &format!("signup#src#{source}"),
        deps.config.signups_per_source,
        SIGNUP_WINDOW_MS,
    )
    .await?;
    let now = now_secs();
    let tenant = Tenant {
        id: format!("t{}", crate::random::hex(10)),
        name: req.name.trim().to_owned(),
        created_by: req.account.clone(),
        created_at: now,
    };
    let admin = User {
        account: req.account,
        tenant: tenant.id.clone(),
        role: "admin".into(),
        components: vec![],
        password_hash: hash_password(&req.password)?,
        disabled: false,
        sessions_valid_after: 0,
        created_at: now,
    };
    if !tenants::create_with_admin(&deps.table, &tenant, &admin).await? {
        // The tenant id is 80 random bits: the account name is what was taken.
        return Err(AppError::Conflict(format!(
            "account {} already exists",
            admin.account
        )));
    }
    tracing::info!(tenant = %tenant.id, account = %admin.account, "tenant signed up");
    Ok(SignedUp {
        tenant: tenant.id,
        name: tenant.name,
        admin: admin.into(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteRequest {
    pub role: String,
    #[serde(default)]
    pub components: Vec<String>,
    /// How long the code is valid (hours, 1 to 720; default a week).
    pub valid_hours: Option<i64>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Invited {
    /// Shown once: only its hash is stored.
    pub code: String,
    pub tenant: String,
    pub role: String,
    pub components: Vec<String>,
    pub expires_at: i64,
}

fn code_hash(code: &str) -> String {
    crate::domain::ids::hex_lower(&Sha256::digest(code.as_bytes()))
}

/// `POST /invite/create` (admin): a single-use code for one account of the given role and components.
pub async fn invite(deps: &Deps, admin: &Claims, req: InviteRequest) -> AppResult<Invited> {
    parse_role(&req.role)?;
    let hours = req.valid_hours.unwrap_or(DEFAULT_INVITE_HOURS);
    if !(1..=MAX_INVITE_HOURS).contains(&hours) {
        return Err(AppError::BadRequest(format!(
            "validHours must be 1 to {MAX_INVITE_HOURS}"
        )));
    }
    check_components(deps, &admin.tenant, &req.components).await?;
    let code = crate::random::hex(CODE_LEN / 2);
    let invitation = Invitation {
        hash: code_hash(&code),
        tenant: admin.tenant.clone(),
        role: req.role,
        components: req.components,
        created_by: admin.sub.clone(),
        created_ms: now_millis(),
        expires_at: now_secs() + hours * 3600,
        used_by: None,
        used_at: None,
        revoked_at: None,
    };
    if !tenants::put_invitation(&deps.table, &invitation).await? {
        return Err(AppError::Conflict(
            "an invitation with this code exists; ask again".into(),
        ));
    }
    tracing::info!(role = %invitation.role, expires_at = invitation.expires_at, "invitation created");
    Ok(Invited {
        code,
        tenant: invitation.tenant,
        role: invitation.role,
        components: invitation.components,
        expires_at: invitation.expires_at,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptRequest {
    pub code: String,
    pub account: String,
    pub password: String,
}

fn not_valid() -> AppError {
    AppError::NotFound("invitation code (unknown, used or expired)".into())
}

/// `POST /invite/accept` (public): creates the invited account and uses the code up, in one transaction.
pub async fn accept(deps: &Deps, req: AcceptRequest, source: &str) -> AppResult<UserView> {
    let well_formed = req.code.len() == CODE_LEN
        && req
            .code
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed {
        return Err(AppError::BadRequest(format!(
            "code must be the {CODE_LEN} lowercase hexadecimal digits of the invitation"
        )));
    }
    validate_account(&req.account)?;
    validate_password(&req.password)?;
    let scope = format!("invite#src#{source}");
    let slot = brake(
        deps,
        &scope,
        deps.config.login_attempts_per_source,
        ATTEMPT_WINDOW_MS,
    )
    .await?;
    let hash = code_hash(&req.code);
    let now = now_secs();
    let invitation = tenants::get_invitation(&deps.table, &hash)
        .await?
        .filter(|i| i.used_at.is_none() && i.expires_at > now)
        .ok_or_else(not_valid)?;
    // A valid code is not a guess: its slot is given back whatever happens next.
    login_attempts::release(&deps.table, &scope, slot.0, slot.1).await?;
    let user = User {
        account: req.account,
        tenant: invitation.tenant.clone(),
        role: invitation.role.clone(),
        components: invitation.components.clone(),
        password_hash: hash_password(&req.password)?,
        disabled: false,
        sessions_valid_after: 0,
        created_at: now,
    };
    if !tenants::accept_invitation(&deps.table, &hash, &user, now).await? {
        let code_still_good = tenants::get_invitation(&deps.table, &hash)
            .await?
            .is_some_and(|i| i.used_at.is_none() && i.expires_at > now_secs());
        return Err(if code_still_good {
            AppError::Conflict(format!("account {} already exists", user.account))
        } else {
            not_valid()
        });
    }
    tracing::info!(tenant = %user.tenant, account = %user.account, role = %user.role, "invitation accepted");
    Ok(user.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_stored_as_its_sha256() {
        assert_eq!(
            code_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tenant_names_are_short_printable_text() {
        assert!(validate_name("Ivy Shops 常青").is_ok());
        assert!(validate_name("   ").is_err());
        assert!(validate_name("a\u{0}b").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }
}

/// An invitation as its tenant's admins see it: never the code, only its hash as the id.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub role: String,
    pub components: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// `open`, `used`, `revoked` or `expired`.
    pub state: &'static str,
    pub used_by: Option<String>,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn invitation_view(i: tenants::Invitation, now: i64) -> InvitationView {
    let state = match (&i.used_at, &i.revoked_at) {
        (Some(_), _) => "used",
        (None, Some(_)) => "revoked",
        (None, None) if i.expires_at <= now => "expired",
        _ => "open",
    };
    InvitationView {
        id: i.hash,
        role: i.role,
        components: i.components,
        created_by: i.created_by,
        created_at: i.created_ms / 1000,
        expires_at: i.expires_at,
        state,
        used_by: i.used_by,
        used_at: i.used_at,
        revoked_at: i.revoked_at,
    }
}

/// `GET /invite/list`: the tenant's invitations, newest first.
pub async fn invitations(
    deps: &Deps,
    admin: &Claims,
    limit: i32,
    cursor: Option<&str>,
) -> AppResult<(Vec<InvitationView>, Option<String>)> {
    let (items, next) =
        tenants::list_invitations(&deps.table, &admin.tenant, limit, cursor).await?;
    let now = now_secs();
    Ok((
        items.into_iter().map(|i| invitation_view(i, now)).collect(),
        next,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeRequest {
    pub id: String,
}

/// `POST /invite/revoke`: an open invitation of the admin's tenant can no longer be accepted.
pub async fn revoke(deps: &Deps, admin: &Claims, req: RevokeRequest) -> AppResult<InvitationView> {
    if req.id.len() != 64 || !req.id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest(
            "id must be an invitation id from /invite/list".into(),
        ));
    }
    let now = now_secs();
    let mine = tenants::get_invitation(&deps.table, &req.id)
        .await?
        .filter(|i| i.tenant == admin.tenant)
        .ok_or_else(|| AppError::NotFound(format!("invitation {}", req.id)))?;
    if !tenants::revoke_invitation(&deps.table, &admin.tenant, &req.id, now).await? {
        let state = invitation_view(mine.clone(), now).state;
        return Err(AppError::Conflict(format!(
            "the invitation is {state}: only an open one can be revoked"
        )));
    }
    tracing::info!(role = %mine.role, "invitation revoked");
    let now_record = tenants::get_invitation(&deps.table, &req.id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("invitation {}", req.id)))?;
    Ok(invitation_view(now_record, now))
}
