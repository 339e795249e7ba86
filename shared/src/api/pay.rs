//! WeChat Pay's side of the API: `POST /pay/merchant` (an admin registers the provider's merchant for a component)
//! and `POST /pay/notify/{componentAppid}` (WeChat Pay's payment notifications, signed, not authenticated by us).
//! The customer and merchant routes of payments are with the rest of the runtime API (`api::runtime`).
use lambda_http::{Body, Request, Response};

use super::{authenticated, owned_component};
use crate::deps::Deps;
use crate::http::auth::Role;
use crate::http::request::{body_bytes, json_body, path_param, MAX_PUSH_BODY};
use crate::http::response::{json, respond};
use crate::services::pay;
use crate::wechat_pay::client::Signed;

pub async fn register_merchant(deps: &Deps, req: Request) -> Response<Body> {
    respond(
        async {
            let claims = authenticated(deps, &req).await?;
            claims.require_role(&[Role::Admin])?;
            let component = owned_component(deps, &claims, &req).await?;
            Ok(json(
                200,
                &pay::register_merchant(deps, &component.appid, json_body(&req)?).await?,
            ))
        }
        .await,
    )
}

pub async fn notify(deps: &Deps, req: Request) -> Response<Body> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let signed = Signed {
        timestamp: header("wechatpay-timestamp"),
        nonce: header("wechatpay-nonce"),
        signature: header("wechatpay-signature"),
        serial: header("wechatpay-serial"),
    };
    let answer = match (
        path_param(&req, "componentAppid"),
        body_bytes(&req, MAX_PUSH_BODY),
    ) {
        (Ok(component), Ok(body)) => match std::str::from_utf8(body) {
            Ok(body) => pay::notify(deps, &component, &signed, body).await,
            Err(_) => pay::NotifyAnswer {
                status: 400,
                message: "not UTF-8",
            },
        },
        _ => pay::NotifyAnswer {
            status: 400,
            message: "malformed request",
        },
    };
    if answer.status == 204 {
        return Response::builder()
            .status(204)
            .body(Body::Empty)
            .expect("static response parts are valid");
    }
    json(
        answer.status,
        &serde_json::json!({"code": "FAIL", "message": answer.message}),
    )
}
