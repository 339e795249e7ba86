//! Mini-program codes (`POST /wxacode`): which of WeChat's three endpoints a request needs, the body it sends, and
//! WeChat's input rules checked before a call is spent (the sandbox and WeChat check them again).
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// `getwxacodeunlimit`: a page and a scene, no count limit.
    Unlimited,
    /// `getwxacode`: a path that may carry a query; counts against 100,000 per mini-program.
    Limited,
    /// `createwxaqrcode`: an ordinary square QR code for a path; the same 100,000.
    Qrcode,
}

impl CodeKind {
    pub fn endpoint(self) -> &'static str {
        match self {
            CodeKind::Unlimited => "/wxa/getwxacodeunlimit",
            CodeKind::Limited => "/wxa/getwxacode",
            CodeKind::Qrcode => "/cgi-bin/wxaapp/createwxaqrcode",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Unlimited => "unlimited",
            CodeKind::Limited => "limited",
            CodeKind::Qrcode => "qrcode",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineColor {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeRequest {
    pub ma_app_id: String,
    /// `unlimited` (a page and a scene), `limited` (a path with a query) or `qrcode`; by default `unlimited` when a
    /// scene or page is given, else `limited`.
    pub kind: Option<String>,
    pub page: Option<String>,
    pub scene: Option<String>,
    pub path: Option<String>,
    pub width: Option<i64>,
    pub env_version: Option<String>,
    pub check_path: Option<bool>,
    pub auto_color: Option<bool>,
    pub line_color: Option<LineColor>,
    pub is_hyaline: Option<bool>,
}

const SCENE_MAX: usize = 32;
const PATH_MAX: usize = 1024;
const SCENE_PUNCTUATION: &str = "!#$&'()*+,/:;=?@-._~";

fn bad(msg: impl Into<String>) -> AppError {
    AppError::BadRequest(msg.into())
}

fn check_scene(scene: &str) -> AppResult<()> {
    if scene.is_empty() || scene.chars().count() > SCENE_MAX {
        return Err(bad(format!("scene must be 1 to {SCENE_MAX} characters")));
    }
    if !scene
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SCENE_PUNCTUATION.contains(c))
    {
        return Err(bad(format!(
            "scene may hold letters, digits and {SCENE_PUNCTUATION} only"
        )));
    }
    Ok(())
}

/// A page or path of the mini-program: relative (no leading `/`), printable, at most 1024 characters.
fn check_path(field: &str, value: &str, query_allowed: bool) -> AppResult<()> {
    if value.is_empty() || value.chars().count() > PATH_MAX {
        return Err(bad(format!("{field} must be 1 to {PATH_MAX} characters")));
    }
    if value.starts_with('/') {
        return Err(bad(format!(
            "{field} must not start with /: write pages/index/index"
        )));
    }
    if !query_allowed && value.contains('?') {
        return Err(bad(format!(
            "{field} takes no query: put the parameters in scene"
        )));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(format!(
            "{field} must not hold spaces or control characters"
        )));
    }
    Ok(())
}

impl CodeRequest {
    pub fn kind(&self) -> AppResult<CodeKind> {
        match self.kind.as_deref() {
            Some("unlimited") => Ok(CodeKind::Unlimited),
            Some("limited") => Ok(CodeKind::Limited),
            Some("qrcode") => Ok(CodeKind::Qrcode),
            Some(_) => Err(bad("kind must be unlimited, limited or qrcode")),
            None if self.scene.is_some() || self.page.is_some() => Ok(CodeKind::Unlimited),
            None => Ok(CodeKind::Limited),
        }
    }

    /// The kind and the body WeChat is sent, after WeChat's rules are checked.
    pub fn wechat_body(&self) -> AppResult<(CodeKind, Value)> {
        let kind = self.kind()?;
        let width = self.width.unwrap_or(430);
        if !(280..=1280).contains(&width) {
            return Err(bad("width must be 280 to 1280"));
        }
        let env = self.env_version.as_deref().unwrap_or("release");
        if !matches!(env, "release" | "trial" | "develop") {
            return Err(bad("envVersion must be release, trial or develop"));
        }
        let mut body = json!({"width": width});
        match kind {
            CodeKind::Unlimited => {
                if self.path.is_some() {
                    return Err(bad("an unlimited code takes page and scene, not path"));
                }
                let scene = self
                    .scene
                    .as_deref()
                    .ok_or_else(|| bad("an unlimited code needs a scene (up to 32 characters)"))?;
                check_scene(scene)?;
                body["scene"] = json!(scene);
                if let Some(page) = &self.page {
                    check_path("page", page, false)?;
                    body["page"] = json!(page);
                }
                body["check_path"] = json!(self.check_path.unwrap_or(true));
                body["env_version"] = json!(env);
            }
            CodeKind::Limited | CodeKind::Qrcode => {
                if self.scene.is_some() || self.page.is_some() || self.check_path.is_some() {
                    return Err(bad(
                        "a limited code or QR code takes path (with its query), not page, scene or checkPath",
                    ));
                }
                let path = self
                    .path
                    .as_deref()
                    .ok_or_else(|| bad("path is required"))?;
                check_path("path", path, true)?;
                body["path"] = json!(path);
                if kind == CodeKind::Limited {
                    body["env_version"] = json!(env);
                } else if self.env_version.is_some() {
                    return Err(bad(
                        "a QR code has no envVersion: it opens the released version",
                    ));
                }
            }
        }
        if kind == CodeKind::Qrcode
            && (self.auto_color.is_some() || self.line_color.is_some() || self.is_hyaline.is_some())
        {
            return Err(bad("a QR code has no colours or transparency"));
        }
        if let Some(auto) = self.auto_color {
            body["auto_color"] = json!(auto);
        }
        if let Some(c) = &self.line_color {
            body["line_color"] = json!({"r": c.r, "g": c.g, "b": c.b});
        }
        if let Some(h) = self.is_hyaline {
            body["is_hyaline"] = json!(h);
        }
        Ok((kind, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> CodeRequest {
        let mut v = v;
        v["maAppId"] = json!("wx0123456789abcdef");
        serde_json::from_value(v).unwrap()
    }

    fn refused(v: Value, mentions: &str) {
        match req(v).wechat_body() {
            Err(AppError::BadRequest(m)) => assert!(m.contains(mentions), "{m}"),
            other => panic!("expected a refusal mentioning {mentions}: {other:?}"),
        }
    }

    #[test]
    fn a_scene_makes_an_unlimited_code_with_wechats_defaults() {
        let (kind, body) = req(json!({"scene": "table=7", "page": "pages/menu/menu"}))
            .wechat_body()
            .unwrap();
        assert_eq!(kind, CodeKind::Unlimited);
        assert_eq!(
            body,
            json!({"scene": "table=7", "page": "pages/menu/menu", "width": 430, "check_path": true,
                   "env_version": "release"})
        );
        let (kind, body) = req(json!({"path": "pages/item?id=3"}))
            .wechat_body()
            .unwrap();
        assert_eq!(kind, CodeKind::Limited);
        assert_eq!(body["path"], "pages/item?id=3");
        let (kind, body) = req(json!({"kind": "qrcode", "path": "pages/item?id=3", "width": 280}))
            .wechat_body()
            .unwrap();
        assert_eq!(kind, CodeKind::Qrcode);
        assert_eq!(body, json!({"path": "pages/item?id=3", "width": 280}));
    }

    #[test]
    fn wechats_input_rules_are_refused_before_a_call_is_spent() {
        refused(json!({"page": "pages/a"}), "scene");
        refused(json!({"scene": "x".repeat(33)}), "1 to 32");
        refused(json!({"scene": "a b"}), "letters, digits");
        refused(json!({"scene": "桌7"}), "letters, digits");
        refused(
            json!({"scene": "t", "page": "/pages/a"}),
            "must not start with /",
        );
        refused(json!({"scene": "t", "page": "pages/a?x=1"}), "no query");
        refused(json!({"scene": "t", "path": "pages/a"}), "not path");
        refused(json!({"scene": "t", "width": 279}), "width");
        refused(json!({"scene": "t", "width": 1281}), "width");
        refused(json!({"scene": "t", "envVersion": "beta"}), "envVersion");
        refused(json!({}), "path is required");
        refused(json!({"path": "pages/a", "checkPath": false}), "not page");
        refused(
            json!({"path": format!("pages/{}", "a".repeat(1020))}),
            "1 to 1024",
        );
        refused(
            json!({"kind": "qrcode", "path": "pages/a", "envVersion": "trial"}),
            "no envVersion",
        );
        refused(
            json!({"kind": "qrcode", "path": "pages/a", "isHyaline": true}),
            "no colours",
        );
        refused(json!({"kind": "poster", "path": "pages/a"}), "kind must be");
        // Every scene character WeChat allows is allowed.
        assert!(req(json!({"scene": "aZ09!#$&'()*+,/:;=?@-._~"}))
            .wechat_body()
            .is_ok());
    }
}
