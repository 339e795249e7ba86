//! The legacy `encryptedData` a mini-program gets from WeChat (user info, phone number): AES-128-CBC under the
//! user's session key with the `iv` given beside it, PKCS#7 padded, JSON inside whose `watermark.appid` must be the
//! mini-program's own.
use aes::cipher::{block_padding::NoPadding, BlockModeDecrypt, KeyIvInit};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;

type Decryptor = cbc::Decryptor<aes::Aes128>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserDataError {
    #[error("sessionKey, iv or encryptedData is not Base64 of the right length")]
    Encoding,
    #[error(
        "the data does not decrypt with this customer's session key (log in again and ask anew)"
    )]
    Undecryptable,
    #[error("the data was made for another mini-program")]
    WrongApp,
}

/// Decrypts `encrypted` (Base64) with `session_key` and `iv` (Base64, 16 bytes each) and checks its watermark.
pub fn decrypt(
    session_key: &str,
    iv: &str,
    encrypted: &str,
    appid: &str,
) -> Result<Value, UserDataError> {
    let key: [u8; 16] = B64
        .decode(session_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or(UserDataError::Encoding)?;
    let iv: [u8; 16] = B64
        .decode(iv)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(UserDataError::Encoding)?;
    let mut buf = B64.decode(encrypted).map_err(|_| UserDataError::Encoding)?;
    if buf.is_empty() || buf.len() % 16 != 0 {
        return Err(UserDataError::Encoding);
    }
    let plain = Decryptor::new(&key.into(), &iv.into())
        .decrypt_padded::<NoPadding>(&mut buf)
        .map_err(|_| UserDataError::Undecryptable)?;
    let pad = *plain.last().ok_or(UserDataError::Undecryptable)? as usize;
    if pad == 0
        || pad > 16
        || plain[plain.len() - pad..]
            .iter()
            .any(|&b| b as usize != pad)
    {
        return Err(UserDataError::Undecryptable);
    }
    let data: Value = serde_json::from_slice(&plain[..plain.len() - pad])
        .map_err(|_| UserDataError::Undecryptable)?;
    if data["watermark"]["appid"].as_str() != Some(appid) {
        return Err(UserDataError::WrongApp);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference's vector V7 (WeChat's own demo).
    const APPID: &str = "wx4f4bc4dec97d474b";
    const KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
    const IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
    const DATA: &str = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";

    #[test]
    fn wechats_demo_decrypts_to_its_user() {
        let data = decrypt(KEY, IV, DATA, APPID).unwrap();
        assert_eq!(data["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
        assert_eq!(data["nickName"], "Band");
        assert_eq!(data["unionId"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
        assert_eq!(data["watermark"]["timestamp"], 1477314187);
    }

    #[test]
    fn another_app_a_flipped_byte_another_key_or_bad_base64_is_refused() {
        assert_eq!(
            decrypt(KEY, IV, DATA, "wx0000000000000000"),
            Err(UserDataError::WrongApp)
        );
        let mut bytes = B64.decode(DATA).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            decrypt(KEY, IV, &B64.encode(&bytes), APPID),
            Err(UserDataError::Undecryptable)
        );
        assert_eq!(
            decrypt("AAAAAAAAAAAAAAAAAAAAAA==", IV, DATA, APPID),
            Err(UserDataError::Undecryptable)
        );
        assert_eq!(
            decrypt(KEY, IV, "not base64!", APPID),
            Err(UserDataError::Encoding)
        );
        assert_eq!(
            decrypt(KEY, "AAAA", DATA, APPID),
            Err(UserDataError::Encoding)
        );
        assert_eq!(
            decrypt(KEY, IV, "AAAA", APPID),
            Err(UserDataError::Encoding)
        );
    }
}
