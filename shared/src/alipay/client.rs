//! Alipay's open-platform gateway: one signed form POST per method, the answer's signature checked over its raw
//! node before anything in it is believed. A merchant's mini-program is acted on with its `app_auth_token` as a
//! common parameter (never inside `biz_content`), signed by the provider's third-party application.
use std::time::Duration;

use serde_json::{json, Value};

use super::sign::{self, SignError, Signer, Verifier};
use crate::clock::{beijing_datetime, now_secs};

/// Alipay's code for success; anything else carries `sub_code` (`isv.*`, `VERSION_HAS_EXISTED`, ...).
pub const SUCCESS: &str = "10000";
/// Alipay answered "service unavailable": the same call may succeed later.
pub const UNAVAILABLE: &str = "20000";
/// The merchant's `app_auth_token` does not allow the call (invalid, expired, or the API not granted).
pub const TOKEN_REFUSED: &str = "20001";
/// The call was well formed and Alipay said no for business reasons (`sub_code` says which).
pub const BUSINESS_FAILED: &str = "40004";

#[derive(Debug, thiserror::Error)]
pub enum AlipayError {
    #[error("Alipay could not be reached: {0}")]
    Transport(String),
    #[error("Alipay answered HTTP {0}")]
    Status(u16),
    #[error("Alipay's answer failed its signature check: {0}")]
    Signature(#[from] SignError),
    #[error("Alipay's answer is not what {method} returns: {why}")]
    Decode { method: String, why: String },
    #[error("Alipay refused {method}: {code} {msg} ({sub_code}: {sub_msg})")]
    Refused {
        method: String,
        code: String,
        msg: String,
        sub_code: String,
        sub_msg: String,
    },
}

impl AlipayError {
    /// `sub_code` of a refusal (`isv.invalid-signature`, `VERSION_HAS_EXISTED`, ...).
    pub fn sub_code(&self) -> Option<&str> {
        match self {
            AlipayError::Refused { sub_code, .. } => Some(sub_code),
            _ => None,
        }
    }

    /// Worth trying again later: unreachable, a 5xx, or Alipay's "service unavailable".
    pub fn is_transient(&self) -> bool {
        match self {
            AlipayError::Transport(_) => true,
            AlipayError::Status(s) => *s >= 500,
            AlipayError::Refused { code, .. } => code == UNAVAILABLE,
            _ => false,
        }
    }
}

/// The provider's third-party application: its app id, its private key and Alipay's public key.
#[derive(Debug)]
pub struct AlipayApp {
    pub app_id: String,
    pub signer: Signer,
    pub alipay: Verifier,
}

impl AlipayApp {
    pub fn new(
        app_id: &str,
        private_key: &str,
        alipay_public_key: &str,
    ) -> Result<Self, SignError> {
        Ok(AlipayApp {
            app_id: app_id.to_owned(),
            signer: Signer::from_private_key(private_key)?,
            alipay: Verifier::from_public_key(alipay_public_key)?,
        })
    }
}

/// The methods that name nothing but a version of the merchant's mini-program (`app_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMethod {
    BuildQuery,
    DetailQuery,
    ExperienceCreate,
    ExperienceQuery,
    ExperienceCancel,
    AuditCancel,
    /// Back to development (退回开发) from passed or rejected.
    AuditedCancel,
    Online,
    Offline,
    Rollback,
    Delete,
    GrayCancel,
}

impl VersionMethod {
    pub fn method(self) -> &'static str {
        match self {
            VersionMethod::BuildQuery => "alipay.open.mini.version.build.query",
            VersionMethod::DetailQuery => "alipay.open.mini.version.detail.query",
            VersionMethod::ExperienceCreate => "alipay.open.mini.experience.create",
            VersionMethod::ExperienceQuery => "alipay.open.mini.experience.query",
            VersionMethod::ExperienceCancel => "alipay.open.mini.experience.cancel",
            VersionMethod::AuditCancel => "alipay.open.mini.version.audit.cancel",
            VersionMethod::AuditedCancel => "alipay.open.mini.version.audited.cancel",
            VersionMethod::Online => "alipay.open.mini.version.online",
            VersionMethod::Offline => "alipay.open.mini.version.offline",
            VersionMethod::Rollback => "alipay.open.mini.version.rollback",
            VersionMethod::Delete => "alipay.open.mini.version.delete",
            VersionMethod::GrayCancel => "alipay.open.mini.version.gray.cancel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersAction {
    Create,
    Delete,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrMethod {
    Create,
    Bind,
    Unbind,
    Query,
}

/// An image sent with an upload-style method: its parameter name, bytes and content type.
pub struct FilePart {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// A multipart/form-data body: the text parameters, then the files.
fn multipart_body(boundary: &str, form: &[(&str, &str)], files: &[FilePart]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in form {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for f in files {
        let ext = if f.content_type == "image/png" {
            "png"
        } else {
            "jpg"
        };
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}.{ext}\"\r\n\
                 Content-Type: {}\r\n\r\n",
                f.name, f.name, f.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(&f.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// How a merchant authorization is exchanged (`alipay.open.auth.token.app`).
pub enum Grant<'a> {
    AuthorizationCode(&'a str),
    RefreshToken(&'a str),
}

pub struct AlipayClient {
    /// Built on first use: most functions never call Alipay.
    http: std::sync::OnceLock<reqwest::Client>,
    gateway: String,
}

impl AlipayClient {
    /// `gateway`: the full gateway URL (`https://openapi.alipay.com/gateway.do`, or the local sandbox's).
    pub fn new(gateway: &str) -> Self {
        AlipayClient {
            http: std::sync::OnceLock::new(),
            gateway: gateway.to_owned(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        self.http
            .get_or_init(|| crate::tls_roots::https_client(Duration::from_secs(10)))
    }

    /// Signs and sends `method` with `biz` as `biz_content` (or, for the upload-style methods, `fields` as top-level
    /// form parameters), then returns the verified node once Alipay's code is success.
    pub async fn call(
        &self,
        app: &AlipayApp,
        method: &str,
        app_auth_token: Option<&str>,
        biz: Option<&Value>,
        fields: &[(&str, String)],
    ) -> Result<Value, AlipayError> {
        self.call_with_files(app, method, app_auth_token, biz, fields, &[])
            .await
    }

    /// `call` for the upload-style methods with images: the text parameters signed as always, the files sent as
    /// multipart parts beside them and not signed (Alipay's rule for file parameters).
    pub async fn call_with_files(
        &self,
        app: &AlipayApp,
        method: &str,
        app_auth_token: Option<&str>,
        biz: Option<&Value>,
        fields: &[(&str, String)],
        files: &[FilePart],
    ) -> Result<Value, AlipayError> {
        let timestamp = beijing_datetime(now_secs());
        let biz_content = biz.map(Value::to_string).unwrap_or_default();
        let mut common: Vec<(&str, &str)> = vec![
            ("app_id", &app.app_id),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", &timestamp),
            ("version", "1.0"),
        ];
        if let Some(token) = app_auth_token {
            common.push(("app_auth_token", token));
        }
        let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if !biz_content.is_empty() {
            form.push(("biz_content", &biz_content));
        }
        let signature = app.signer.sign(&sign::request_content(
            common.iter().chain(form.iter()).copied(),
        ));
        common.push(("sign", &signature));
        // As Alipay's SDKs send it: the common parameters in the query, the business ones in the form body.
        let request = self.http().post(&self.gateway).query(&common);
        let request = if files.is_empty() {
            request.form(&form)
        } else {
            let boundary = format!("wxtpl{}", crate::random::hex(12));
            request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(multipart_body(&boundary, &form, files))
        };
        let resp = request
            .send()
            .await
            .map_err(|e| AlipayError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(AlipayError::Status(status));
        }
        let body = resp
            .text()
            .await
            .map_err(|e| AlipayError::Transport(e.without_url().to_string()))?;
        let node = sign::verified_response(&app.alipay, &body, method)?;
        let node: Value = serde_json::from_str(&node).map_err(|e| AlipayError::Decode {
            method: method.to_owned(),
            why: e.to_string(),
        })?;
        let text = |k: &str| node[k].as_str().unwrap_or_default().to_owned();
        if text("code") != SUCCESS {
            return Err(AlipayError::Refused {
                method: method.to_owned(),
                code: text("code"),
                msg: text("msg"),
                sub_code: text("sub_code"),
                sub_msg: text("sub_msg"),
            });
        }
        Ok(node)
    }

    /// `alipay.open.auth.token.app`: a merchant's `app_auth_code` (or a refresh token) for its tokens.
    pub async fn token_app(&self, app: &AlipayApp, grant: Grant<'_>) -> Result<Value, AlipayError> {
        let biz = match grant {
            Grant::AuthorizationCode(code) => {
                json!({"grant_type": "authorization_code", "code": code})
            }
            Grant::RefreshToken(token) => {
                json!({"grant_type": "refresh_token", "refresh_token": token})
            }
        };
        self.call(app, "alipay.open.auth.token.app", None, Some(&biz), &[])
            .await
    }

    /// `alipay.open.mini.version.upload`: builds `app_version` of the merchant's mini-program from a template, with
    /// `ext` as its ext.json (sent as a JSON string). The build runs on: poll `BuildQuery` until it ends.
    pub async fn version_upload(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        app_version: &str,
        template_id: &str,
        template_version: Option<&str>,
        ext: &Value,
    ) -> Result<Value, AlipayError> {
        let mut biz =
            json!({"app_version": app_version, "template_id": template_id, "ext": ext.to_string()});
        if let Some(v) = template_version {
            biz["template_version"] = json!(v);
        }
        self.call(
            app,
            "alipay.open.mini.version.upload",
            Some(app_auth_token),
            Some(&biz),
            &[],
        )
        .await
    }

    /// One of the methods that take only `app_version`.
    pub async fn version(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        method: VersionMethod,
        app_version: &str,
    ) -> Result<Value, AlipayError> {
        let biz = json!({"app_version": app_version});
        self.call(app, method.method(), Some(app_auth_token), Some(&biz), &[])
            .await
    }

    /// `alipay.open.mini.version.gray.online` with `p10`, `p30` or `p50`.
    pub async fn gray_online(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        app_version: &str,
        strategy: &str,
    ) -> Result<Value, AlipayError> {
        let biz = json!({"app_version": app_version, "gray_strategy": strategy});
        self.call(
            app,
            "alipay.open.mini.version.gray.online",
            Some(app_auth_token),
            Some(&biz),
            &[],
        )
        .await
    }

    /// `alipay.open.mini.version.list.query` for the given states (it returns nothing without them).
    pub async fn version_list(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        states: &[&str],
    ) -> Result<Value, AlipayError> {
        let biz = json!({"version_status": states.join(",")});
        self.call(
            app,
            "alipay.open.mini.version.list.query",
            Some(app_auth_token),
            Some(&biz),
            &[],
        )
        .await
    }

    /// `alipay.open.mini.version.audit.apply`: an upload-style method, its fields top-level form parameters and its
    /// screenshots file parts (`first_screen_shot` ...).
    pub async fn audit_apply(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        fields: &[(&str, String)],
        files: &[FilePart],
    ) -> Result<Value, AlipayError> {
        self.call_with_files(
            app,
            "alipay.open.mini.version.audit.apply",
            Some(app_auth_token),
            None,
            fields,
            files,
        )
        .await
    }

    /// `alipay.open.app.members.create` / `.delete` / `.query`: `biz` names the member (`logon_id` or `user_id`) and
    /// its `role` (`DEVELOPER`, `EXPERIENCER`).
    pub async fn members(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        action: MembersAction,
        biz: &Value,
    ) -> Result<Value, AlipayError> {
        let method = match action {
            MembersAction::Create => "alipay.open.app.members.create",
            MembersAction::Delete => "alipay.open.app.members.delete",
            MembersAction::Query => "alipay.open.app.members.query",
        };
        self.call(app, method, Some(app_auth_token), Some(biz), &[])
            .await
    }

    /// `alipay.open.app.qrcode.create`, `alipay.open.mini.qrcode.bind` / `.unbind` / `.query`: `biz` as Alipay takes it.
    pub async fn qrcode(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        method: QrMethod,
        biz: &Value,
    ) -> Result<Value, AlipayError> {
        let method = match method {
            QrMethod::Create => "alipay.open.app.qrcode.create",
            QrMethod::Bind => "alipay.open.mini.qrcode.bind",
            QrMethod::Unbind => "alipay.open.mini.qrcode.unbind",
            QrMethod::Query => "alipay.open.mini.qrcode.query",
        };
        self.call(app, method, Some(app_auth_token), Some(biz), &[])
            .await
    }

    /// An image Alipay's answer pointed at (a code's `qr_code_url`), at most `max` bytes, PNG or JPEG by its first
    /// bytes: (bytes, content type).
    pub async fn image(
        &self,
        url: &str,
        max: usize,
    ) -> Result<(Vec<u8>, &'static str), AlipayError> {
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(AlipayError::Decode {
                method: "qr_code_url".into(),
                why: "not an http(s) address".into(),
            });
        }
        let resp = self
            .http()
            .get(url)
            .send()
            .await
            .map_err(|e| AlipayError::Transport(e.without_url().to_string()))?;
        if resp.status().as_u16() != 200 {
            return Err(AlipayError::Status(resp.status().as_u16()));
        }
        if resp.content_length().is_some_and(|n| n as usize > max) {
            return Err(AlipayError::Decode {
                method: "qr_code_url".into(),
                why: format!("larger than {max} bytes"),
            });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| AlipayError::Transport(e.without_url().to_string()))?;
        if bytes.len() > max {
            return Err(AlipayError::Decode {
                method: "qr_code_url".into(),
                why: format!("larger than {max} bytes"),
            });
        }
        let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            "image/png"
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            "image/jpeg"
        } else {
            return Err(AlipayError::Decode {
                method: "qr_code_url".into(),
                why: "not a PNG or JPEG image".into(),
            });
        };
        Ok((bytes.to_vec(), kind))
    }

    /// `alipay.open.mini.baseinfo.query`: name, English name, slogan, logo, description, categories, service phone
    /// and e-mail.
    pub async fn baseinfo_query(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
    ) -> Result<Value, AlipayError> {
        self.call(
            app,
            "alipay.open.mini.baseinfo.query",
            Some(app_auth_token),
            Some(&json!({})),
            &[],
        )
        .await
    }

    /// `alipay.open.mini.baseinfo.modify`: an upload-style method, its fields top-level form parameters.
    pub async fn baseinfo_modify(
        &self,
        app: &AlipayApp,
        app_auth_token: &str,
        fields: &[(&str, String)],
        files: &[FilePart],
    ) -> Result<Value, AlipayError> {
        self.call_with_files(
            app,
            "alipay.open.mini.baseinfo.modify",
            Some(app_auth_token),
            None,
            fields,
            files,
        )
        .await
    }
}

#[cfg(test)]
mod multipart_tests {
    use super::*;

    #[test]
    fn text_parameters_come_first_then_each_file_with_its_type() {
        let files = [FilePart {
            name: "first_screen_shot",
            bytes: b"\x89PNG-bytes".to_vec(),
            content_type: "image/png",
        }];
        let body = multipart_body("B", &[("app_version", "1.0.0")], &files);
        let text = String::from_utf8_lossy(&body);
        let version = text.find("name=\"app_version\"\r\n\r\n1.0.0\r\n").unwrap();
        let shot = text
            .find("name=\"first_screen_shot\"; filename=\"first_screen_shot.png\"\r\nContent-Type: image/png")
            .unwrap();
        assert!(version < shot);
        assert!(text.ends_with("--B--\r\n"));
    }
}
