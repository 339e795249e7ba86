//! WeChat Pay's partner endpoints, one method each: every request signed with the provider's merchant key, every
//! answer's signature checked against the platform key its `Wechatpay-Serial` names (the WeChat Pay public key, or a
//! platform certificate fetched from `/v3/certificates` when the serial is new), and notifications checked the same way.
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::RwLock;

use super::sign::{self, DecryptError};
use crate::secrets::PaySecret;
use crate::signing::{SignError, Signer, Verifier};

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("WeChat Pay could not be reached: {0}")]
    Transport(String),
    #[error("WeChat Pay refused the call: {status} {code} {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("WeChat Pay's answer failed its signature check")]
    Signature,
    #[error("the provider's WeChat Pay settings are unusable: {0}")]
    Settings(String),
    #[error("WeChat Pay's answer is unreadable: {0}")]
    Decode(String),
}

impl From<DecryptError> for PayError {
    fn from(e: DecryptError) -> Self {
        PayError::Decode(e.to_string())
    }
}

impl PayError {
    pub fn code(&self) -> Option<&str> {
        match self {
            PayError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A provider's merchant, ready to sign: parsed from its secret once per call chain.
pub struct Merchant {
    pub sp_mchid: String,
    pub sp_appid: String,
    serial_no: String,
    signer: Signer,
    api_v3_key: Vec<u8>,
    public_key: Option<(String, Verifier)>,
}

impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Merchant({})", self.sp_mchid)
    }
}

impl Merchant {
    pub fn from_secret(secret: &PaySecret) -> Result<Self, PayError> {
        let bad = |what: &str| PayError::Settings(what.to_owned());
        if secret.api_v3_key.len() != 32 {
            return Err(bad("apiV3Key is the 32-character APIv3 key"));
        }
        if secret.sp_mchid.is_empty() || !secret.sp_mchid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("spMchid is the provider's merchant id (digits)"));
        }
        if secret.serial_no.is_empty() || !secret.serial_no.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(
                "serialNo is the merchant API certificate's serial number (hex)",
            ));
        }
        let signer = Signer::from_private_key(&secret.private_key)
            .map_err(|_| bad("privateKey is the merchant API private key (apiclient_key.pem)"))?;
        let public_key = match (&secret.public_key_id, &secret.public_key) {
            (Some(id), Some(pem)) => Some((
                id.clone(),
                Verifier::from_public_key(pem)
                    .map_err(|_| bad("publicKey is the WeChat Pay public key (PEM)"))?,
            )),
            (None, None) => None,
            _ => return Err(bad("publicKeyId and publicKey go together")),
        };
        Ok(Merchant {
            sp_mchid: secret.sp_mchid.clone(),
            sp_appid: secret.sp_appid.clone(),
            serial_no: secret.serial_no.clone(),
            signer,
            api_v3_key: secret.api_v3_key.as_bytes().to_vec(),
            public_key,
        })
    }

    /// `wx.requestPayment`'s `paySign` for the mini-program `appid` the payer's openid belongs to.
    pub fn pay_sign(&self, appid: &str, timestamp: &str, nonce: &str, package: &str) -> String {
        self.signer
            .sign(&sign::pay_sign_message(appid, timestamp, nonce, package))
    }

    pub fn decrypt(&self, nonce: &str, aad: &str, ciphertext: &str) -> Result<Vec<u8>, PayError> {
        Ok(sign::decrypt_resource(
            &self.api_v3_key,
            nonce,
            aad,
            ciphertext,
        )?)
    }
}

/// The `Wechatpay-*` headers of a signed answer or notification.
#[derive(Debug, Clone, Default)]
pub struct Signed {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

#[derive(Clone)]
pub struct PayClient {
    http: std::sync::OnceLock<reqwest::Client>,
    base: String,
    /// Platform certificates' keys by merchant and serial, fetched when a serial is first seen.
    certificates: Arc<RwLock<HashMap<String, HashMap<String, Verifier>>>>,
}

impl PayClient {
    pub fn new(base: &str) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            base: base.trim_end_matches('/').to_owned(),
            certificates: Default::default(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        self.http
            .get_or_init(|| crate::tls_roots::https_client(std::time::Duration::from_secs(10)))
    }

    /// One signed call; the answer's status and raw body, its signature checked when it succeeded.
    async fn call(
        &self,
        m: &Merchant,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), PayError> {
        let (status, signed, text) = self.send(m, method, url, body).await?;
        if !(200..300).contains(&status) {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(PayError::Refused {
                status,
                code: v["code"].as_str().unwrap_or("UNKNOWN").to_owned(),
                message: v["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        self.verify(m, &signed, &text).await?;
        Ok((status, text))
    }

    async fn send(
        &self,
        m: &Merchant,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Signed, String), PayError> {
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let timestamp = crate::clock::now_secs();
        let nonce = crate::random::hex(16).to_uppercase();
        let authorization = sign::authorization(
            &m.signer,
            &m.sp_mchid,
            &m.serial_no,
            method.as_str(),
            url,
            timestamp,
            &nonce,
            &text,
        );
        let mut req = self
            .http()
            .request(method, format!("{}{url}", self.base))
            .header("Authorization", authorization)
            .header("Accept", "application/json")
            .header("User-Agent", "wxtpl");
        if let Some((id, _)) = &m.public_key {
            req = req.header("Wechatpay-Serial", id);
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json").body(text);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| PayError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let signed = Signed {
            timestamp: header("Wechatpay-Timestamp"),
            nonce: header("Wechatpay-Nonce"),
            signature: header("Wechatpay-Signature"),
            serial: header("Wechatpay-Serial"),
        };
        let text = resp
            .text()
            .await
            .map_err(|e| PayError::Transport(e.to_string()))?;
        Ok((status, signed, text))
    }

    /// Checks a signed answer or notification: the WeChat Pay public key for its id, else the platform certificate
    /// of its serial (fetched once when the serial is new: certificates rotate).
    pub async fn verify(&self, m: &Merchant, signed: &Signed, body: &str) -> Result<(), PayError> {
        let now = crate::clock::now_secs();
        let check = |key: &Verifier| {
            sign::verify_signed(
                key,
                &signed.timestamp,
                &signed.nonce,
                &signed.signature,
                body,
                now,
            )
            .map_err(|_| PayError::Signature)
        };
        if let Some((id, key)) = &m.public_key {
            if *id == signed.serial {
                return check(key);
            }
        }
        if let Some(key) = self.certificate(m, &signed.serial).await {
            return check(&key);
        }
        self.refresh_certificates(m).await?;
        match self.certificate(m, &signed.serial).await {
            Some(key) => check(&key),
            None => Err(PayError::Signature),
        }
    }

    async fn certificate(&self, m: &Merchant, serial: &str) -> Option<Verifier> {
        self.certificates
            .read()
            .await
            .get(&m.sp_mchid)
            .and_then(|c| c.get(serial))
            .cloned()
    }

    /// `GET /v3/certificates`: each certificate decrypted with the APIv3 key; the answer itself is checked with the
    /// certificate it names, as WeChat Pay documents.
    async fn refresh_certificates(&self, m: &Merchant) -> Result<(), PayError> {
        let (status, signed, text) = self
            .send(m, reqwest::Method::GET, "/v3/certificates", None)
            .await?;
        if status == 404 {
            return Ok(());
        }
        if status != 200 {
            return Err(PayError::Refused {
                status,
                code: "CERTIFICATES".into(),
                message: text.chars().take(200).collect(),
            });
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| PayError::Decode(e.to_string()))?;
        let mut found = HashMap::new();
        for c in v["data"].as_array().into_iter().flatten() {
            let e = &c["encrypt_certificate"];
            let pem = m.decrypt(
                e["nonce"].as_str().unwrap_or_default(),
                e["associated_data"].as_str().unwrap_or_default(),
                e["ciphertext"].as_str().unwrap_or_default(),
            )?;
            let pem = String::from_utf8(pem).map_err(|e| PayError::Decode(e.to_string()))?;
            let (serial, key) =
                sign::certificate(&pem).map_err(|e: SignError| PayError::Decode(e.to_string()))?;
            found.insert(serial, key);
        }
        let own = found.get(&signed.serial).ok_or(PayError::Signature)?;
        sign::verify_signed(
            own,
            &signed.timestamp,
            &signed.nonce,
            &signed.signature,
            &text,
            crate::clock::now_secs(),
        )
        .map_err(|_| PayError::Signature)?;
        self.certificates
            .write()
            .await
            .insert(m.sp_mchid.clone(), found);
        Ok(())
    }

    /// `POST /v3/pay/partner/transactions/jsapi`: the prepay id of an order a mini-program's user pays.
    #[allow(clippy::too_many_arguments)]
    pub async fn prepay(
        &self,
        m: &Merchant,
        sub_mchid: &str,
        sub_appid: &str,
        openid: &str,
        description: &str,
        out_trade_no: &str,
        total: i64,
        notify_url: &str,
    ) -> Result<String, PayError> {
        let body = json!({
            "sp_appid": m.sp_appid, "sp_mchid": m.sp_mchid, "sub_appid": sub_appid, "sub_mchid": sub_mchid,
            "description": description, "out_trade_no": out_trade_no, "notify_url": notify_url,
            "amount": {"total": total, "currency": "CNY"}, "payer": {"sub_openid": openid},
        });
        let (_, text) = self
            .call(
                m,
                reqwest::Method::POST,
                "/v3/pay/partner/transactions/jsapi",
                Some(&body),
            )
            .await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| PayError::Decode(e.to_string()))?;
        v["prepay_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| PayError::Decode("no prepay_id".into()))
    }

    /// The transaction of an order, as WeChat Pay has it (`trade_state` and the rest).
    pub async fn query(
        &self,
        m: &Merchant,
        sub_mchid: &str,
        out_trade_no: &str,
    ) -> Result<Value, PayError> {
        let url = format!(
            "/v3/pay/partner/transactions/out-trade-no/{out_trade_no}?sp_mchid={}&sub_mchid={sub_mchid}",
            m.sp_mchid
        );
        let (_, text) = self.call(m, reqwest::Method::GET, &url, None).await?;
        serde_json::from_str(&text).map_err(|e| PayError::Decode(e.to_string()))
    }

    /// Closes an unpaid order (204).
    pub async fn close(
        &self,
        m: &Merchant,
        sub_mchid: &str,
        out_trade_no: &str,
    ) -> Result<(), PayError> {
        let url = format!("/v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close");
        let body = json!({"sp_mchid": m.sp_mchid, "sub_mchid": sub_mchid});
        self.call(m, reqwest::Method::POST, &url, Some(&body))
            .await?;
        Ok(())
    }

    /// `POST /v3/refund/domestic/refunds`: the refund object (`status`, `refund_id`…).
    #[allow(clippy::too_many_arguments)]
    pub async fn refund(
        &self,
        m: &Merchant,
        sub_mchid: &str,
        out_trade_no: &str,
        out_refund_no: &str,
        refund: i64,
        total: i64,
        reason: &str,
    ) -> Result<Value, PayError> {
        let mut body = json!({
            "sub_mchid": sub_mchid, "out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
            "amount": {"refund": refund, "total": total, "currency": "CNY"},
        });
        if !reason.is_empty() {
            body["reason"] = reason.into();
        }
        let (_, text) = self
            .call(
                m,
                reqwest::Method::POST,
                "/v3/refund/domestic/refunds",
                Some(&body),
            )
            .await?;
        serde_json::from_str(&text).map_err(|e| PayError::Decode(e.to_string()))
    }
}
