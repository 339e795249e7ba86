//! Who is calling: the four roles and the claims a bearer token carries. Pure: no I/O.
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Developer,
    Operator,
    Merchant,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub tenant: String,
    /// The component (third-party platform appid) the caller works in; admins may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Issued at (seconds): sessions issued before a password, role or status change are over.
    pub iat: i64,
    /// Not before (seconds), checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
}

impl Claims {
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), AppError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                format!("role {:?} may not call this route", self.role).to_lowercase(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_check() {
        let c = Claims {
            sub: "u1".into(),
            role: Role::Admin,
            tenant: "t1".into(),
            component: None,
            iat: 0,
            nbf: None,
            exp: 1,
        };
        assert!(c.require_role(&[Role::Admin]).is_ok());
        assert!(matches!(
            c.require_role(&[Role::Merchant]),
            Err(AppError::Forbidden(_))
        ));
    }
}
