//! WeChat message crypto (WXBizMsgCrypt): signatures, AES-256-CBC with 32-byte PKCS#7, receive-id check.
//!
//! Plaintext layout: `random(16) || u32_be(len(msg)) || msg || receive_id`.
//! Every length is checked before use, so hostile ciphertext is an error, never a panic or a large allocation.

use aes::cipher::{block_padding::NoPadding, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// WeChat pads to 32 bytes, not to the AES block size.
const PAD_BLOCK: usize = 32;
const RANDOM_PREFIX: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("EncodingAESKey must be 43 base64 characters decoding to 32 bytes")]
    InvalidKey,
    #[error("signature does not match")]
    BadSignature,
    #[error("ciphertext is not valid base64")]
    NotBase64,
    #[error("ciphertext length is not a positive multiple of 16")]
    BadLength,
    #[error("padding is invalid")]
    BadPadding,
    #[error("message length field exceeds the decrypted data")]
    BadMessageLength,
    #[error("message is not UTF-8")]
    NotUtf8,
    #[error("message is addressed to another app id")]
    WrongReceiver,
}

/// The per-component crypto context: Token, EncodingAESKey and the receive id (the component appid).
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for MsgCrypt {
    // Never print the token or key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

/// Decodes a 43-character EncodingAESKey into the 32-byte AES key.
pub fn decode_aes_key(encoding_aes_key: &str) -> Result<[u8; 32], CryptoError> {
    if encoding_aes_key.len() != 43 || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(CryptoError::InvalidKey);
    }
    // Real keys end in a character whose low bits are not zero, so trailing bits must be allowed.
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let bytes = lenient
        .decode(format!("{encoding_aes_key}="))
        .map_err(|_| CryptoError::InvalidKey)?;
    bytes.try_into().map_err(|_| CryptoError::InvalidKey)
}

/// `hex(sha1(concat(sorted(parts))))`, the signature WeChat puts in `msg_signature` / `signature`.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted: Vec<&str> = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    crate::domain::ids::hex_lower(&hasher.finalize())
}

/// Constant-time comparison of an expected signature with the one received (case-insensitive hex).
fn signatures_match(expected: &str, received: &str) -> bool {
    let received = received.to_ascii_lowercase();
    expected.as_bytes().ct_eq(received.as_bytes()).into()
}

impl MsgCrypt {
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, CryptoError> {
        Ok(Self {
            token: token.to_owned(),
            key: decode_aes_key(encoding_aes_key)?,
            receive_id: receive_id.to_owned(),
        })
    }

    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// Checks `msg_signature` over (token, timestamp, nonce, encrypted).
    pub fn verify_msg_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypted: &str,
    ) -> Result<(), CryptoError> {
        let expected = signature(&[&self.token, timestamp, nonce, encrypted]);
        signatures_match(&expected, msg_signature)
            .then_some(())
            .ok_or(CryptoError::BadSignature)
    }

    /// Checks the plain URL `signature` over (token, timestamp, nonce).
    pub fn verify_url_signature(
        &self,
        signature_hex: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<(), CryptoError> {
        let expected = signature(&[&self.token, timestamp, nonce]);
        signatures_match(&expected, signature_hex)
            .then_some(())
            .ok_or(CryptoError::BadSignature)
    }

    pub fn msg_signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        signature(&[&self.token, timestamp, nonce, encrypted])
    }

    /// Verifies and decrypts one pushed `Encrypt` value.
    pub fn verify_and_decrypt(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypted: &str,
    ) -> Result<String, CryptoError> {
        self.verify_msg_signature(msg_signature, timestamp, nonce, encrypted)?;
        self.decrypt(encrypted)
    }

    /// Decrypts a base64 ciphertext and checks that it is addressed to this receive id.
    pub fn decrypt(&self, encrypted: &str) -> Result<String, CryptoError> {
        let mut buf = B64
            .decode(encrypted.trim())
            .map_err(|_| CryptoError::NotBase64)?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CryptoError::BadLength);
        }
        let iv: [u8; 16] = self.key[..16].try_into().expect("key is 32 bytes");
        let plain = Decryptor::new(&self.key.into(), &iv.into())
            .decrypt_padded::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::BadLength)?;
        let pad = *plain.last().ok_or(CryptoError::BadPadding)? as usize;
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::BadPadding);
        }
        let content = &plain[..plain.len() - pad];
        let body = content
            .get(RANDOM_PREFIX..)
            .ok_or(CryptoError::BadMessageLength)?;
        let len_bytes: [u8; 4] = body
            .get(..4)
            .ok_or(CryptoError::BadMessageLength)?
            .try_into()
            .expect("4 bytes");
        let msg_len = u32::from_be_bytes(len_bytes) as usize;
        let rest = &body[4..];
        if msg_len > rest.len() {
            return Err(CryptoError::BadMessageLength);
        }
        let (msg, receive_id) = rest.split_at(msg_len);
        if receive_id != self.receive_id.as_bytes() {
            return Err(CryptoError::WrongReceiver);
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::NotUtf8)
    }

    /// Encrypts with a fresh random prefix.
    pub fn encrypt(&self, msg: &str) -> String {
        let mut random = [0u8; RANDOM_PREFIX];
        rand::fill(&mut random);
        self.encrypt_with_random(msg, &random)
    }

    /// Encrypts with a caller-chosen random prefix (deterministic; used by test vectors).
    pub fn encrypt_with_random(&self, msg: &str, random: &[u8; RANDOM_PREFIX]) -> String {
        let msg_len = u32::try_from(msg.len()).expect("message shorter than 4 GiB");
        let mut plain =
            Vec::with_capacity(RANDOM_PREFIX + 4 + msg.len() + self.receive_id.len() + PAD_BLOCK);
        plain.extend_from_slice(random);
        plain.extend_from_slice(&msg_len.to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.resize(plain.len() + pad, pad as u8);
        let iv: [u8; 16] = self.key[..16].try_into().expect("key is 32 bytes");
        let len = plain.len();
        let cipher = Encryptor::new(&self.key.into(), &iv.into())
            .encrypt_padded::<NoPadding>(&mut plain, len)
            .expect("length is a multiple of the block size");
        B64.encode(cipher)
    }

    /// Answers WeChat's GET URL check. With `msg_signature` the echostr is encrypted and its plaintext is returned;
    /// otherwise `signature` covers (token, timestamp, nonce) and the echostr is returned as is.
    pub fn verify_url(&self, query: &UrlCheck<'_>) -> Result<String, CryptoError> {
        match (query.msg_signature, query.signature) {
            (Some(msg_sig), _) => {
                self.verify_and_decrypt(msg_sig, query.timestamp, query.nonce, query.echostr)
            }
            (None, Some(sig)) => {
                self.verify_url_signature(sig, query.timestamp, query.nonce)?;
                Ok(query.echostr.to_owned())
            }
            (None, None) => Err(CryptoError::BadSignature),
        }
    }
}

/// Query parameters of WeChat's GET URL check.
pub struct UrlCheck<'a> {
    pub signature: Option<&'a str>,
    pub msg_signature: Option<&'a str>,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub echostr: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY_ABC: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn vector_a_deterministic_encryption() {
        let c = MsgCrypt::new("pamtest", KEY_ABC, "wxb11529c136998cb6").unwrap();
        let enc = c.encrypt_with_random("我是中文abcd123", b"aaaabbbbccccdddd");
        assert_eq!(enc, "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==");
        assert_eq!(
            c.msg_signature("1409304348", "xxxxxx", &enc),
            "82c962d39941aa48552f90ef55aa323dc620cc10"
        );
        assert_eq!(c.decrypt(&enc).unwrap(), "我是中文abcd123");
    }

    const B_ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    fn vector_b() -> MsgCrypt {
        MsgCrypt::new("spamtest", KEY_ABC, "wx2c2769f8efd9abc2").unwrap()
    }

    #[test]
    fn vector_b_verify_and_decrypt() {
        let plain = vector_b()
            .verify_and_decrypt(
                "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
                "1409735669",
                "1320562132",
                B_ENCRYPT,
            )
            .unwrap();
        assert_eq!(
            plain,
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
        );
    }

    #[test]
    fn uppercase_signature_is_accepted() {
        let sig = "5D197AAFFBA7E9B25A30732F161A50DEE96BD5FA";
        assert!(vector_b()
            .verify_msg_signature(sig, "1409735669", "1320562132", B_ENCRYPT)
            .is_ok());
    }

    fn vector_c() -> MsgCrypt {
        MsgCrypt::new(
            "123456",
            "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
            "wx49f0ab532d5d035a",
        )
        .unwrap()
    }

    #[test]
    fn vector_c_url_verification() {
        let echostr = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
        let check = UrlCheck {
            signature: None,
            msg_signature: Some("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"),
            timestamp: "1411443780",
            nonce: "437374425",
            echostr,
        };
        assert_eq!(
            vector_c().verify_url(&check).unwrap(),
            "5927782489442352469"
        );
    }

    const C_ENCRYPT: &str = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";

    #[test]
    fn vector_c_decrypt_pad_one() {
        let plain = vector_c()
            .verify_and_decrypt(
                "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
                "1411525903",
                "461056294",
                C_ENCRYPT,
            )
            .unwrap();
        assert!(plain.starts_with("<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"));
        assert!(plain.ends_with("<AgentID>1</AgentID>\n</xml>"));
    }

    #[test]
    fn plain_url_signature_check_returns_echostr() {
        let c = vector_c();
        let sig = signature(&["123456", "1", "2"]);
        let check = UrlCheck {
            signature: Some(&sig),
            msg_signature: None,
            timestamp: "1",
            nonce: "2",
            echostr: "e",
        };
        assert_eq!(c.verify_url(&check).unwrap(), "e");
        let bad = UrlCheck {
            signature: Some("00"),
            ..check
        };
        assert_eq!(c.verify_url(&bad), Err(CryptoError::BadSignature));
    }

    #[test]
    fn flipped_signature_character_is_rejected() {
        let mut sig = "5d197aaffba7e9b25a30732f161a50dee96bd5fa".to_string();
        sig.replace_range(0..1, "6");
        assert_eq!(
            vector_b().verify_and_decrypt(&sig, "1409735669", "1320562132", B_ENCRYPT),
            Err(CryptoError::BadSignature)
        );
        // A signature of another length is rejected too.
        assert_eq!(
            vector_b().verify_msg_signature("5d19", "1409735669", "1320562132", B_ENCRYPT),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn wrong_key_is_a_clean_error() {
        let other = MsgCrypt::new(
            "spamtest",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg",
            "wx2c2769f8efd9abc2",
        )
        .unwrap();
        let err = other.decrypt(B_ENCRYPT).unwrap_err();
        assert!(matches!(
            err,
            CryptoError::BadPadding
                | CryptoError::BadMessageLength
                | CryptoError::WrongReceiver
                | CryptoError::NotUtf8
        ));
    }

    #[test]
    fn wrong_receive_id_is_rejected() {
        let c = MsgCrypt::new("spamtest", KEY_ABC, "wx0000000000000000").unwrap();
        assert_eq!(c.decrypt(B_ENCRYPT), Err(CryptoError::WrongReceiver));
    }

    #[test]
    fn ciphertext_not_a_multiple_of_16_is_rejected() {
        let short = B64.encode([0u8; 15]);
        assert_eq!(vector_b().decrypt(&short), Err(CryptoError::BadLength));
        assert_eq!(vector_b().decrypt(""), Err(CryptoError::BadLength));
    }

    #[test]
    fn non_base64_is_rejected() {
        assert_eq!(
            vector_b().decrypt("not base64 !!"),
            Err(CryptoError::NotBase64)
        );
    }

    /// Encrypts raw plaintext bytes (no framing) so each malformed layout can be tested.
    fn encrypt_raw(c: &MsgCrypt, plain: &[u8]) -> String {
        let mut buf = plain.to_vec();
        let len = buf.len();
        let iv: [u8; 16] = c.key[..16].try_into().unwrap();
        let out = Encryptor::new(&c.key.into(), &iv.into())
            .encrypt_padded::<NoPadding>(&mut buf, len)
            .unwrap();
        B64.encode(out)
    }

    #[test]
    fn pad_byte_zero_or_above_32_is_rejected() {
        let c = vector_b();
        let mut zero = vec![1u8; 64];
        zero[63] = 0;
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &zero)),
            Err(CryptoError::BadPadding)
        );
        let mut big = vec![1u8; 64];
        big[63] = 33;
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &big)),
            Err(CryptoError::BadPadding)
        );
    }

    #[test]
    fn length_field_larger_than_buffer_is_rejected_without_allocating() {
        let c = vector_b();
        let mut plain = vec![0u8; 64];
        plain[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        plain[63] = 4;
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)),
            Err(CryptoError::BadMessageLength)
        );
    }

    #[test]
    fn plaintext_shorter_than_header_is_rejected() {
        let c = vector_b();
        let mut plain = vec![0u8; 32];
        plain[31] = 20; // leaves 12 bytes: not even the random prefix
        assert_eq!(
            c.decrypt(&encrypt_raw(&c, &plain)),
            Err(CryptoError::BadMessageLength)
        );
    }

    #[test]
    fn invalid_keys_are_rejected() {
        assert_eq!(
            decode_aes_key("short").unwrap_err(),
            CryptoError::InvalidKey
        );
        assert_eq!(
            decode_aes_key(&"a".repeat(44)).unwrap_err(),
            CryptoError::InvalidKey
        );
        assert_eq!(
            decode_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF+").unwrap_err(),
            CryptoError::InvalidKey
        );
    }

    #[test]
    fn debug_output_hides_token_and_key() {
        let text = format!("{:?}", vector_b());
        assert!(!text.contains("spamtest"));
        assert!(text.contains("wx2c2769f8efd9abc2"));
    }

    proptest! {
        #[test]
        fn round_trip_over_random_keys_and_messages(
            key in "[A-Za-z0-9]{43}",
            token in "[A-Za-z0-9]{3,32}",
            appid in "wx[0-9a-f]{16}",
            msg in "\\PC{0,300}",
            ts in "[0-9]{10}",
            nonce in "[0-9]{1,10}",
        ) {
            let c = MsgCrypt::new(&token, &key, &appid).unwrap();
            let enc = c.encrypt(&msg);
            let sig = c.msg_signature(&ts, &nonce, &enc);
            prop_assert_eq!(c.verify_and_decrypt(&sig, &ts, &nonce, &enc).unwrap(), msg);
        }

        #[test]
        fn arbitrary_ciphertext_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = vector_b().decrypt(&B64.encode(&bytes));
        }
    }
}
