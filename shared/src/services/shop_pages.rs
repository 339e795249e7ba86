//! What a merchant's mini-program shows of the company and the shop (seed 002 §3): the website (官网展示) and the
//! shop's basic settings (基础设置), each one document per mini-program, written whole by the merchant's side at the
//! version it read and read by customers.
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::now_millis;
use crate::deps::Deps;
use crate::domain::runtime::{ShopSettings, Website};
use crate::error::{AppError, AppResult};
use crate::store::runtime as store;

/// A document of a mini-program: its name in the store and in answers, and its rules.
pub trait Document: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn validate(&self) -> Result<(), String>;
}

impl Document for Website {
    const KIND: &'static str = "website";
    fn validate(&self) -> Result<(), String> {
        Website::validate(self)
    }
}

impl Document for ShopSettings {
    const KIND: &'static str = "settings";
    fn validate(&self) -> Result<(), String> {
        ShopSettings::validate(self)
    }
}

/// `{<kind>: the document or null before the first save, version}`.
fn view<T: Document>(doc: Option<T>, version: i64) -> Value {
    json!({ T::KIND: doc, "version": version })
}

/// The mini-program's document of kind `T` and its version, if saved.
pub async fn load<T: Document>(deps: &Deps, pk: &str) -> AppResult<Option<(T, i64)>> {
    match store::document(&deps.table, pk, T::KIND).await? {
        None => Ok(None),
        Some((body, version)) => {
            let doc: T = serde_json::from_str(&body).map_err(|_| {
                AppError::Store(crate::store::StoreError::Malformed(format!(
                    "{} document",
                    T::KIND
                )))
            })?;
            Ok(Some((doc, version)))
        }
    }
}

/// `GET /app/website`, `GET /app/settings`.
pub async fn read<T: Document>(deps: &Deps, pk: &str) -> AppResult<Value> {
    Ok(match load::<T>(deps, pk).await? {
        None => view::<T>(None, 0),
        Some((doc, version)) => view(Some(doc), version),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveWebsite {
    pub ma_app_id: String,
    #[serde(default)]
    pub version: Option<i64>,
    pub website: Website,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveSettings {
    pub ma_app_id: String,
    #[serde(default)]
    pub version: Option<i64>,
    pub settings: ShopSettings,
}

/// `POST /app/website/save`, `POST /app/settings/save`: the first save (no `version`: 201) or a change over the
/// version read (200); anything else is 409 and writes nothing.
pub async fn save<T: Document>(
    deps: &Deps,
    pk: &str,
    version: Option<i64>,
    doc: T,
) -> AppResult<(Value, bool)> {
    doc.validate().map_err(AppError::BadRequest)?;
    let body = serde_json::to_string(&doc).expect("a document serializes");
    if !store::save_document(&deps.table, pk, T::KIND, &body, version, now_millis()).await? {
        return Err(AppError::Conflict(match version {
            None => format!(
                "the {} is saved already: send the version you read",
                T::KIND
            ),
            Some(v) => format!(
                "version {v} is stale: the {} changed meanwhile; reload it",
                T::KIND
            ),
        }));
    }
    Ok((view(Some(doc), version.unwrap_or(0) + 1), version.is_none()))
}
