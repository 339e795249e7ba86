//! The root certificates every outbound TLS connection trusts (AWS, WeChat and Alipay alike): Mozilla's set, compiled in,
//! so that no process reads the system's certificate store at start.
use base64::Engine;

/// Mozilla's root certificates (the `webpki-root-certs` crate), DER.
pub fn der() -> impl Iterator<Item = &'static [u8]> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| c.as_ref())
}

/// An HTTPS client for a platform's API (WeChat, Alipay) that trusts exactly these roots, with the call's timeout.
pub fn https_client(timeout: std::time::Duration) -> reqwest::Client {
    let roots =
        der().map(|der| reqwest::Certificate::from_der(der).expect("a compiled-in root parses"));
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .timeout(timeout)
        .connect_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("HTTP client builds with static settings")
}

/// The same roots as PEM, for the AWS SDK (its trust store takes only PEM).
pub fn pem() -> impl Iterator<Item = String> {
    der().map(|der| {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_survives_the_pem_round_trip() {
        let ders: Vec<_> = der().collect();
        assert!(ders.len() > 100, "Mozilla's set has well over 100 roots");
        for (pem, der) in pem().zip(&ders) {
            let body = pem
                .strip_prefix("-----BEGIN CERTIFICATE-----\n")
                .and_then(|p| p.strip_suffix("\n-----END CERTIFICATE-----\n"))
                .unwrap();
            assert!(
                body.lines().all(|l| l.len() <= 64),
                "PEM lines are at most 64 characters"
            );
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(body.replace('\n', ""))
                .unwrap();
            assert_eq!(decoded, *der);
        }
    }
}
