//! SHA256withRSA (PKCS#1 v1.5, Base64) signatures with aws-lc's RSA, for both platforms: Alipay's RSA2 and WeChat
//! Pay's APIv3 sign with the same primitive over different strings (`alipay::sign`, `wechat_pay::sign`).
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the private key is not an RSA key (PKCS#8 or PKCS#1, PEM or Base64 DER) of 2048 bits or more")]
    BadPrivateKey,
    #[error("the public key is not an RSA public key (SPKI or PKCS#1, PEM or Base64 DER)")]
    BadPublicKey,
    #[error("the signature does not verify")]
    Mismatch,
    #[error("the answer is not signed JSON: {0}")]
    Unreadable(String),
}

/// DER bytes of a key given as PEM (any label) or as bare Base64.
pub fn der_of(text: &str) -> Option<Vec<u8>> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).ok().filter(|d| !d.is_empty())
}

/// Our application's private key: signs requests.
pub struct Signer {
    key: RsaKeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(RSA private key)")
    }
}

impl Signer {
    /// PKCS#8 (the Java SDK's form) or PKCS#1 (the Python SDK's).
    pub fn from_private_key(text: &str) -> Result<Self, SignError> {
        let der = der_of(text).ok_or(SignError::BadPrivateKey)?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .or_else(|_| RsaKeyPair::from_der(&der))
            .map_err(|_| SignError::BadPrivateKey)?;
        Ok(Signer { key })
    }

    /// Base64 of the SHA256withRSA signature of `content`'s UTF-8 bytes.
    pub fn sign(&self, content: &str) -> String {
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                content.as_bytes(),
                &mut sig,
            )
            .expect("signing with a parsed RSA key and a buffer of its modulus length");
        STANDARD.encode(sig)
    }
}

/// A public key (Alipay's, or an application's in the sandbox): checks signatures.
#[derive(Clone)]
pub struct Verifier {
    der: Vec<u8>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(RSA public key)")
    }
}

impl Verifier {
    pub fn from_public_key(text: &str) -> Result<Self, SignError> {
        let der = der_of(text).ok_or(SignError::BadPublicKey)?;
        aws_lc_rs::rsa::PublicKey::from_der(&der).map_err(|_| SignError::BadPublicKey)?;
        Ok(Verifier { der })
    }

    /// A public key from its DER bytes (SPKI or PKCS#1), as a certificate carries it.
    pub fn from_der(der: Vec<u8>) -> Result<Self, SignError> {
        aws_lc_rs::rsa::PublicKey::from_der(&der).map_err(|_| SignError::BadPublicKey)?;
        Ok(Verifier { der })
    }

    pub fn verify(&self, content: &str, sign: &str) -> Result<(), SignError> {
        let sig = STANDARD
            .decode(sign.trim())
            .map_err(|_| SignError::Mismatch)?;
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.der)
            .verify(content.as_bytes(), &sig)
            .map_err(|_| SignError::Mismatch)
    }
}
