//! Shops (seed 000): a merchant names a shop and groups under it one of its mini-programs and, optionally, an
//! official account. A mini-program belongs to one shop at most; a shop's `appId` is its mini-program's.
//! Only the merchant sees and changes its shops; another merchant's shop id is 404, as everywhere.
use serde::{Deserialize, Serialize};

use crate::clock::now_secs;
use crate::deps::Deps;
use crate::domain::identity::Claims;
use crate::domain::ids;
use crate::error::{AppError, AppResult};
use crate::services::access;
use crate::store::shops::{self as store, Link, LinkChange, Shop};

pub const MAX_SHOP_NAME: usize = 30;
/// Shops a merchant may have: a merchant with more is a provider's job for batches, not a list.
pub const MAX_SHOPS: i32 = 100;

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ShopView {
    pub shop_id: String,
    pub name: String,
    /// Seed 000's shop `appId`: its mini-program's appid, null while it has none.
    pub app_id: Option<String>,
    pub ma_app_id: Option<String>,
    pub official_account_app_id: Option<String>,
    pub version: i64,
    pub create_time: i64,
    pub update_time: i64,
}

impl From<Shop> for ShopView {
    fn from(s: Shop) -> Self {
        ShopView {
            shop_id: s.id,
            name: s.name,
            app_id: s.ma_app_id.clone(),
            ma_app_id: s.ma_app_id,
            official_account_app_id: s.official_account_app_id,
            version: s.version,
            create_time: s.create_time,
            update_time: s.update_time,
        }
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ShopList {
    pub shops: Vec<ShopView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRequest {
    pub name: String,
    pub ma_app_id: Option<String>,
    pub official_account_app_id: Option<String>,
}

/// `maAppId` / `officialAccountAppId`: left out, kept; `""`, taken off the shop.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRequest {
    pub shop_id: String,
    pub version: i64,
    pub name: Option<String>,
    pub ma_app_id: Option<String>,
    pub official_account_app_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteRequest {
    pub shop_id: String,
    pub version: i64,
}

fn check_official_account(appid: &Option<String>) -> AppResult<()> {
    match appid.as_deref() {
        Some("") | None => Ok(()),
        Some(a) => ids::check("officialAccountAppId", a),
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("shop {id}"))
}

/// How linking `appid` to the merchant's shop `shop_id` goes: the mini-program must be the merchant's own, and
/// in no other shop of theirs. A link left by a merchant who no longer owns it is taken over.
async fn take<'a>(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    shop_id: &str,
    appid: &'a str,
    found: &'a mut Option<Link>,
) -> AppResult<LinkChange<'a>> {
    access::owned_mini_program(deps, merchant, component, appid).await?;
    *found = store::link(&deps.table, component, appid).await?;
    match found.as_ref() {
        None => Ok(LinkChange::Take {
            appid,
            taken_from: None,
        }),
        Some(l) if l.shop_id == shop_id => Ok(LinkChange::Keep),
        Some(l) if l.merchant == merchant.sub => Err(AppError::Conflict(format!(
            "mini-program {appid} is in your shop {}: take it off that shop first",
            l.shop_id
        ))),
        Some(l) => Ok(LinkChange::Take {
            appid,
            taken_from: Some(l),
        }),
    }
}

fn raced() -> AppError {
    AppError::Conflict("the shop or its mini-program changed meanwhile; reload and retry".into())
}

/// `POST /shop/create` (merchant) → 201.
pub async fn create(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: CreateRequest,
) -> AppResult<ShopView> {
    ids::check_name("name", &req.name, MAX_SHOP_NAME)?;
    check_official_account(&req.official_account_app_id)?;
    let existing = store::list(&deps.table, component, &merchant.sub, MAX_SHOPS, None).await?;
    if existing.items.len() >= MAX_SHOPS as usize {
        return Err(AppError::Conflict(format!(
            "a merchant has at most {MAX_SHOPS} shops"
        )));
    }
    let now = now_secs();
    let shop = Shop {
        // Milliseconds first: a merchant's shops list oldest first even when made in the same second.
        id: format!(
            "shop{:013}{}",
            crate::clock::now_millis(),
            crate::random::hex(4)
        ),
        merchant: merchant.sub.clone(),
        name: req.name.trim().to_owned(),
        ma_app_id: req.ma_app_id.clone().filter(|a| !a.is_empty()),
        official_account_app_id: req.official_account_app_id.filter(|a| !a.is_empty()),
        version: 1,
        create_time: now,
        update_time: now,
    };
    let mut found = None;
    let change = match &shop.ma_app_id {
        Some(appid) => take(deps, merchant, component, &shop.id, appid, &mut found).await?,
        None => LinkChange::Keep,
    };
    if !store::create(&deps.table, component, &shop, change).await? {
        return Err(raced());
    }
    tracing::info!(component, shop_id = %shop.id, "shop created");
    Ok(shop.into())
}

/// `GET /shop/list` (merchant): its own shops, oldest first.
pub async fn list(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    limit: i32,
    cursor: Option<&str>,
) -> AppResult<ShopList> {
    let page = store::list(&deps.table, component, &merchant.sub, limit, cursor).await?;
    Ok(ShopList {
        shops: page.items.into_iter().map(ShopView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

async fn own(deps: &Deps, merchant: &Claims, component: &str, id: &str) -> AppResult<Shop> {
    ids::check("shopId", id)?;
    store::get(&deps.table, component, &merchant.sub, id)
        .await?
        .ok_or_else(|| not_found(id))
}

fn stale(shop: &Shop, version: i64) -> AppResult<()> {
    (shop.version == version).then_some(()).ok_or_else(|| {
        AppError::Conflict(format!(
            "version {version} is stale: the shop is at {}; reload it",
            shop.version
        ))
    })
}

/// `POST /shop/update` (merchant).
pub async fn update(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: UpdateRequest,
) -> AppResult<ShopView> {
    if let Some(name) = &req.name {
        ids::check_name("name", name, MAX_SHOP_NAME)?;
    }
    check_official_account(&req.official_account_app_id)?;
    let current = own(deps, merchant, component, &req.shop_id).await?;
    stale(&current, req.version)?;
    let mut next = current.clone();
    next.version += 1;
    next.update_time = now_secs();
    if let Some(name) = &req.name {
        next.name = name.trim().to_owned();
    }
    if let Some(oa) = &req.official_account_app_id {
        next.official_account_app_id = Some(oa.clone()).filter(|a| !a.is_empty());
    }
    let mut found = None;
    let change = match (req.ma_app_id.as_deref(), current.ma_app_id.as_deref()) {
        (None, _) => LinkChange::Keep,
        (Some(""), None) => LinkChange::Keep,
        (Some(""), Some(old)) => {
            next.ma_app_id = None;
            LinkChange::Drop { appid: old }
        }
        (Some(new), old) if Some(new) == old => LinkChange::Keep,
        (Some(new), Some(_)) => {
            return Err(AppError::Conflict(format!(
                "shop {} has a mini-program: take it off (maAppId \"\") before linking {new}",
                current.id
            )))
        }
        (Some(new), None) => {
            next.ma_app_id = Some(new.to_owned());
            take(deps, merchant, component, &current.id, new, &mut found).await?
        }
    };
    if !store::replace(&deps.table, component, &next, current.version, change).await? {
        return Err(raced());
    }
    Ok(next.into())
}

/// `POST /shop/delete` (merchant): the shop and its mini-program's link go; the mini-program itself stays.
pub async fn delete(
    deps: &Deps,
    merchant: &Claims,
    component: &str,
    req: DeleteRequest,
) -> AppResult<ShopView> {
    let current = own(deps, merchant, component, &req.shop_id).await?;
    stale(&current, req.version)?;
    if !store::delete(&deps.table, component, &current).await? {
        return Err(raced());
    }
    tracing::info!(component, shop_id = %current.id, "shop deleted");
    Ok(current.into())
}
