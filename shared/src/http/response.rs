//! The one place where errors become HTTP responses. Internal causes are logged, never echoed.
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::alipay::client::{self as alipay, AlipayError};
use crate::domain::poster::PosterError;
use crate::error::AppError;
use crate::store::StoreError;
use crate::wechat::errcode;
use crate::wechat_pay::client::PayError;

pub fn status_and_code(err: &AppError) -> (u16, &'static str) {
    match err {
        AppError::BadRequest(_) => (400, "BAD_REQUEST"),
        AppError::InvalidId(_) => (400, "INVALID_ID"),
        AppError::Unauthenticated(_) => (401, "UNAUTHENTICATED"),
        AppError::Forbidden(_) => (403, "FORBIDDEN"),
        AppError::NotFound(_) => (404, "NOT_FOUND"),
        AppError::Conflict(_) => (409, "CONFLICT"),
        AppError::NotAuthorized(_) => (409, "MINI_PROGRAM_NOT_AUTHORIZED"),
        AppError::CategoryRequired(_) => (409, "CATEGORY_REQUIRED"),
        AppError::BatchRunning(_) => (409, "BATCH_RUNNING"),
        AppError::IcpFilingRequired(_) => (409, "ICP_FILING_REQUIRED"),
        AppError::PrivacyRequired(_) => (409, "PRIVACY_REQUIRED"),
        AppError::DomainNotRegistered(_) => (409, "DOMAIN_NOT_REGISTERED"),
        AppError::PayloadTooLarge(_) => (413, "PAYLOAD_TOO_LARGE"),
        AppError::TooManyAttempts(_) => (429, "TOO_MANY_ATTEMPTS"),
        AppError::MerchantDailyLimit(_) => (429, "MERCHANT_DAILY_LIMIT"),
        AppError::PushInProgress => (409, "PUSH_IN_PROGRESS"),
        AppError::TicketMissing => (503, "VERIFY_TICKET_MISSING"),
        AppError::ReauthorizationRequired(_) => (409, "REAUTHORIZATION_REQUIRED"),
        AppError::TokenBusy => (503, "TOKEN_REFRESH_BUSY"),
        AppError::Pay(e) => match e {
            PayError::Refused { code, .. } if code == "FREQUENCY_LIMITED" => {
                (429, "PAY_FREQUENCY_LIMITED")
            }
            PayError::Refused { status, .. } if *status >= 500 => (503, "PAY_UNAVAILABLE"),
            PayError::Transport(_) => (503, "PAY_UNAVAILABLE"),
            // Our signature or settings, or WeChat Pay's answer, are wrong: the provider's keys or the product.
            PayError::Refused { status: 401, .. }
            | PayError::Signature
            | PayError::Decode(_)
            | PayError::Settings(_) => (502, "PAY_CALL_FAILED"),
            PayError::Refused { .. } => (422, "PAY_REFUSED"),
        },
        AppError::Poster(e) => match e {
            PosterError::FontMissing(_) => (503, "POSTER_FONT_MISSING"),
            PosterError::FontInvalid(_) => (503, "POSTER_FONT_INVALID"),
            PosterError::CodeImage(_) => (502, "WECHAT_CODE_IMAGE_UNREADABLE"),
        },
        AppError::Alipay(e) => match e {
            AlipayError::Refused { code, .. } if code == alipay::UNAVAILABLE => {
                (503, "ALIPAY_UNAVAILABLE")
            }
            AlipayError::Refused { code, .. } if code == alipay::TOKEN_REFUSED => {
                (409, "ALIPAY_NOT_AUTHORIZED")
            }
            AlipayError::Refused { code, .. } if code == alipay::BUSINESS_FAILED => {
                (422, "ALIPAY_REFUSED")
            }
            AlipayError::Transport(_) | AlipayError::Status(_) => (503, "ALIPAY_UNAVAILABLE"),
            // Our signature, parameters or Alipay's answer are wrong: the provider's keys or the product.
            AlipayError::Refused { .. }
            | AlipayError::Signature(_)
            | AlipayError::Decode { .. } => (502, "ALIPAY_CALL_FAILED"),
        },
        AppError::Upstream(e) => match e.errcode() {
            Some(errcode::DAILY_QUOTA | errcode::TOO_FREQUENT) => (429, "WECHAT_QUOTA_EXCEEDED"),
            Some(errcode::UNDO_QUOTA) => (429, "AUDIT_UNDO_QUOTA_EXCEEDED"),
            Some(errcode::CODE_LIMIT) => (429, "CODE_LIMIT_REACHED"),
            Some(
                errcode::INVALID_SCENE
                | errcode::INVALID_SCENE_LENGTH
                | errcode::BAD_POST_DATA
                | errcode::INVALID_ARGS,
            ) => (400, "WECHAT_REFUSED_INPUT"),
            Some(errcode::INVALID_PAGE) => (409, "PAGE_NOT_RELEASED"),
            Some(errcode::JUMP_PUBLISH_QUOTA) => (429, "JUMP_PUBLISH_QUOTA_EXCEEDED"),
            Some(errcode::REGISTER_TASK_RUNNING) => (409, "WECHAT_STATE_CONFLICT"),
            Some(
                errcode::SIGNATURE_QUOTA
                | errcode::CATEGORY_QUOTA
                | errcode::NAME_CHANGES_USED
                | errcode::HEAD_IMAGE_QUOTA,
            ) => (429, "WECHAT_CHANGE_LIMIT"),
            Some(
                errcode::INVALID_MEDIA_TYPE
                | errcode::INVALID_MEDIA_ID
                | errcode::MEDIA_TOO_LARGE
                | errcode::SIGNATURE_BLACKLISTED
                | errcode::NAME_INVALID
                | errcode::CATEGORY_BAD_PARAMS,
            ) => (400, "WECHAT_REFUSED_INPUT"),
            Some(
                errcode::NAME_AFTER_RELEASE
                | errcode::NAME_TAKEN
                | errcode::NAME_UNDER_AUDIT
                | errcode::CATEGORY_CAP
                | errcode::CATEGORY_DUPLICATE
                | errcode::CATEGORY_UNDER_AUDIT
                | errcode::CATEGORY_NOT_MODIFIABLE,
            ) => (409, "WECHAT_STATE_CONFLICT"),
            Some(
                errcode::REGISTER_MISSING_PARAMS
                | errcode::REGISTER_BAD_CODE
                | errcode::INVALID_WECHAT_ID
                | errcode::REGISTER_NAME_MISMATCH,
            ) => (400, "WECHAT_REFUSED_INPUT"),
            Some(
                errcode::JUMP_BAD_LINK
                | errcode::JUMP_DEBUG_URL_OUTSIDE
                | errcode::JUMP_LINK_BLACKLISTED,
            ) => (400, "WECHAT_REFUSED_INPUT"),
            Some(errcode::JUMP_VERIFY_FILE_MISSING) => (409, "VERIFY_FILE_NOT_FOUND"),
            Some(
                errcode::JUMP_ALREADY_ADDED
                | errcode::JUMP_PREFIX_TAKEN
                | errcode::JUMP_LIST_FULL
                | errcode::JUMP_NOT_RELEASED
                | errcode::JUMP_PERSONAL,
            ) => (409, "WECHAT_STATE_CONFLICT"),
            Some(errcode::AUDIT_QUOTA) => (429, "AUDIT_QUOTA_EXCEEDED"),
            Some(
                errcode::ALREADY_AUDITING
                | errcode::NOTHING_TO_RELEASE
                | errcode::NOT_RELEASABLE
                | errcode::GRAY_RELEASE_RUNNING
                | errcode::GRAY_NO_ONLINE_VERSION
                | errcode::GRAY_AUDIT_NOT_PASSED
                | errcode::GRAY_MUST_GROW
                | errcode::NOT_REVERTIBLE
                | errcode::BAD_AUDIT_ID
                | errcode::TESTER_LIMIT
                | errcode::TESTER_ALREADY_BOUND
                | errcode::NOTHING_COMMITTED
                | errcode::NO_CODE,
            ) => (409, "WECHAT_STATE_CONFLICT"),
            Some(errcode::NO_SUCH_WECHAT_USER) => (400, "WECHAT_USER_NOT_FOUND"),
            Some(errcode::LOGIN_CODE_INVALID) => (400, "WECHAT_CODE_INVALID"),
            Some(errcode::COMPONENT_NOT_AUTHORIZED) => (409, "MINI_PROGRAM_NOT_AUTHORIZED"),
            Some(errcode::NO_CATEGORY | errcode::CATEGORY_INVALID) => (409, "CATEGORY_REQUIRED"),
            Some(errcode::PRIVACY_API_UNDECLARED | errcode::PRIVACY_OWNER_INCOMPLETE) => {
                (409, "PRIVACY_REQUIRED")
            }
            Some(errcode::DOMAIN_NOT_ON_PLATFORM) => (409, "DOMAIN_NOT_REGISTERED"),
            Some(errcode::BAD_PAGE_PATH) => (409, "WECHAT_STATE_CONFLICT"),
            Some(errcode::TICKET_EXPIRED | errcode::TICKET_INVALID) => {
                (503, "VERIFY_TICKET_REJECTED")
            }
            Some(_) => (502, "WECHAT_ERROR"),
            None => (502, "WECHAT_UNAVAILABLE"),
        },
        AppError::Store(StoreError::Busy(_)) => (503, "STORE_BUSY"),
        AppError::Store(_)
        | AppError::Secrets(_)
        | AppError::Bus(_)
        | AppError::Blob(_)
        | AppError::Queue(_) => (500, "INTERNAL"),
    }
}

/// The client-facing message: internal failures say nothing about their cause.
pub fn public_message(err: &AppError) -> String {
    match err {
        AppError::Store(StoreError::Busy(_)) => "the database is busy; try again shortly".into(),
        AppError::Store(_)
        | AppError::Secrets(_)
        | AppError::Bus(_)
        | AppError::Blob(_)
        | AppError::Queue(_) => "internal error".into(),
        AppError::Alipay(AlipayError::Refused {
            sub_code, sub_msg, ..
        }) => {
            format!("Alipay refused the call: {sub_code} {sub_msg}")
        }
        AppError::Alipay(AlipayError::Signature(_)) => {
            "Alipay's answer failed its signature check: check the application's Alipay public key"
                .into()
        }
        AppError::Alipay(AlipayError::Transport(_) | AlipayError::Status(_)) => {
            "Alipay could not be reached".into()
        }
        AppError::Alipay(e @ AlipayError::Decode { .. }) => e.to_string(),
        AppError::Upstream(e) => match e.errcode() {
            Some(code) => match wechat_explanation(code) {
                Some(why) => format!("WeChat refused the call with errcode {code}: {why}"),
                None => format!("WeChat refused the call with errcode {code}"),
            },
            None => "WeChat could not be reached".into(),
        },
        other => other.to_string(),
    }
}

/// What a caller can do about the errcodes users meet in the release pipeline.
fn wechat_explanation(code: i64) -> Option<&'static str> {
    Some(match code {
        errcode::UNDO_QUOTA => {
            "audits can be withdrawn 5 times a day and 10 times a month; wait for the audit instead"
        }
        errcode::AUDIT_QUOTA => "the platform's audit quota for this month is used up",
        errcode::ALREADY_AUDITING => "a version is already under audit",
        errcode::NOTHING_TO_RELEASE => "there is no audited version to publish",
        errcode::NOT_RELEASABLE => "the audit has not passed",
        errcode::GRAY_RELEASE_RUNNING => {
            "a gray release is running; publish fully or revert the gray release first"
        }
        errcode::GRAY_NO_ONLINE_VERSION => "a gray release needs a version already online",
        errcode::GRAY_AUDIT_NOT_PASSED => "the audit has not passed",
        errcode::GRAY_MUST_GROW => "a gray release can only grow: ask for a higher percentage",
        errcode::NOT_REVERTIBLE => "there is no previous online version to roll back to",
        errcode::TESTER_LIMIT => "the mini-program has reached its tester limit",
        errcode::TESTER_ALREADY_BOUND => "this WeChat id is already a tester",
        errcode::NO_CATEGORY => "the mini-program has no approved category",
        errcode::CATEGORY_INVALID => {
            "a category of the submission is not valid for this mini-program"
        }
        errcode::BAD_PAGE_PATH => "a page of the submission is not in the committed code",
        errcode::NO_SUCH_WECHAT_USER => "no WeChat user has that id, or it cannot be searched",
        errcode::DAILY_QUOTA => "the daily quota of this WeChat API is used up",
        errcode::CODE_LIMIT => {
            "the mini-program has used its 100,000 limited codes and QR codes: use an unlimited code (page and scene)"
        }
        errcode::INVALID_SCENE | errcode::INVALID_SCENE_LENGTH => "the scene is not valid",
        errcode::INVALID_PAGE => {
            "the page is not in the released version: publish it first, or ask with checkPath false"
        }
        errcode::BAD_POST_DATA => "the request body is not valid",
        errcode::INVALID_ARGS => "an argument is not valid (an unknown id, or a value out of range)",
        errcode::JUMP_BAD_LINK => "the link rule is not valid, or there is no rule with that prefix",
        errcode::JUMP_DEBUG_URL_OUTSIDE => "a test link is not under the rule's prefix",
        errcode::JUMP_VERIFY_FILE_MISSING => {
            "the verification file (GET /qrcodejump/verify-file) is not served at the root of the prefix's domain"
        }
        errcode::JUMP_LINK_BLACKLISTED => "the link is blacklisted",
        errcode::JUMP_ALREADY_ADDED => "a rule with that prefix is already added: edit it instead",
        errcode::JUMP_PREFIX_TAKEN => "another mini-program's rule holds that prefix",
        errcode::JUMP_LIST_FULL => "the mini-program's rule list is full",
        errcode::JUMP_NOT_RELEASED => "jump rules need a released version: publish the code first",
        errcode::JUMP_PERSONAL => "a mini-program of a person cannot have jump rules",
        errcode::JUMP_PUBLISH_QUOTA => "jump rules can be published 100 times a month",
        errcode::REGISTER_TASK_RUNNING => {
            "a registration for this company or person is running: it must be confirmed or expire (24 h) first"
        }
        errcode::REGISTER_MISSING_PARAMS => "a parameter of the registration is missing",
        errcode::SIGNATURE_QUOTA => "the signature can be changed 5 times a month",
        errcode::HEAD_IMAGE_QUOTA => "the head image can be changed 5 times a year",
        errcode::INVALID_MEDIA_TYPE => "WeChat does not take that image type",
        errcode::MEDIA_TOO_LARGE => "the image is too large for WeChat",
        errcode::INVALID_MEDIA_ID => "the uploaded image is unknown to WeChat",
        errcode::SIGNATURE_BLACKLISTED => "the signature holds a word WeChat does not allow",
        errcode::NAME_INVALID => "the name is not valid",
        errcode::NAME_AFTER_RELEASE => "a released mini-program keeps its name (rename it through WeChat verification)",
        errcode::NAME_TAKEN => "another account holds that name",
        errcode::NAME_CHANGES_USED => "the name can be changed twice before the first release",
        errcode::NAME_UNDER_AUDIT => "a name change is under review",
        errcode::CATEGORY_QUOTA => "categories can be changed a limited number of times a month",
        errcode::CATEGORY_CAP => "the mini-program has as many categories as it may",
        errcode::CATEGORY_BAD_PARAMS => "a category is unknown or lacks its qualification",
        errcode::CATEGORY_DUPLICATE => "the category is set already",
        errcode::CATEGORY_UNDER_AUDIT => "a category under review cannot be deleted",
        errcode::CATEGORY_NOT_MODIFIABLE => "only a category whose review failed can be given new qualifications",
        errcode::REGISTER_BAD_CODE => "the unified social credit code is not valid",
        errcode::INVALID_WECHAT_ID => "no WeChat user has that id",
        errcode::REGISTER_NAME_MISMATCH => "the name does not match the WeChat id's real name",
        errcode::PRIVACY_API_UNDECLARED => {
            "the code uses privacy APIs its privacy guide or requiredPrivateInfos do not declare"
        }
        errcode::PRIVACY_OWNER_INCOMPLETE => "the privacy guide's owner contact is incomplete",
        errcode::DOMAIN_NOT_ON_PLATFORM => {
            "a domain is not registered on the platform: add it with POST /component/domains"
        }
        _ => return None,
    })
}

pub fn error_response(err: &AppError) -> Response<Body> {
    let (status, code) = status_and_code(err);
    let cause = crate::error::chain(err);
    if status >= 500 {
        tracing::error!(error = %cause, code, "request failed");
    } else {
        tracing::info!(error = %cause, code, "request refused");
    }
    let mut body = serde_json::json!({"error": {"code": code, "message": public_message(err)}});
    if let AppError::Upstream(e) = err {
        if let Some(errcode) = e.errcode() {
            body["error"]["wechatErrcode"] = errcode.into();
        }
    }
    if let AppError::Pay(PayError::Refused { code, .. }) = err {
        body["error"]["payCode"] = code.clone().into();
    }
    if let AppError::Alipay(e) = err {
        if let Some(sub_code) = e.sub_code() {
            body["error"]["alipaySubCode"] = sub_code.into();
        }
    }
    json(status, &body)
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(
            serde_json::to_string(value).expect("response serializes"),
        ))
        .expect("static response parts are valid")
}

pub fn text(status: u16, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::Text(body.to_owned()))
        .expect("static response parts are valid")
}

/// Turns a handler result into a response.
pub fn respond(result: Result<Response<Body>, AppError>) -> Response<Body> {
    result.unwrap_or_else(|e| error_response(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::WechatError;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = AppError::Store(StoreError::Dynamo {
            operation: "PutItem",
            message: "secret detail".into(),
            source: None,
        });
        let resp = error_response(&err);
        assert_eq!(resp.status(), 500);
        let Body::Text(body) = resp.body() else {
            panic!()
        };
        assert!(!body.contains("secret detail"));
        assert!(body.contains("INTERNAL"));
    }

    #[test]
    fn a_poster_without_its_font_is_503_and_an_unreadable_code_502() {
        let missing = AppError::Poster(PosterError::FontMissing("assets/poster-font".into()));
        assert_eq!(status_and_code(&missing), (503, "POSTER_FONT_MISSING"));
        let invalid = AppError::Poster(PosterError::FontInvalid("bad".into()));
        assert_eq!(status_and_code(&invalid), (503, "POSTER_FONT_INVALID"));
        let code = AppError::Poster(PosterError::CodeImage("not a PNG".into()));
        assert_eq!(
            status_and_code(&code),
            (502, "WECHAT_CODE_IMAGE_UNREADABLE")
        );
    }

    #[test]
    fn a_busy_store_is_503_not_a_conflict() {
        let resp = error_response(&AppError::Store(StoreError::Busy("TransactWriteItems")));
        assert_eq!(resp.status(), 503);
        let Body::Text(body) = resp.body() else {
            panic!()
        };
        assert!(body.contains("STORE_BUSY"));
    }

    #[test]
    fn wechat_quota_is_429_with_errcode() {
        let err = AppError::Upstream(WechatError::Api {
            errcode: 45009,
            errmsg: "reach max api daily quota limit".into(),
        });
        let resp = error_response(&err);
        assert_eq!(resp.status(), 429);
        let Body::Text(body) = resp.body() else {
            panic!()
        };
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "WECHAT_QUOTA_EXCEEDED");
        assert_eq!(v["error"]["wechatErrcode"], 45009);
    }
}
