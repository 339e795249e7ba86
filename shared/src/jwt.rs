//! Signed tokens (HS256 JWTs): bearer tokens of the API and the `state` of authorization links.
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::identity::Claims;
use crate::error::AppError;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length")
}

/// What a token's claims say of its validity window.
pub trait Validity {
    fn exp(&self) -> i64;
    fn nbf(&self) -> Option<i64> {
        None
    }
}

impl Validity for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
    fn nbf(&self) -> Option<i64> {
        self.nbf
    }
}

pub fn sign(claims: &impl serde::Serialize, key: &[u8]) -> String {
    let head = B64URL.encode(HEADER);
    let body = B64URL.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let signing_input = format!("{head}.{body}");
    let mut m = mac(key);
    m.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        B64URL.encode(m.finalize().into_bytes())
    )
}

pub fn verify(token: &str, key: &[u8], now: i64) -> Result<Claims, AppError> {
    verify_as(token, key, now)
}

/// Verifies a token whose claims are `C` (the API's staff tokens are `Claims`).
pub fn verify_as<C: serde::de::DeserializeOwned + Validity>(
    token: &str,
    key: &[u8],
    now: i64,
) -> Result<C, AppError> {
    let bad = |why: &str| AppError::Unauthenticated(format!("invalid bearer token: {why}"));
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a JWT"));
    };
    let header: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(head).map_err(|_| bad("header"))?)
            .map_err(|_| bad("header"))?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(bad("algorithm must be HS256"));
    }
    let sig = B64URL.decode(sig).map_err(|_| bad("signature"))?;
    let mut m = mac(key);
    m.update(head.as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    m.verify_slice(&sig).map_err(|_| bad("signature"))?; // constant time
    let claims: C = serde_json::from_slice(&B64URL.decode(body).map_err(|_| bad("claims"))?)
        .map_err(|_| bad("claims"))?;
    if claims.exp() <= now {
        return Err(bad("expired"));
    }
    if claims.nbf().is_some_and(|nbf| nbf > now) {
        return Err(bad("not valid yet"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::Role;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "u1".into(),
            role: Role::Admin,
            tenant: "t1".into(),
            component: None,
            iat: 0,
            nbf: None,
            exp,
        }
    }

    #[test]
    fn round_trip() {
        let key = b"0123456789abcdef0123456789abcdef";
        let token = sign(&claims(100), key);
        assert_eq!(verify(&token, key, 50).unwrap(), claims(100));
    }

    #[test]
    fn a_token_is_refused_before_its_nbf() {
        let key = b"0123456789abcdef0123456789abcdef";
        let early = Claims {
            nbf: Some(60),
            ..claims(100)
        };
        let token = sign(&early, key);
        assert!(verify(&token, key, 59).is_err());
        assert_eq!(verify(&token, key, 60).unwrap(), early);
    }

    #[test]
    fn rejects_wrong_key_expired_tampered_and_alg_none() {
        let key = b"0123456789abcdef0123456789abcdef";
        let token = sign(&claims(100), key);
        assert!(verify(&token, b"another key another key another!", 50).is_err());
        assert!(verify(&token, key, 100).is_err());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64URL.encode(
            serde_json::to_vec(&Claims {
                tenant: "t2".into(),
                ..claims(100)
            })
            .unwrap(),
        );
        parts[1] = &forged;
        assert!(verify(&parts.join("."), key, 50).is_err());
        let none_head = B64URL.encode(r#"{"alg":"none"}"#);
        let unsigned = format!("{none_head}.{}.", token.split('.').nth(1).unwrap());
        assert!(verify(&unsigned, key, 50).is_err());
        assert!(verify("garbage", key, 50).is_err());
    }
}

/// Key for the `state` of authorization links: derived, so a state can never pass as a bearer token.
pub fn state_key(jwt_key: &[u8]) -> Vec<u8> {
    [jwt_key, b"|authorization-state"].concat()
}

#[cfg(test)]
mod state_tests {
    use super::*;
    use crate::domain::identity::Role;

    #[test]
    fn a_state_is_not_a_bearer_token_and_vice_versa() {
        let key = b"0123456789abcdef0123456789abcdef";
        let claims = Claims {
            sub: "m".into(),
            role: Role::Merchant,
            tenant: "t".into(),
            component: None,
            iat: 0,
            nbf: None,
            exp: 100,
        };
        let state = sign(&claims, &state_key(key));
        assert!(verify(&state, key, 1).is_err());
        assert!(verify(&sign(&claims, key), &state_key(key), 1).is_err());
        assert_eq!(verify(&state, &state_key(key), 1).unwrap(), claims);
    }
}
