//! Alipay's RSA2 signatures (SHA256withRSA, PKCS#1 v1.5, Base64): the string a request is signed over, and the
//! checks of what Alipay sends back — a response over the raw text of its node, a notification over its sorted
//! parameters without `sign` and `sign_type`. The RSA itself is aws-lc's.
use std::collections::BTreeMap;

use serde_json::value::RawValue;

pub use crate::signing::{SignError, Signer, Verifier};

fn joined<'a>(sorted: BTreeMap<&'a str, &'a str>) -> String {
    let mut out = String::new();
    for (k, v) in sorted {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// What a request is signed over: every parameter but `sign` (`sign_type` included), empty values dropped, keys in
/// byte order, `k=v` joined by `&`, values raw (not URL-encoded).
pub fn request_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    joined(
        params
            .into_iter()
            .filter(|(k, v)| *k != "sign" && !v.is_empty())
            .collect(),
    )
}

/// What a notification is verified over (Alipay's RSACheckV1): its parameters, already URL-decoded, without `sign`
/// and `sign_type`, empty values dropped, sorted and joined like a request.
pub fn notification_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    joined(
        params
            .into_iter()
            .filter(|(k, v)| *k != "sign" && *k != "sign_type" && !v.is_empty())
            .collect(),
    )
}

/// Checks a notification's `sign` against its other parameters.
pub fn verify_notification(
    alipay: &Verifier,
    params: &[(String, String)],
) -> Result<(), SignError> {
    let sign = params
        .iter()
        .find(|(k, _)| k == "sign")
        .map(|(_, v)| v.as_str())
        .ok_or(SignError::Mismatch)?;
    let content = notification_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    alipay.verify(&content, sign)
}

/// The node of a response named for `method` (`alipay.open.mini.version.upload` → `..._response`), or
/// `error_response`, as its raw text exactly as received, with the top-level `sign` (absent on some gateway errors).
pub fn response_node(body: &str, method: &str) -> Result<(String, Option<String>), SignError> {
    let envelope: BTreeMap<String, &RawValue> =
        serde_json::from_str(body).map_err(|e| SignError::Unreadable(e.to_string()))?;
    let name = format!("{}_response", method.replace('.', "_"));
    let node = envelope
        .get(&name)
        .or_else(|| envelope.get("error_response"))
        .ok_or_else(|| SignError::Unreadable(format!("no {name} in the answer")))?;
    let sign = envelope
        .get("sign")
        .and_then(|s| serde_json::from_str::<String>(s.get()).ok());
    Ok((node.get().to_owned(), sign))
}

/// The raw node of a response once its signature over exactly that text verifies.
pub fn verified_response(alipay: &Verifier, body: &str, method: &str) -> Result<String, SignError> {
    let (node, sign) = response_node(body, method)?;
    alipay.verify(&node, sign.as_deref().ok_or(SignError::Mismatch)?)?;
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Public test keys and signatures from Alipay's SDK tests and the reference's derived vectors (V1, V2, V3, V5).
    const V1_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAk7LzhmMa2c4qQd4fqAqenfbuFoA7stPKvoS1LrZEsVnOOGUUjwoa1oU9xsSPjcOWhIerU/VAN4J95GIAXx59ipcleIyfLn2FhHXPgLJpvo+b2jJFyn/1/DbeJDh+0yDVAOf50Z7HhI0mdUhFMkXlT7BU0ZMtJf/TmISFEfhDU/w6qFd6D42L97byAkq0K6LroglSVF24GqJEa7hSeUIkZWj7RasykXrc2uVJ1+ejkXE0LyPxa2AHykMGbJLf5SiZvaNzUZgnKIR36mLOHpQ/2JCXxhXZYUWHzy0kMH54JcUEeksFWBYLGvLjV1phbcUIc3Q76tIuqApY6E222OoZZQIDAQAB\n-----END PUBLIC KEY-----\n";
    const V1_BODY: &str = r#"{"alipay_open_file_upload_response":{"code":"10000","msg":"Success","file_id":"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"},"sign":"F+LDzpTNiavn7xVZPGuPCSSVRSmWzJGgtuji6tVELGEaqMaNj0jRKXUEr5nloZJBBmwEnddOyCjjepMmrTKTvoOqQ0Efxpr/R1iEeHTHVbb/Q8TTh6Up5gHJDkILdaWS2q1cWeQ6VT+HQY9P3WRXS7uhILHuDODIhpAyCu5KhWGt0rMCIG+Im6NODJP2oohtSCtmTFXg58HH587Z2y2bdbjzOxLvzD9IrU1imghXQ2S/Q+wMIvRk9on6cWnBLkrNvJKapA2ReNGWOwyuASvB9zDVzhMPbR+3mfRGkVDxsq5HYLjBKGskJMXHw0HuugZij6ScRuaLPODhmHwr/pJ9yw=="}"#;
    const V2_PUBLIC: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPHR5knm2jnnz/YGIXIofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdPkO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqHWkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/FdcWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXfZHraG5NCF1+XioL5JwIDAQAB";
    const V2_SIGN: &str = "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ==";
    const V2_PARAMS: [(&str, &str); 24] = [
        ("app_id", "2019073166072302"),
        ("auth_app_id", "2019073166072302"),
        ("buyer_id", "2088102534368455"),
        ("buyer_logon_id", "xud***@126.com"),
        ("buyer_pay_amount", "0.10"),
        ("charset", "utf-8"),
        (
            "fund_bill_list",
            r#"[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]"#,
        ),
        ("gmt_create", "2019-08-15 15:56:22"),
        ("gmt_payment", "2019-08-15 15:56:24"),
        ("invoice_amount", "0.10"),
        ("notify_id", "2019081500222155624068450559358070"),
        ("notify_time", "2019-08-15 15:56:25"),
        ("notify_type", "trade_status_sync"),
        ("out_trade_no", "20190815155618536-564-57"),
        ("point_amount", "0.00"),
        ("receipt_amount", "0.10"),
        ("seller_email", "z97-yuquerevenue@service.aliyun.com"),
        ("seller_id", "2088531891668739"),
        ("subject", "语雀空间 500人规模"),
        ("total_amount", "0.10"),
        ("trade_no", "2019081522001468450512505578"),
        ("trade_status", "TRADE_SUCCESS"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
    ];
    const V3_PUBLIC: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAp8gueNlkbiDidz6FBQEBpqoRgH8h7JtsPtYW0nzAqy1MME4mFnDSMfSKlreUomS3a55gmBopL1eF4/Km/dEnaL5tCY9+24SKn1D4iyls+lvz/ZjvUjVwxoUYBh8kkcxMZSDeDz8//o+9qZTrICVP2a4sBB8T0XmU4gxfw8FsmtoomBH1nLk3AO7wgRN2a3+SRSAmxrhIGDmF1lljSlhY32eJpJ2TZQKaWNW+7yDBU/0Wt3kQVY84vr14yYagnSCiIfqyVFqePayRtmVJDr5qvSXr51tdqs2zKZCu+26X7JAF4BSsaq4gmY5DmDTm4TohCnBduI1+bPGD+igVmtl05wIDAQAB";
    const V3_DATA: &str = r#"{"code":"10000","msg":"Success","buyer_logon_id":"854***@qq.com","buyer_pay_amount":"0.01","buyer_user_id":"2088102363632794","fund_bill_list":[{"amount":"0.01","fund_channel":"PCREDIT"}],"gmt_payment":"2019-08-29 20:14:05","invoice_amount":"0.01","out_trade_no":"GZ201901301040361012","point_amount":"0.00","receipt_amount":"0.01","total_amount":"0.01","trade_no":"2019082922001432790585537960"}"#;
    const V3_SIGN: &str = "bk3SzX0CZRI811IJioS2XKQHcgMixUT8mYyGQj+vcOAQas7GIYi6LpykqqSc3m7+yvqoG0TdX/c2JjYnpw/J53JxtC2IC4vsLuIPIgghVo5qafsfSxEJ22w20RZDatI2dYqFVcj8Jp+4aesQ8zMMNw7cX9NLyk7kw3DecYeyQp+zrZMueZPqLh88Z+54G+e6QuSU++0ouqQVd4PkpPqy6YI+8MdMUX4Ve0jOQxMmYH8BC6n5ZsTH/uEaLEtzYVZdSw/xdSQ7K1SH73aEH8XbRYx6rL7RkKksrdvhezX+ThDjQ+fTWjvNFrGcg3fmqXRy2elvoalu+BQmqlkWWjEJYA==";
    const V5_PRIVATE: &str = "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCZ5JLkK5LZNWKGOLF+xFJrAMNrVT5fnH/uUfR2k1jSyddkDTMK9OfgwyrStGQDPq4yw55GexF1xF1KlplnqQ1BZcEQTXG2w97DMra42U1F+Li8LQV2rA4Z5kzM9TmPHrtyDgU/q4270hL8ulRkmCMYdcslb2v8ftrGLoM2zWEtQE6kEAIHk9hk2pywyzSaGB9MrqtkLKWYjB+4bAuS84EHQiKrgoAGzYU7tplfR6mvarrok63K7DQqt4zOLj/QyNVzvxERxCz59czmsfO4hLUdNbWFqae/W0jaAbehbczI36ezHIdhYkJ94AOG2+M4uu+NtHxGEuRo3Lb7jEqZqq3hAgMBAAECggEAGwLaoX/ga42KOILU7KoqySs+IaW5p/CBJ+Rsoy9jpMPWsXH7po2r8XBwIMGW2Fb1HmXlbvuE6gXIViIu1NoAQJ1KkMD3F5wzilFpbvJ9NK3eRvEkB1tVskgQ7NyR+MPtJKy/URicbP4HZSKTU4C8kDuEp5JyAsSFQ8nAMCtGRjm++IvMxfytck8WndK20di7P5hYhRr0wpqem8jP5cf8KKj7uch/bqmDHg0cnQa8rCG4HMoLNeR8O/tLo59tjAAlw+0H386Qe1vovOmDSPlGw4TmwgKlPgZJCL9NYXStQjdo+cb7Syvks1wSdybVwu2DEcEnE/+Rwcl4fXqg4Qj6vQKBgQD3HQNoB/M0b4YMYpPHVRu+g3HjzEyRZxLdiVvcHSdYE9RBl0xVVHIK9+Vvn6mxWol2IvKTaP7nZplvN/qSmXt4aUphSlOMwPPU/omIj6xnFBrrsFRpuDr0Bv/xQV7kllDtnd39XuxHw8OAZZnIg7jZ1ql/TPJmy5JoWH0YIhpQxwKBgQCfbVmHu1x2q2jLkp8IOBDOXN1CJFEBCpudmUFJgfONgdYRn1hj6THuqyoaDjyFll4uTikgQmBERsmfHO66BoDvApqz5l1eaonsI05nUiNJuP5t5k37RR3+Rgku2Iu99bKCPakSkDL+l//aAjpcivZVjxFhDQIvSnle1vpQXPM0FwKBgBq52JR3x6X0KdtNDg6Q9d80+Cxa/Cz9qNys7nJv9MFh46L0ah0QdQUaqoXYDtJPqG5OeU3YHTmJry6IL2GLl/795D2BfGfMtpJitR0/7LV5RzAWcgq9EiMyXpwJJeozF62bVVcB3Swl0A8i7e7x0Bw/SzWpbM4RVlRSvbTOe2ohAoGAKhRgtzS62Q+xH1pZ43944B8ev2B6iP3VySk0VESallUYvZoDaIuahFZlTG9JhjEENtCmhj8+zYapnPe0AyHIUk2rq6Q4LL2OHefLv/WsHr9XWIabOqEpo3202sqJR+Bb94hy4dVxwEU6YL6JzPdYwYh7m9QlKXpMwr2XYDLIdo0CgYBA0dOk3jaycvkHlnsjNFXNyjinKApqN4uyVaq1ybE2p6irv40oOc0cLeD8pUMbPsYwkPFikQTEcTjmTnQbJxftNz8O3yK+SBs423wJppbP/ohqd+TojR3YyMVEXz9C+U+osqg/ezk1zALF6NV1xUnbsCvtOuR2Avz6F+7AqDw0XQ==";
    const V5_PUBLIC: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmeSS5CuS2TVihjixfsRSawDDa1U+X5x/7lH0dpNY0snXZA0zCvTn4MMq0rRkAz6uMsOeRnsRdcRdSpaZZ6kNQWXBEE1xtsPewzK2uNlNRfi4vC0FdqwOGeZMzPU5jx67cg4FP6uNu9IS/LpUZJgjGHXLJW9r/H7axi6DNs1hLUBOpBACB5PYZNqcsMs0mhgfTK6rZCylmIwfuGwLkvOBB0Iiq4KABs2FO7aZX0epr2q66JOtyuw0KreMzi4/0MjVc78REcQs+fXM5rHzuIS1HTW1hamnv1tI2gG3oW3MyN+nsxyHYWJCfeADhtvjOLrvjbR8RhLkaNy2+4xKmaqt4QIDAQAB";
    const V5_SIGN: &str = "Gt1DnhBjsme7Qhs+eTamWQZ0x51+s/NHvim2XwIgXnMiHbLrRr19TqMVJJEshm3fnFCxb4o21KQo/d1X8Tv1fifZKJmSS5tSpiEzkIlyLK5kcHVW4OV4H9cMCgVzemmvX0Zr68mOBfILGvx/+GKk5Dc6iksWJoP5lDzywXSWVUfJH4f/3xzDVqKc6GaQtJmzbyOWl8kEb9LxjLc7woM1Jvon7+AAQHUaHGyar2lX1fWScEpMQd9wWc3QEKbbzyWbdvuoE7r0/ano7MfR7bPBXBsLwXUGXlNqkY2uiEHrCikL6ZPjK4sClv3yEKU2Xt1qpuDBGkYsn944aJOEq8jqYw==";

    fn v5_params() -> Vec<(&'static str, &'static str)> {
        vec![
            ("method", "alipay.open.mini.version.upload"),
            ("app_id", "2021000000000000"),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2024-01-01 12:00:00"),
            ("version", "1.0"),
            (
                "app_auth_token",
                "202401BBexampletoken0000000000000000000X00",
            ),
            (
                "biz_content",
                r#"{"template_id":"2021000000000001","template_version":"0.0.1","app_version":"0.0.1","ext":"{\"extEnable\":true,\"ext\":{\"shopId\":\"1\"}}"}"#,
            ),
            ("notify_url", ""),
        ]
    }

    #[test]
    fn a_request_is_signed_over_its_sorted_parameters_as_alipay_expects() {
        let content = request_content(v5_params());
        assert!(content.starts_with("app_auth_token=202401BB"), "{content}");
        assert!(content.ends_with("&sign_type=RSA2&timestamp=2024-01-01 12:00:00&version=1.0"));
        assert!(!content.contains("notify_url"), "empty values are dropped");
        let signer = Signer::from_private_key(V5_PRIVATE).unwrap();
        // PKCS#1 v1.5 is deterministic: the same key and content give the reference's signature.
        assert_eq!(signer.sign(&content), V5_SIGN);
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{V5_PRIVATE}\n-----END PRIVATE KEY-----\n");
        assert_eq!(
            Signer::from_private_key(&pem).unwrap().sign(&content),
            V5_SIGN
        );
        Verifier::from_public_key(V5_PUBLIC)
            .unwrap()
            .verify(&content, V5_SIGN)
            .unwrap();
    }

    #[test]
    fn a_response_verifies_over_its_raw_node_and_not_over_a_reserialized_one() {
        let alipay = Verifier::from_public_key(V1_PUBLIC).unwrap();
        let node = verified_response(&alipay, V1_BODY, "alipay.open.file.upload").unwrap();
        assert_eq!(
            node,
            r#"{"code":"10000","msg":"Success","file_id":"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"}"#
        );
        // The same answer with other spacing says the same in JSON but is not what Alipay signed.
        let spaced = V1_BODY.replace(r#""code":"10000","#, r#""code": "10000", "#);
        assert_eq!(
            verified_response(&alipay, &spaced, "alipay.open.file.upload"),
            Err(SignError::Mismatch)
        );
        let tampered = V1_BODY.replace("CAxAToWB1Js", "CAxAToWB1Jt");
        assert_eq!(
            verified_response(&alipay, &tampered, "alipay.open.file.upload"),
            Err(SignError::Mismatch)
        );
        let v3 = Verifier::from_public_key(V3_PUBLIC).unwrap();
        v3.verify(V3_DATA, V3_SIGN).unwrap();
        // Another key: refused.
        assert_eq!(v3.verify(V3_DATA, V2_SIGN), Err(SignError::Mismatch));
        assert_eq!(alipay.verify(V3_DATA, V3_SIGN), Err(SignError::Mismatch));
        let unsigned = r#"{"alipay_open_file_upload_response":{"code":"10000"}}"#;
        assert_eq!(
            verified_response(&alipay, unsigned, "alipay.open.file.upload"),
            Err(SignError::Mismatch)
        );
        assert!(matches!(
            verified_response(&alipay, "<html>busy</html>", "alipay.open.file.upload"),
            Err(SignError::Unreadable(_))
        ));
    }

    #[test]
    fn an_error_response_node_is_read_when_the_methods_is_absent() {
        let body = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature"},"sign":"x"}"#;
        let (node, sign) = response_node(body, "alipay.open.mini.version.upload").unwrap();
        assert!(node.contains("isv.invalid-signature"));
        assert_eq!(sign.as_deref(), Some("x"));
    }

    #[test]
    fn a_notification_verifies_without_sign_and_sign_type_only() {
        let alipay = Verifier::from_public_key(V2_PUBLIC).unwrap();
        let mut params: Vec<(String, String)> = V2_PARAMS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.push(("sign".into(), V2_SIGN.into()));
        verify_notification(&alipay, &params).unwrap();
        // Keeping sign_type in the string (RSACheckV2) is not what Alipay signed.
        let with_type = request_content(V2_PARAMS);
        assert_eq!(alipay.verify(&with_type, V2_SIGN), Err(SignError::Mismatch));
        // Values left URL-encoded, a changed amount, no signature: refused.
        let mut encoded = params.clone();
        encoded[18].1 =
            "%E8%AF%AD%E9%9B%80%E7%A9%BA%E9%97%B4 500%E4%BA%BA%E8%A7%84%E6%A8%A1".into();
        assert_eq!(
            verify_notification(&alipay, &encoded),
            Err(SignError::Mismatch)
        );
        let mut changed = params.clone();
        changed[19].1 = "100.00".into();
        assert_eq!(
            verify_notification(&alipay, &changed),
            Err(SignError::Mismatch)
        );
        params.pop();
        assert_eq!(
            verify_notification(&alipay, &params),
            Err(SignError::Mismatch)
        );
    }

    #[test]
    fn keys_that_are_not_rsa_keys_are_refused() {
        assert!(matches!(
            Signer::from_private_key("not a key"),
            Err(SignError::BadPrivateKey)
        ));
        assert!(matches!(
            Signer::from_private_key(V5_PUBLIC),
            Err(SignError::BadPrivateKey)
        ));
        assert!(matches!(
            Verifier::from_public_key("bm90IGEga2V5"),
            Err(SignError::BadPublicKey)
        ));
        assert!(matches!(
            Verifier::from_public_key(""),
            Err(SignError::BadPublicKey)
        ));
        // Nothing of the key shows in a debug print.
        let signer = Signer::from_private_key(V5_PRIVATE).unwrap();
        assert_eq!(format!("{signer:?}"), "Signer(RSA private key)");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn whatever_is_signed_verifies_and_any_change_does_not(
            params in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,40}", 1..8),
            flip in any::<prop::sample::Index>(),
        ) {
            let signer = Signer::from_private_key(V5_PRIVATE).unwrap();
            let verifier = Verifier::from_public_key(V5_PUBLIC).unwrap();
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let content = request_content(pairs.clone());
            let sign = signer.sign(&content);
            prop_assert!(verifier.verify(&content, &sign).is_ok());
            let (k, v) = pairs[flip.index(pairs.len())];
            let changed = request_content(pairs.iter().map(|&(pk, pv)| if pk == k { (pk, if v == "x" { "y" } else { "x" }) } else { (pk, pv) }));
            prop_assume!(changed != content);
            prop_assert_eq!(verifier.verify(&changed, &sign), Err(SignError::Mismatch));
        }
    }
}
