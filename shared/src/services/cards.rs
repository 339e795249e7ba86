//! Staff business cards (seed 002 §2): merchants keep their staff members' cards; customers of the mini-program view
//! them (each view counted), praise a card or its signature (once each, undoable), and call, save the WeChat id or
//! forward, each counted on the card.
use serde::{Deserialize, Serialize};

use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::runtime::{
    id_for_request, valid_id, valid_request_id, Card, CardAction, PraiseTarget, StaffCard,
    STAFF_PREFIX,
};
use crate::error::{AppError, AppResult};
use crate::services::access::owned_mini_program;
use crate::services::customers::Session;
use crate::store::authorizers::Page;
use crate::store::runtime as store;

fn staff_id(id: &str) -> AppResult<()> {
    if valid_id(STAFF_PREFIX, id) {
        Ok(())
    } else {
        Err(AppError::InvalidId(
            "staffId must be a staff id (s_…)".into(),
        ))
    }
}

fn no_card(id: &str) -> AppError {
    AppError::NotFound(format!("staff card {id}"))
}

/// The runtime partition of a mini-program the caller keeps: a merchant's own, or any of the component's for its
/// operators (another merchant's is a 404).
pub async fn staff_partition(
    deps: &Deps,
    caller: &Claims,
    component: &str,
    appid: &str,
) -> AppResult<String> {
    owned_mini_program(deps, caller, component, appid).await?;
    Ok(store::pk(component, appid))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveStaffRequest {
    pub ma_app_id: String,
    /// Absent: a new staff member. Present: that one's card, at `version`.
    #[serde(default)]
    pub staff_id: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    /// The client's id of a create: the same create sent again (a retry, a double tap) makes one card.
    #[serde(default)]
    pub request_id: Option<String>,
    pub card: Card,
}

/// A new record's id: from the caller's `requestId` when it gives one (the same create again names the same
/// record), random otherwise.
pub fn new_record_id(prefix: &str, pk: &str, request_id: Option<&str>) -> AppResult<String> {
    match request_id {
        Some(r) if !valid_request_id(r) => Err(AppError::BadRequest(
            "requestId is 8 to 64 letters, digits, - or _".into(),
        )),
        Some(r) => Ok(id_for_request(prefix, pk, r)),
        None => Ok(format!("{prefix}{}", crate::random::hex(8))),
    }
}

/// `POST /app/staff/save` (the mini-program's merchant, or an operator; `pk` from `staff_partition`): a new card
/// (true), or a change of one at the version the caller read (a stale version is 409, nothing written).
pub async fn save_staff(
    deps: &Deps,
    pk: &str,
    req: SaveStaffRequest,
) -> AppResult<(StaffCard, bool)> {
    req.card.validate().map_err(AppError::BadRequest)?;
    let (id, version) = match (&req.staff_id, req.version) {
        (None, None) => (
            new_record_id(STAFF_PREFIX, pk, req.request_id.as_deref())?,
            None,
        ),
        (Some(id), Some(v)) => {
            staff_id(id)?;
            (id.clone(), Some(v))
        }
        (None, Some(_)) => {
            return Err(AppError::BadRequest(
                "version goes with the staffId of the card it changes".into(),
            ))
        }
        (Some(_), None) => {
            return Err(AppError::BadRequest(
                "a change names the version of the card it read".into(),
            ))
        }
    };
    if !store::save_staff(&deps.table, pk, &id, &req.card, version, now_millis()).await? {
        return match store::staff(&deps.table, pk, &id).await? {
            None => Err(no_card(&id)),
            // The same create again: the card it made.
            Some(made) if version.is_none() && req.request_id.is_some() => Ok((made, false)),
            Some(now) => Err(AppError::Conflict(format!(
                "version {} is stale: the card is at version {}; reload it",
                version.unwrap_or(0),
                now.version
            ))),
        };
    }
    let saved = store::staff(&deps.table, pk, &id)
        .await?
        .ok_or_else(|| no_card(&id))?;
    Ok((saved, version.is_none()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaffRef {
    pub ma_app_id: String,
    pub staff_id: String,
}

/// `POST /app/staff/delete`: the card goes; customers bound to the staff member keep their binding.
pub async fn delete_staff(deps: &Deps, pk: &str, id: &str) -> AppResult<()> {
    staff_id(id)?;
    if !store::delete_staff(&deps.table, pk, id).await? {
        return Err(no_card(id));
    }
    Ok(())
}

/// `GET /app/cards` (a customer) and `GET /app/staff/list` (the merchant's side): the mini-program's cards with
/// their counters, a page at a time.
pub async fn list(
    deps: &Deps,
    pk: &str,
    limit: i32,
    cursor: Option<&str>,
) -> AppResult<Page<StaffCard>> {
    Ok(store::staff_page(&deps.table, pk, limit, cursor).await?)
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CardView {
    pub card: StaffCard,
    /// The caller's own praise of the card and of its signature.
    pub praised: bool,
    pub signature_praised: bool,
}

/// `GET /app/card?staffId=` (a customer): the card, its visit counted in the same write, and the caller's praises.
pub async fn view(deps: &Deps, session: &Session, id: &str) -> AppResult<CardView> {
    staff_id(id)?;
    let pk = session.pk();
    let (card, praises) = tokio::join!(
        store::view_card(&deps.table, &pk, id),
        store::praised(&deps.table, &pk, id, &session.sub)
    );
    let card = card?.ok_or_else(|| no_card(id))?;
    let (praised, signature_praised) = praises?;
    Ok(CardView {
        card,
        praised,
        signature_praised,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PraiseRequest {
    pub staff_id: String,
    /// `card` (the default) or `signature`.
    #[serde(default = "card_target")]
    pub target: PraiseTarget,
    /// true praises, false takes the praise back.
    pub praise: bool,
}

fn card_target() -> PraiseTarget {
    PraiseTarget::Card
}

/// `POST /app/card/praise` (a customer): one praise per customer and target, whatever is sent how often; answers
/// the caller's praises and the card's counts as they now are.
pub async fn praise(deps: &Deps, session: &Session, req: PraiseRequest) -> AppResult<CardView> {
    staff_id(&req.staff_id)?;
    let pk = session.pk();
    let changed = store::set_praise(
        &deps.table,
        &pk,
        req.target,
        &req.staff_id,
        &session.sub,
        req.praise,
        now_millis(),
    )
    .await?;
    let card = store::staff(&deps.table, &pk, &req.staff_id)
        .await?
        .ok_or_else(|| no_card(&req.staff_id))?;
    let (praised, signature_praised) =
        store::praised(&deps.table, &pk, &req.staff_id, &session.sub).await?;
    tracing::debug!(staff = %req.staff_id, changed, "praise");
    Ok(CardView {
        card,
        praised,
        signature_praised,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActRequest {
    pub staff_id: String,
    /// `call`, `saveWechat` or `forward`.
    pub action: CardAction,
}

/// `POST /app/card/act` (a customer): a call, a saved WeChat id or a forward, counted on the card.
pub async fn act(deps: &Deps, session: &Session, req: ActRequest) -> AppResult<StaffCard> {
    staff_id(&req.staff_id)?;
    store::count(
        &deps.table,
        &session.pk(),
        &req.staff_id,
        req.action.counter(),
    )
    .await?
    .ok_or_else(|| no_card(&req.staff_id))
}
