//! Ids that clients send (appids, template ids, page keys, cursors) are checked before they reach a key:
//! a malformed one is a 400 `INVALID_ID`, never a DynamoDB validation error. Pure: no I/O.
use crate::error::AppError;

/// Longest id accepted: WeChat appids are 18 characters, Alipay's 16, ours under 40.
pub const MAX_ID: usize = 64;
/// Cursors are base64url of a sort key.
pub const MAX_CURSOR: usize = 1024;

/// An appid (`wx…`, Alipay digits) or one of our ids: 1 to 64 letters, digits, `_` or `-`.
pub fn check(name: &str, value: &str) -> Result<(), AppError> {
    let ok = (1..=MAX_ID).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or_else(|| {
        AppError::InvalidId(format!(
            "{name} must be 1 to {MAX_ID} letters, digits, '_' or '-'"
        ))
    })
}

/// A name people give (a tenant, a shop): 1 to `max` characters, not only spaces, no control characters.
pub fn check_name(what: &str, name: &str, max: usize) -> Result<(), AppError> {
    if name.trim().is_empty() || name.chars().count() > max || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "{what} must be 1 to {max} characters, without control characters"
        )));
    }
    Ok(())
}

/// Bytes as lowercase hexadecimal: how hashes and random tokens are spelled in keys and signatures.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// A pagination cursor as we hand them out: base64url, bounded.
pub fn check_cursor(value: &str) -> Result<(), AppError> {
    let ok = (1..=MAX_CURSOR).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(())
        .ok_or_else(|| AppError::InvalidId("cursor is not one this API returned".into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_are_spelled_as_two_lowercase_hex_digits_each() {
        assert_eq!(super::hex_lower(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::hex_lower(&[]), "");
    }

    use super::*;

    #[test]
    fn ids_are_bounded_and_plain() {
        assert!(check("maAppId", "wx1234567890abcdef").is_ok());
        assert!(check("templateId", "it_c85d3b1d086bc490").is_ok());
        assert!(check("maAppId", "").is_err());
        assert!(check("maAppId", &"w".repeat(65)).is_err());
        assert!(check("maAppId", "wx123#SK").is_err());
        assert!(check("maAppId", "wx 1").is_err());
        assert!(matches!(
            check("maAppId", "a/b"),
            Err(AppError::InvalidId(_))
        ));
        assert!(check_cursor("VVQjd3gxMjM").is_ok());
        assert!(check_cursor("not base64!").is_err());
        assert!(check_cursor(&"A".repeat(1025)).is_err());
    }
}
