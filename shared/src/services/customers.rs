//! Customers of a templated mini-program (the runtime API, seed 002 §1): login through the component with the
//! `wx.login` code, the customer record and its binding to a staff member and a forwarding customer, and the
//! session the mini-program then calls with. A session is a token bound to (component, mini-program, customer),
//! signed with a key of its own; no route takes the caller's identity from a parameter.
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::clock::{now_millis, now_secs};
use crate::deps::Deps;
use crate::domain::runtime::{
    valid_id, Binding, Phone, Profile, Source, CUSTOMER_PREFIX, STAFF_PREFIX,
};
use crate::error::{AppError, AppResult};
use crate::jwt;
use crate::services::components::valid_appid;
use crate::services::tokens::{with_authorizer_token, with_component_token};
use crate::store::authorizers::{self, STATUS_AUTHORIZED};
use crate::store::components;
use crate::store::runtime::{self as store, Customer};
use crate::wechat::user_data;

/// How long a session lasts; the mini-program logs in again (silently, with a new `wx.login` code) after it.
pub const SESSION_SECS: i64 = 24 * 3600;
const MAX_CODE_CHARS: usize = 128;

/// A customer session's claims: the customer (`sub`) of mini-program `app` of component `cmp`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub sub: String,
    pub app: String,
    pub cmp: String,
    /// Always `customer`.
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

pub const SESSION_TYPE: &str = "customer";

impl jwt::Validity for Session {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Session {
    /// The partition of the mini-program's runtime records.
    pub fn pk(&self) -> String {
        store::pk(&self.cmp, &self.app)
    }
}

/// Sessions are signed with a key derived from the API's: a staff token never verifies as a session, nor the
/// other way round.
pub fn derive_session_key(api_key: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(api_key).expect("HMAC takes any key length");
    mac.update(b"runtime customer sessions v1");
    mac.finalize().into_bytes().to_vec()
}

async fn session_key(deps: &Deps) -> AppResult<Vec<u8>> {
    Ok(derive_session_key(deps.jwt_key().await?))
}

/// The customer a request's bearer session names.
pub async fn session(deps: &Deps, token: &str) -> AppResult<Session> {
    let session: Session =
        jwt::verify_as(token, &session_key(deps).await?, now_secs()).map_err(|_| {
            AppError::Unauthenticated("invalid or expired session: log in again".into())
        })?;
    if session.typ != SESSION_TYPE {
        return Err(AppError::Unauthenticated(
            "invalid or expired session: log in again".into(),
        ));
    }
    Ok(session)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub component_appid: String,
    pub appid: String,
    /// The `wx.login` code.
    pub code: String,
    /// The staff member whose card brought the customer (seed `uid`).
    #[serde(default)]
    pub uid: Option<String>,
    /// The customer who forwarded the card (seed `pid`).
    #[serde(default)]
    pub pid: Option<String>,
    /// 1 scan, 2 forward (seed `source`); told by `pid` when left out.
    #[serde(default)]
    pub source: Option<i64>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: String,
    #[serde(flatten)]
    pub binding: Binding,
    pub profile: Option<Profile>,
    pub phone: Option<Phone>,
    pub has_unionid: bool,
    pub created_ms: i64,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct LoggedIn {
    pub session: String,
    pub expires_in: i64,
    /// True at the customer's first login (its binding was made now).
    pub first_login: bool,
    pub customer: CustomerView,
}

fn view(c: Customer) -> CustomerView {
    CustomerView {
        id: c.id,
        binding: c.binding,
        profile: c.profile,
        phone: c.phone,
        has_unionid: c.unionid.is_some(),
        created_ms: c.created_ms,
    }
}

fn validate(req: &LoginRequest) -> AppResult<Option<Source>> {
    if !valid_appid(&req.component_appid) || !valid_appid(&req.appid) {
        return Err(AppError::InvalidId(
            "componentAppid and appid are WeChat appids: wx and 16 hexadecimal digits".into(),
        ));
    }
    if !printable(&req.code) {
        return Err(AppError::BadRequest(
            "code is the wx.login code: 1 to 128 printable characters".into(),
        ));
    }
    if req
        .uid
        .as_deref()
        .is_some_and(|u| !valid_id(STAFF_PREFIX, u))
    {
        return Err(AppError::InvalidId("uid must be a staff id (s_…)".into()));
    }
    if req
        .pid
        .as_deref()
        .is_some_and(|p| !valid_id(CUSTOMER_PREFIX, p))
    {
        return Err(AppError::InvalidId(
            "pid must be a customer id (c_…)".into(),
        ));
    }
    let source = match req.source {
        None if req.pid.is_some() => Some(Source::Forward),
        None if req.uid.is_some() => Some(Source::Scan),
        None => None,
        Some(code) => Some(
            Source::from_code(code)
                .ok_or_else(|| AppError::BadRequest("source is 1 (scan) or 2 (forward)".into()))?,
        ),
    };
    if source == Some(Source::Forward) && req.pid.is_none() {
        return Err(AppError::BadRequest(
            "a forward (source 2) names the customer who forwarded: pid".into(),
        ));
    }
    Ok(source)
}

/// `POST /app/login`: the `wx.login` code goes to WeChat through the component (`jscode2session`); the first login of
/// an openid creates the customer, bound to the staff member and forwarding customer it names (if they exist in this
/// mini-program); later logins keep that binding. The session key stays in the customer record.
pub async fn login(deps: &Deps, req: LoginRequest) -> AppResult<LoggedIn> {
    let source = validate(&req)?;
    let (component, appid) = (req.component_appid.as_str(), req.appid.as_str());
    let not_found = || AppError::NotFound(format!("mini-program {appid} of component {component}"));
    components::get(&deps.table, component)
        .await?
        .ok_or_else(not_found)?;
    let authorizer = authorizers::get(&deps.table, component, appid)
        .await?
        .ok_or_else(not_found)?;
    if authorizer.status != STATUS_AUTHORIZED {
        return Err(AppError::NotAuthorized(format!(
            "mini-program {appid} is not authorized to this platform any more"
        )));
    }
    let code = req.code.as_str();
    let who = with_component_token(deps, component, |cat| async move {
        deps.wechat
            .jscode2session(&cat, component, appid, code)
            .await
    })
    .await?;
    let pk = store::pk(component, appid);
    let now = now_millis();
    let known = store::customer_by_openid(&deps.table, &pk, &who.openid).await?;
    let (customer, first_login) = match known {
        Some(c) => (c, false),
        None => {
            let fresh = Customer {
                id: format!("{CUSTOMER_PREFIX}{}", crate::random::hex(8)),
                openid: who.openid.clone(),
                unionid: who.unionid.clone(),
                binding: binding(deps, &pk, &req, source).await?,
                profile: None,
                phone: None,
                created_ms: now,
            };
            if store::create_customer(&deps.table, &pk, &fresh, &who.session_key, now).await? {
                tracing::info!(component, appid, customer = %fresh.id, "customer created");
                (fresh, true)
            } else {
                // The same person's first login raced this one and won: this is a later login.
                let c = store::customer_by_openid(&deps.table, &pk, &who.openid)
                    .await?
                    .ok_or_else(|| {
                        AppError::Conflict("the customer is being created; log in again".into())
                    })?;
                (c, false)
            }
        }
    };
    if !first_login {
        // A later login: WeChat's new session key; the binding made at the first login stays.
        let unionid = who.unionid.as_deref();
        store::record_login(
            &deps.table,
            &pk,
            &customer.id,
            &who.session_key,
            unionid,
            now,
        )
        .await?;
    }
    let iat = now_secs();
    let claims = Session {
        sub: customer.id.clone(),
        app: appid.to_owned(),
        cmp: component.to_owned(),
        typ: SESSION_TYPE.into(),
        iat,
        exp: iat + SESSION_SECS,
    };
    Ok(LoggedIn {
        session: jwt::sign(&claims, &session_key(deps).await?),
        expires_in: SESSION_SECS,
        first_login,
        customer: view(customer),
    })
}

/// The binding a first login makes: only to a staff member and a forwarding customer of this mini-program; one it
/// does not know is left out rather than refused (a stale or foreign code must not keep a customer out).
async fn binding(
    deps: &Deps,
    pk: &str,
    req: &LoginRequest,
    source: Option<Source>,
) -> AppResult<Binding> {
    let uid = match &req.uid {
        Some(uid) if store::staff(&deps.table, pk, uid).await?.is_some() => Some(uid.clone()),
        _ => None,
    };
    let forwarder = match &req.pid {
        Some(pid) => store::customer(&deps.table, pk, pid).await?,
        None => None,
    };
    // A forward keeps the forwarding customer's staff member when the link named none.
    let uid = uid.or_else(|| forwarder.as_ref().and_then(|c| c.binding.uid.clone()));
    let pid = forwarder.map(|c| c.id);
    let source = match (&uid, &pid) {
        (None, None) => None,
        _ => source,
    };
    Ok(Binding { uid, pid, source })
}

fn gone() -> AppError {
    AppError::Unauthenticated("the session's customer is gone: log in again".into())
}

async fn current(deps: &Deps, session: &Session) -> AppResult<CustomerView> {
    store::customer(&deps.table, &session.pk(), &session.sub)
        .await?
        .map(view)
        .ok_or_else(gone)
}

fn printable(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_CODE_CHARS
        && value.bytes().all(|b| b.is_ascii_graphic())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInfoRequest {
    pub profile: Profile,
    /// A form id the mini-program still sends (seed formId): kept, never used to message.
    #[serde(default)]
    pub form_id: Option<String>,
}

/// `POST /app/user/info` (seed send_user_info): what the customer tells about itself replaces what it told before.
pub async fn user_info(
    deps: &Deps,
    session: &Session,
    req: UserInfoRequest,
) -> AppResult<CustomerView> {
    req.profile.validate().map_err(AppError::BadRequest)?;
    if req.form_id.as_deref().is_some_and(|f| !printable(f)) {
        return Err(AppError::BadRequest(
            "formId is 1 to 128 printable characters".into(),
        ));
    }
    let saved = store::save_profile(
        &deps.table,
        &session.pk(),
        &session.sub,
        &req.profile,
        req.form_id.as_deref(),
        now_millis(),
    )
    .await?;
    if !saved {
        return Err(gone());
    }
    current(deps, session).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneRequest {
    /// The `getPhoneNumber` button's code (base library 2.21.2 and later).
    #[serde(default)]
    pub code: Option<String>,
    /// Or the legacy pair, decrypted with the customer's session key.
    #[serde(default)]
    pub encrypted_data: Option<String>,
    #[serde(default)]
    pub iv: Option<String>,
}

/// `POST /app/user/phone`: the customer's phone number, from the button's code (WeChat checks that it is this
/// customer's) or from the legacy `encryptedData` (its watermark must name this mini-program); kept and answered.
pub async fn phone(deps: &Deps, session: &Session, req: PhoneRequest) -> AppResult<CustomerView> {
    let pk = session.pk();
    let (component, appid) = (session.cmp.as_str(), session.app.as_str());
    let phone = match (&req.code, &req.encrypted_data, &req.iv) {
        (Some(code), None, None) => {
            if !printable(code) {
                return Err(AppError::BadRequest(
                    "code is the getPhoneNumber button's code: 1 to 128 printable characters"
                        .into(),
                ));
            }
            let customer = store::customer(&deps.table, &pk, &session.sub)
                .await?
                .ok_or_else(gone)?;
            let openid = customer.openid.as_str();
            let info = with_authorizer_token(deps, component, appid, |aat| async move {
                deps.wechat.user_phone_number(&aat, code, openid).await
            })
            .await?;
            if info.watermark.appid != appid {
                return Err(AppError::BadRequest(
                    "WeChat's answer was made for another mini-program".into(),
                ));
            }
            Phone {
                phone_number: info.phone_number,
                pure_phone_number: info.pure_phone_number,
                country_code: info.country_code,
            }
        }
        (None, Some(data), Some(iv)) => {
            if data.len() > 4096 || iv.len() > 64 {
                return Err(AppError::BadRequest(
                    "encryptedData is at most 4096 characters and iv 64".into(),
                ));
            }
            let key = store::session_key(&deps.table, &pk, &session.sub)
                .await?
                .ok_or_else(gone)?;
            let plain = user_data::decrypt(&key, iv, data, appid)
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            let text = |name: &str| plain[name].as_str().unwrap_or_default().to_owned();
            if text("phoneNumber").is_empty() {
                return Err(AppError::BadRequest(
                    "the encrypted data holds no phone number".into(),
                ));
            }
            Phone {
                phone_number: text("phoneNumber"),
                pure_phone_number: text("purePhoneNumber"),
                country_code: text("countryCode"),
            }
        }
        _ => {
            return Err(AppError::BadRequest(
                "send either code, or encryptedData with iv".into(),
            ))
        }
    };
    if !store::save_phone(&deps.table, &pk, &session.sub, &phone, now_millis()).await? {
        return Err(gone());
    }
    current(deps, session).await
}
