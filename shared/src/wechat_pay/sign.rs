//! WeChat Pay APIv3's signatures and encryption (service-provider mode): the strings a request, an answer, a
//! notification and `wx.requestPayment`'s `paySign` are signed over, the `Authorization` header, the
//! AEAD_AES_256_GCM resources of notifications and certificates, and platform certificates' serials and keys.
//! RSA and AES-GCM are aws-lc's, X.509 is `x509-cert`'s.
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::signing::{SignError, Signer, Verifier};

/// `METHOD\nURL\ntimestamp\nnonce\nbody\n`: URL is the path with its query, body the exact bytes sent (empty for GET).
pub fn request_message(method: &str, url: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n")
}

/// `timestamp\nnonce\nbody\n` over the raw body received: what answers and notifications are signed over.
pub fn response_message(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// `appId\ntimeStamp\nnonceStr\npackage\n`: what `wx.requestPayment`'s `paySign` is signed over.
pub fn pay_sign_message(appid: &str, timestamp: &str, nonce: &str, package: &str) -> String {
    format!("{appid}\n{timestamp}\n{nonce}\n{package}\n")
}

/// The `Authorization` header of a request signed by the provider's merchant key (`serial` its certificate's).
#[allow(clippy::too_many_arguments)]
pub fn authorization(
    signer: &Signer,
    mchid: &str,
    serial: &str,
    method: &str,
    url: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    let signature = signer.sign(&request_message(method, url, timestamp, nonce, body));
    format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{mchid}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{serial}\""
    )
}

/// How long a signed answer or notification is believed: its timestamp within five minutes of ours.
pub const REPLAY_WINDOW_S: i64 = 300;

/// Checks a signed answer or notification from its `Wechatpay-*` headers and raw body, with the platform key for
/// its serial.
pub fn verify_signed(
    key: &Verifier,
    timestamp: &str,
    nonce: &str,
    signature: &str,
    body: &str,
    now_s: i64,
) -> Result<(), SignError> {
    let at: i64 = timestamp.parse().map_err(|_| SignError::Mismatch)?;
    if (now_s - at).abs() > REPLAY_WINDOW_S {
        return Err(SignError::Mismatch);
    }
    key.verify(&response_message(timestamp, nonce, body), signature)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the APIv3 key is not 32 bytes")]
    BadKey,
    #[error("the resource does not decrypt under the APIv3 key")]
    Failed,
}

/// An AEAD_AES_256_GCM resource: `ciphertext` (Base64 of ciphertext and its 16-byte tag) under the APIv3 key, its
/// 12-byte `nonce` and `associated_data`, both as text.
pub fn decrypt_resource(
    api_v3_key: &[u8],
    nonce: &str,
    associated_data: &str,
    ciphertext: &str,
) -> Result<Vec<u8>, DecryptError> {
    let key = UnboundKey::new(&AES_256_GCM, api_v3_key).map_err(|_| DecryptError::BadKey)?;
    let nonce =
        Nonce::try_assume_unique_for_key(nonce.as_bytes()).map_err(|_| DecryptError::Failed)?;
    let mut data = STANDARD
        .decode(ciphertext)
        .map_err(|_| DecryptError::Failed)?;
    let plain = LessSafeKey::new(key)
        .open_in_place(nonce, Aad::from(associated_data.as_bytes()), &mut data)
        .map_err(|_| DecryptError::Failed)?;
    Ok(plain.to_vec())
}

/// A platform certificate (PEM): its serial number as WeChat Pay writes it (upper-case hex) and its public key.
pub fn certificate(pem: &str) -> Result<(String, Verifier), SignError> {
    use x509_cert::der::DecodePem;
    let cert =
        x509_cert::Certificate::from_pem(pem.as_bytes()).map_err(|_| SignError::BadPublicKey)?;
    let tbs = &cert.tbs_certificate;
    let serial: String = tbs
        .serial_number
        .as_bytes()
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02X}"))
        .collect();
    let spki = tbs
        .subject_public_key_info
        .subject_public_key
        .as_bytes()
        .ok_or(SignError::BadPublicKey)?;
    Ok((serial, Verifier::from_der(spki.to_vec())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference's W0, W2 and W4 (computed with the public test key pair of Alipay's SDK, V5).
    const PRIVATE: &str = "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCZ5JLkK5LZNWKGOLF+xFJrAMNrVT5fnH/uUfR2k1jSyddkDTMK9OfgwyrStGQDPq4yw55GexF1xF1KlplnqQ1BZcEQTXG2w97DMra42U1F+Li8LQV2rA4Z5kzM9TmPHrtyDgU/q4270hL8ulRkmCMYdcslb2v8ftrGLoM2zWEtQE6kEAIHk9hk2pywyzSaGB9MrqtkLKWYjB+4bAuS84EHQiKrgoAGzYU7tplfR6mvarrok63K7DQqt4zOLj/QyNVzvxERxCz59czmsfO4hLUdNbWFqae/W0jaAbehbczI36ezHIdhYkJ94AOG2+M4uu+NtHxGEuRo3Lb7jEqZqq3hAgMBAAECggEAGwLaoX/ga42KOILU7KoqySs+IaW5p/CBJ+Rsoy9jpMPWsXH7po2r8XBwIMGW2Fb1HmXlbvuE6gXIViIu1NoAQJ1KkMD3F5wzilFpbvJ9NK3eRvEkB1tVskgQ7NyR+MPtJKy/URicbP4HZSKTU4C8kDuEp5JyAsSFQ8nAMCtGRjm++IvMxfytck8WndK20di7P5hYhRr0wpqem8jP5cf8KKj7uch/bqmDHg0cnQa8rCG4HMoLNeR8O/tLo59tjAAlw+0H386Qe1vovOmDSPlGw4TmwgKlPgZJCL9NYXStQjdo+cb7Syvks1wSdybVwu2DEcEnE/+Rwcl4fXqg4Qj6vQKBgQD3HQNoB/M0b4YMYpPHVRu+g3HjzEyRZxLdiVvcHSdYE9RBl0xVVHIK9+Vvn6mxWol2IvKTaP7nZplvN/qSmXt4aUphSlOMwPPU/omIj6xnFBrrsFRpuDr0Bv/xQV7kllDtnd39XuxHw8OAZZnIg7jZ1ql/TPJmy5JoWH0YIhpQxwKBgQCfbVmHu1x2q2jLkp8IOBDOXN1CJFEBCpudmUFJgfONgdYRn1hj6THuqyoaDjyFll4uTikgQmBERsmfHO66BoDvApqz5l1eaonsI05nUiNJuP5t5k37RR3+Rgku2Iu99bKCPakSkDL+l//aAjpcivZVjxFhDQIvSnle1vpQXPM0FwKBgBq52JR3x6X0KdtNDg6Q9d80+Cxa/Cz9qNys7nJv9MFh46L0ah0QdQUaqoXYDtJPqG5OeU3YHTmJry6IL2GLl/795D2BfGfMtpJitR0/7LV5RzAWcgq9EiMyXpwJJeozF62bVVcB3Swl0A8i7e7x0Bw/SzWpbM4RVlRSvbTOe2ohAoGAKhRgtzS62Q+xH1pZ43944B8ev2B6iP3VySk0VESallUYvZoDaIuahFZlTG9JhjEENtCmhj8+zYapnPe0AyHIUk2rq6Q4LL2OHefLv/WsHr9XWIabOqEpo3202sqJR+Bb94hy4dVxwEU6YL6JzPdYwYh7m9QlKXpMwr2XYDLIdo0CgYBA0dOk3jaycvkHlnsjNFXNyjinKApqN4uyVaq1ybE2p6irv40oOc0cLeD8pUMbPsYwkPFikQTEcTjmTnQbJxftNz8O3yK+SBs423wJppbP/ohqd+TojR3YyMVEXz9C+U+osqg/ezk1zALF6NV1xUnbsCvtOuR2Avz6F+7AqDw0XQ==";
    const PUBLIC: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmeSS5CuS2TVihjixfsRSawDDa1U+X5x/7lH0dpNY0snXZA0zCvTn4MMq0rRkAz6uMsOeRnsRdcRdSpaZZ6kNQWXBEE1xtsPewzK2uNlNRfi4vC0FdqwOGeZMzPU5jx67cg4FP6uNu9IS/LpUZJgjGHXLJW9r/H7axi6DNs1hLUBOpBACB5PYZNqcsMs0mhgfTK6rZCylmIwfuGwLkvOBB0Iiq4KABs2FO7aZX0epr2q66JOtyuw0KreMzi4/0MjVc78REcQs+fXM5rHzuIS1HTW1hamnv1tI2gG3oW3MyN+nsxyHYWJCfeADhtvjOLrvjbR8RhLkaNy2+4xKmaqt4QIDAQAB";
    const W0_SIGNATURE: &str = "BstHxJGoTIskziezs9gIX5IVHs5HyZo26EGq0qEBy85drpWdAJx3jCAKLbXGS/eOf/vpEyDMSBekgdvBWoJRLr5wcFU58r0ADr6SXTwfWTO6kLgH7LrZuvvprVe0aeWccRvFFvalSs93vKvHgII9qhhHK3ERJ8yIJc7OoKqaPNj/bJjRkZmQpecy8uHCw5hMrb+jJf565kj0axfPVKehd+h2V1X1w9Y5NAHPXWZBsDcinr/em5uoqdpDmwIBIVfVvoH4xyOwUHWLRk5aFBW0i7p0LC5VwFJ4Wdn/i9wXfY3qeydXCelQvecI6JFPo81ohztxSmlbxrJoC+c3U8CFfg==";
    const W2_PAY_SIGN: &str = "bBQf03DbOcdxse/Yw+u1McSz0mX03Z8dbmzx8xEUn5yXv/HlDL+JWpD+xl2LK0QZt7nU4+f9FsQOAy8gAT8w/E2SuCYHEdiTqGCHkiJdTYY4/Q3blt3U22kRgS5kdYAzIEC9HWFHITlKlCcQq3ng0WuXdUZUYuK/bW7P2Tuj2u3t0CdWBPBhaYW15OcqFi20KBFjoSDJ2kPuNmxo8WeJpWlJ/O4S8jtqAdpUzJ8iCHshxnrNbo+3Axdd+AU61/14usrSO2YoBPGScu3OT8kHwr6m5ZrqGRj5JDqTyaEp4dL1SOhEG16Zv3BNv0Gk+oi16G6pkT3e0py/VzVpQ+6OSA==";
    const W4_CIPHERTEXT: &str = "Tjyr6rnWtra/3ZFudYSAaRKvzjOH4hVwFRRyCCip2eO61VRPEYg5ABVF5u5JKq0sGQ++G3MRK7xc4Woxk4ODjjCBnocTHfwQRlcaaeSBPm1rwvnzqiCiBYDUbhfnNPLg3XufVm+luKaf9KvERGJPvRf5mAUNG/s0Ac4xSmLSDjbhdyIdUd9Epxt3z0tjilcpnbbn+vIKKBiu9xO/E2ZcX+hwEcp9k/2JEjGoKjh4wRirNjRQ8mu6+1jwGfeM9L+8BL27x2w88SQqWhbJai2lff/+AW7QdVsFRFECBRdBOfDXjsLg+dIgR+EsBaa3vOur0tMSySCROlVUodXgNjG01x07VyCY";
    const W4_KEY: &[u8] = b"0123456789ABCDEF0123456789abcdef";

    #[test]
    fn a_request_is_signed_over_its_five_lines_as_w0() {
        let message = request_message(
            "GET",
            "/v3/certificates",
            1554208460,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            "",
        );
        assert_eq!(
            message,
            "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
        );
        let signer = Signer::from_private_key(PRIVATE).unwrap();
        assert_eq!(signer.sign(&message), W0_SIGNATURE);
        let header = authorization(
            &signer,
            "1900009191",
            "SERIAL1",
            "GET",
            "/v3/certificates",
            1554208460,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            "",
        );
        assert!(header.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900009191\""));
        assert!(
            header.contains(&format!("signature=\"{W0_SIGNATURE}\""))
                && header.contains("serial_no=\"SERIAL1\"")
        );
    }

    #[test]
    fn pay_sign_is_w2() {
        let message = pay_sign_message(
            "wxd678efh567hg6999",
            "1414561699",
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            "prepay_id=wx201410272009395522657a690389285100",
        );
        assert_eq!(
            Signer::from_private_key(PRIVATE).unwrap().sign(&message),
            W2_PAY_SIGN
        );
    }

    #[test]
    fn an_answer_verifies_over_its_raw_body_within_five_minutes_only() {
        let signer = Signer::from_private_key(PRIVATE).unwrap();
        let key = Verifier::from_public_key(PUBLIC).unwrap();
        let body = r#"{"prepay_id":"wx1"}"#;
        let signature = signer.sign(&response_message("1700000000", "n1", body));
        assert_eq!(
            verify_signed(&key, "1700000000", "n1", &signature, body, 1700000100),
            Ok(())
        );
        // Too old, re-serialised, another nonce, the last line's newline missing: all refused.
        assert!(verify_signed(&key, "1700000000", "n1", &signature, body, 1700000400).is_err());
        assert!(verify_signed(
            &key,
            "1700000000",
            "n1",
            &signature,
            r#"{"prepay_id": "wx1"}"#,
            1700000100
        )
        .is_err());
        assert!(verify_signed(&key, "1700000000", "n2", &signature, body, 1700000100).is_err());
        let unterminated = signer.sign("1700000000\nn1\n{\"prepay_id\":\"wx1\"}");
        assert!(verify_signed(&key, "1700000000", "n1", &unterminated, body, 1700000100).is_err());
    }

    #[test]
    fn a_notification_resource_decrypts_as_w4_and_nothing_else_does() {
        let plain = decrypt_resource(W4_KEY, "46f7b8c2a1d3", "transaction", W4_CIPHERTEXT).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(v["out_trade_no"], "1217752501201407033233368018");
        assert_eq!(v["amount"]["total"], 1);
        assert_eq!(
            decrypt_resource(W4_KEY, "46f7b8c2a1d3", "certificate", W4_CIPHERTEXT),
            Err(DecryptError::Failed)
        );
        assert_eq!(
            decrypt_resource(W4_KEY, "46f7b8c2a1d3", "transaction", "AAAA"),
            Err(DecryptError::Failed)
        );
        assert_eq!(
            decrypt_resource(b"short", "46f7b8c2a1d3", "transaction", W4_CIPHERTEXT),
            Err(DecryptError::BadKey)
        );
        assert_eq!(
            decrypt_resource(W4_KEY, "short", "transaction", W4_CIPHERTEXT),
            Err(DecryptError::Failed)
        );
    }
}
