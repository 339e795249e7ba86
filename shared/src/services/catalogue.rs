//! A merchant's goods (seed 002 §3): categories in a two-level tree, products with their images and details, what
//! customers browse (on-sale products, by category) and forward. A category in use — with sub-categories or
//! products — is not deleted (the seed's code 304, here 409).
use serde::{Deserialize, Serialize};

use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::runtime::{
    category_tree, valid_id, Category, CategoryNode, Product, ProductInput, CATEGORY_PREFIX,
    PRODUCT_PREFIX,
};
use crate::error::{AppError, AppResult};
use crate::services::cards::new_record_id;
use crate::store::authorizers::Page;
use crate::store::catalogue::{self as store, MAX_CATEGORIES};

/// Who reads the catalogue: a customer (on-sale products only) or the merchant's side (everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Customer,
    Staff,
}

fn check_id(prefix: &str, name: &str, id: &str) -> AppResult<()> {
    if valid_id(prefix, id) {
        Ok(())
    } else {
        Err(AppError::InvalidId(format!(
            "{name} must be an id ({prefix}…)"
        )))
    }
}

fn no_category(id: &str) -> AppError {
    AppError::NotFound(format!("category {id}"))
}

fn no_product(id: &str) -> AppError {
    AppError::NotFound(format!("product {id}"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveCategory {
    pub ma_app_id: String,
    /// Absent: a new category. Present: that one's name and sort, at `version`.
    #[serde(default)]
    pub category_id: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    pub name: String,
    /// A new category's top-level parent (categories have two levels).
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub sort: i64,
    /// The client's id of a create: the same create sent again makes one category.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// `POST /app/category/save`: a new category (true), or a renamed or moved-in-order one.
pub async fn save_category(
    deps: &Deps,
    pk: &str,
    req: SaveCategory,
) -> AppResult<(Category, bool)> {
    if req.name.trim().is_empty() || req.name.chars().count() > 32 {
        return Err(AppError::BadRequest("name is 1 to 32 characters".into()));
    }
    if !(0..=9999).contains(&req.sort) {
        return Err(AppError::BadRequest("sort is 0 to 9999".into()));
    }
    if let Some(p) = &req.parent_id {
        check_id(CATEGORY_PREFIX, "parentId", p)?;
    }
    match (&req.category_id, req.version) {
        (None, None) => {
            let category = Category {
                id: new_record_id(CATEGORY_PREFIX, pk, req.request_id.as_deref())?,
                name: req.name,
                parent_id: req.parent_id,
                sort: req.sort,
                children: 0,
                products: 0,
                version: 1,
            };
            if store::create_category(&deps.table, pk, &category).await? {
                return Ok((category, true));
            }
            if req.request_id.is_some() {
                if let Some(made) = store::category(&deps.table, pk, &category.id).await? {
                    return Ok((made, false));
                }
            }
            // Which condition failed: the parent, or the cap.
            if let Some(parent) = &category.parent_id {
                match store::category(&deps.table, pk, parent).await? {
                    None => return Err(no_category(parent)),
                    Some(p) if p.parent_id.is_some() => {
                        return Err(AppError::Conflict(format!(
                            "category {parent} is a sub-category itself: categories have two levels"
                        )))
                    }
                    Some(_) => {}
                }
            }
            Err(AppError::Conflict(format!(
                "a mini-program has at most {MAX_CATEGORIES} categories"
            )))
        }
        (Some(id), Some(version)) => {
            check_id(CATEGORY_PREFIX, "categoryId", id)?;
            let current = store::category(&deps.table, pk, id)
                .await?
                .ok_or_else(|| no_category(id))?;
            if req.parent_id.is_some() && req.parent_id != current.parent_id {
                return Err(AppError::BadRequest(
                    "a category keeps its parent: make a new one under the other parent".into(),
                ));
            }
            if !store::rename_category(&deps.table, pk, id, &req.name, req.sort, version).await? {
                return Err(stale(version));
            }
            let saved = store::category(&deps.table, pk, id)
                .await?
                .ok_or_else(|| no_category(id))?;
            Ok((saved, false))
        }
        _ => Err(AppError::BadRequest(
            "a change names categoryId and the version it read; a new category names neither"
                .into(),
        )),
    }
}

fn stale(version: i64) -> AppError {
    AppError::Conflict(format!(
        "version {version} is stale: it changed meanwhile; reload it"
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CategoryRef {
    pub ma_app_id: String,
    pub category_id: String,
}

/// `POST /app/category/delete`: refused (409) while it has sub-categories or products.
pub async fn delete_category(deps: &Deps, pk: &str, id: &str) -> AppResult<()> {
    check_id(CATEGORY_PREFIX, "categoryId", id)?;
    for _ in 0..3 {
        let current = store::category(&deps.table, pk, id)
            .await?
            .ok_or_else(|| no_category(id))?;
        if current.children > 0 || current.products > 0 {
            return Err(AppError::Conflict(format!(
                "category {id} still has {} sub-categories and {} products: move or delete them first",
                current.children, current.products
            )));
        }
        if store::delete_category(&deps.table, pk, &current).await? {
            return Ok(());
        }
        // It changed between the read and the delete: look again.
    }
    Err(AppError::Conflict(format!(
        "category {id} keeps changing; try again"
    )))
}

/// `GET /app/categories`: the two-level tree.
pub async fn categories(deps: &Deps, pk: &str) -> AppResult<Vec<CategoryNode>> {
    Ok(category_tree(store::categories(&deps.table, pk).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveProduct {
    pub ma_app_id: String,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    /// The client's id of a create: the same create sent again makes one product.
    #[serde(default)]
    pub request_id: Option<String>,
    pub product: ProductInput,
}

/// `POST /app/product/save`: a new product (true), or a change at the version read; the categories it leaves and
/// joins are counted in the same write.
pub async fn save_product(deps: &Deps, pk: &str, req: SaveProduct) -> AppResult<(Product, bool)> {
    req.product.validate().map_err(AppError::BadRequest)?;
    if let Some(c) = &req.product.category_id {
        check_id(CATEGORY_PREFIX, "categoryId", c)?;
    }
    let (id, before) = match (&req.product_id, req.version) {
        (None, None) => (
            new_record_id(PRODUCT_PREFIX, pk, req.request_id.as_deref())?,
            None,
        ),
        (Some(id), Some(version)) => {
            check_id(PRODUCT_PREFIX, "productId", id)?;
            let current = store::product(&deps.table, pk, id)
                .await?
                .ok_or_else(|| no_product(id))?;
            if current.version != version {
                return Err(stale(version));
            }
            (id.clone(), Some(current))
        }
        _ => {
            return Err(AppError::BadRequest(
                "a change names productId and the version it read; a new product names neither"
                    .into(),
            ))
        }
    };
    if !store::save_product(
        &deps.table,
        pk,
        &id,
        &req.product,
        before.as_ref(),
        now_millis(),
    )
    .await?
    {
        if before.is_none() && req.request_id.is_some() {
            if let Some(made) = store::product(&deps.table, pk, &id).await? {
                return Ok((made, false));
            }
        }
        if let Some(c) = &req.product.category_id {
            if store::category(&deps.table, pk, c).await?.is_none() {
                return Err(no_category(c));
            }
        }
        return Err(stale(req.version.unwrap_or(0)));
    }
    let saved = store::product(&deps.table, pk, &id)
        .await?
        .ok_or_else(|| no_product(&id))?;
    Ok((saved, before.is_none()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductRef {
    pub ma_app_id: String,
    pub product_id: String,
}

/// `POST /app/product/delete`: the product goes, uncounted from its category.
pub async fn delete_product(deps: &Deps, pk: &str, id: &str) -> AppResult<()> {
    check_id(PRODUCT_PREFIX, "productId", id)?;
    for _ in 0..3 {
        let current = store::product(&deps.table, pk, id)
            .await?
            .ok_or_else(|| no_product(id))?;
        if store::delete_product(&deps.table, pk, &current).await? {
            return Ok(());
        }
    }
    Err(AppError::Conflict(format!(
        "product {id} keeps changing; try again"
    )))
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

/// `GET /app/products`: a category's shelf (on sale, in `sort` order), or every product a page at a time — on-sale
/// ones only for customers.
pub async fn products(
    deps: &Deps,
    pk: &str,
    reader: Reader,
    category: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> AppResult<ProductPage> {
    let Page { items, next_cursor } = match category {
        Some(c) => {
            check_id(CATEGORY_PREFIX, "categoryId", c)?;
            store::shelf_page(&deps.table, pk, c, limit, cursor).await?
        }
        None => store::products(&deps.table, pk, limit, cursor).await?,
    };
    let items = items
        .into_iter()
        .filter(|p| reader == Reader::Staff || p.input.on_sale)
        .collect();
    Ok(ProductPage { items, next_cursor })
}

/// `GET /app/product?productId=`: one product (customers see only what is on sale).
pub async fn product(deps: &Deps, pk: &str, reader: Reader, id: &str) -> AppResult<Product> {
    check_id(PRODUCT_PREFIX, "productId", id)?;
    store::product(&deps.table, pk, id)
        .await?
        .filter(|p| reader == Reader::Staff || p.input.on_sale)
        .ok_or_else(|| no_product(id))
}

/// `POST /app/product/forward` (a customer): counted on the product.
pub async fn forward(deps: &Deps, pk: &str, id: &str) -> AppResult<Product> {
    check_id(PRODUCT_PREFIX, "productId", id)?;
    store::count_forward(&deps.table, pk, id)
        .await?
        .ok_or_else(|| no_product(id))
}
