//! Industry templates and their page configs.
//! `PK=COMP#{appid}`: `SK=TPL#{id}` the template (pages kept inline until release), `SK=TPLDRAFT#{draftId}` makes a
//! draft release idempotent (`SK=TPLALIPAY#{alipayTemplateId}` a template made for Alipay only), `SK=TPLPAGE#{id}#{pageKey}` the page configs generated at release.
//! Published templates carry `GSI1PK=MARKET#{appid}`, `GSI1SK={industryId}#{id}` (a sparse market index).
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::Serialize;
use serde_json::Value;

use super::item::{applied, built, get_n, get_s, key, n, require_s, s, Item};
use super::{authorizers::Page, component_pk, StoreError, Table};
use crate::domain::platform::AlipayTemplate;
use crate::domain::readiness::{PrivacySpec, ServerDomains};
use crate::domain::templates::{PageSpec, Status};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndustryTemplate {
    pub id: String,
    pub component_appid: String,
    pub industry_id: String,
    pub industry_name: String,
    /// WeChat's side: the draft it was made from and WeChat's code template (None: made for Alipay only).
    pub product_app_id: String,
    pub draft_id: Option<i64>,
    pub template_id: Option<i64>,
    pub user_version: String,
    pub config: Value,
    pub pages: Vec<PageSpec>,
    pub status: Status,
    pub desc: String,
    /// S3 key of the cover image; reads turn it into a presigned URL.
    pub img: Option<String>,
    pub ext: Value,
    /// The privacy guide the code calls for, applied to each mini-program before its audit.
    pub privacy: PrivacySpec,
    /// The server domains the code talks to, added to each mini-program before its audit.
    pub domains: ServerDomains,
    /// The Alipay template its Alipay mini-programs are built from; None: the template is WeChat's only.
    pub alipay: Option<AlipayTemplate>,
    /// The claim taken at creation (`claim_sk`), freed when the template is deleted.
    #[serde(skip)]
    pub claim: String,
    pub version: i64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageConfig {
    pub id: String,
    pub page_key: String,
    pub page_value: String,
    pub name: String,
    pub config: Value,
}

fn sk(id: &str) -> String {
    format!("TPL#{id}")
}

fn json_attr(v: &impl Serialize) -> AttributeValue {
    s(serde_json::to_string(v).expect("JSON value serializes"))
}

fn json_field<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    serde_json::from_str(&require_s(item, name)?)
        .map_err(|_| StoreError::Malformed(format!("attribute {name}")))
}

fn from_item(item: &Item) -> Result<IndustryTemplate, StoreError> {
    Ok(IndustryTemplate {
        id: require_s(item, "id")?,
        component_appid: require_s(item, "component_appid")?,
        industry_id: require_s(item, "industry_id")?,
        industry_name: require_s(item, "industry_name")?,
        product_app_id: get_s(item, "product_app_id").unwrap_or_default(),
        draft_id: get_n(item, "draft_id"),
        template_id: get_n(item, "template_id"),
        user_version: get_s(item, "user_version").unwrap_or_default(),
        config: json_field(item, "config")?,
        pages: json_field(item, "pages")?,
        status: Status::try_from(get_n(item, "status").unwrap_or(-1))
            .map_err(StoreError::Malformed)?,
        desc: get_s(item, "desc").unwrap_or_default(),
        img: get_s(item, "img"),
        ext: json_field(item, "ext").unwrap_or(Value::Object(Default::default())),
        privacy: json_field(item, "privacy").unwrap_or_default(),
        domains: json_field(item, "domains").unwrap_or_default(),
        alipay: json_field(item, "alipay").ok(),
        claim: get_s(item, "claim")
            .unwrap_or_else(|| format!("TPLDRAFT#{}", get_n(item, "draft_id").unwrap_or(0))),
        version: get_n(item, "version").unwrap_or(0),
        create_time: get_n(item, "create_time").unwrap_or(0),
        update_time: get_n(item, "update_time").unwrap_or(0),
    })
}

fn to_item(t: &IndustryTemplate) -> Item {
    let mut item = key(component_pk(&t.component_appid), sk(&t.id));
    item.insert("id".into(), s(&t.id));
    item.insert("component_appid".into(), s(&t.component_appid));
    item.insert("industry_id".into(), s(&t.industry_id));
    item.insert("industry_name".into(), s(&t.industry_name));
    item.insert("product_app_id".into(), s(&t.product_app_id));
    if let (Some(draft), Some(code)) = (t.draft_id, t.template_id) {
        item.insert("draft_id".into(), n(draft));
        item.insert("template_id".into(), n(code));
    }
    item.insert("claim".into(), s(claim_sk(t)));
    item.insert("user_version".into(), s(&t.user_version));
    item.insert("config".into(), json_attr(&t.config));
    item.insert("pages".into(), json_attr(&t.pages));
    item.insert("status".into(), n(t.status as i64));
    item.insert("desc".into(), s(&t.desc));
    item.insert("ext".into(), json_attr(&t.ext));
    item.insert("privacy".into(), json_attr(&t.privacy));
    item.insert("domains".into(), json_attr(&t.domains));
    if let Some(a) = &t.alipay {
        item.insert("alipay".into(), json_attr(a));
    }
    item.insert("version".into(), n(t.version));
    item.insert("create_time".into(), n(t.create_time));
    item.insert("update_time".into(), n(t.update_time));
    item
}

/// What makes a template's creation idempotent: its WeChat draft, or for a template made for Alipay only, the Alipay
/// template it was made from. Kept on the template, so deleting it frees the same claim.
pub fn claim_sk(t: &IndustryTemplate) -> String {
    match (t.draft_id, &t.alipay) {
        (Some(draft), _) => format!("TPLDRAFT#{draft}"),
        (None, Some(a)) => format!("TPLALIPAY#{}", a.template_id),
        (None, None) => format!("TPLNONE#{}", t.id),
    }
}

/// Creates the template and claims its draft (or Alipay template) in one transaction. False when already claimed.
pub async fn create(table: &Table, t: &IndustryTemplate) -> Result<bool, StoreError> {
    let pk = component_pk(&t.component_appid);
    let mut claim = key(pk, claim_sk(t));
    claim.insert("template".into(), s(&t.id));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(table.create_in_transaction(to_item(t)))
        .transact_items(table.create_in_transaction(claim));
    table.transact(tx, "TransactWriteItems template").await
}

pub async fn get(
    table: &Table,
    component: &str,
    id: &str,
) -> Result<Option<IndustryTemplate>, StoreError> {
    let item = table
        .get(component_pk(component), sk(id), "GetItem template")
        .await?;
    match item {
        Some(i) if get_n(&i, "deleted").unwrap_or(0) == 0 => Ok(Some(from_item(&i)?)),
        _ => Ok(None),
    }
}

/// The template holding a claim (`claim_sk`): the one made from a draft, or for Alipay only from an Alipay template.
pub async fn get_by_claim(
    table: &Table,
    component: &str,
    claim_sk: &str,
) -> Result<Option<IndustryTemplate>, StoreError> {
    let claim = table
        .get(
            component_pk(component),
            claim_sk.to_owned(),
            "GetItem template claim",
        )
        .await?;
    match claim.and_then(|c| get_s(&c, "template")) {
        Some(id) => get(table, component, &id).await,
        None => Ok(None),
    }
}

/// What a content update sets; `None` leaves a field alone.
#[derive(Default)]
pub struct ContentUpdate<'a> {
    pub config: Option<&'a Value>,
    pub pages: Option<&'a [PageSpec]>,
    pub desc: Option<&'a str>,
    pub img: Option<&'a str>,
    pub ext: Option<&'a Value>,
    pub privacy: Option<&'a PrivacySpec>,
    pub domains: Option<&'a ServerDomains>,
    pub alipay: Option<&'a AlipayTemplate>,
}

/// Applies an update only if the template is still at `version` and in `status`. False when stale.
pub async fn update_content(
    table: &Table,
    component: &str,
    id: &str,
    version: i64,
    status: Status,
    change: &ContentUpdate<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let mut sets = vec!["version = version + :one", "update_time = :now"];
    let mut req = table
        .update(component_pk(component), sk(id))
        .condition_expression("version = :v AND #st = :status AND attribute_not_exists(deleted)")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":v", n(version))
        .expression_attribute_values(":status", n(status as i64));
    if let Some(c) = change.config {
        sets.push("config = :config");
        req = req.expression_attribute_values(":config", json_attr(c));
    }
    if let Some(p) = change.pages {
        sets.push("pages = :pages");
        req = req.expression_attribute_values(":pages", json_attr(&p));
    }
    if let Some(d) = change.desc {
        sets.push("#desc = :desc");
        req = req
            .expression_attribute_names("#desc", "desc")
            .expression_attribute_values(":desc", s(d));
    }
    if let Some(i) = change.img {
        sets.push("img = :img");
        req = req.expression_attribute_values(":img", s(i));
    }
    if let Some(e) = change.ext {
        sets.push("ext = :ext");
        req = req.expression_attribute_values(":ext", json_attr(e));
    }
    if let Some(p) = change.privacy {
        sets.push("privacy = :privacy");
        req = req.expression_attribute_values(":privacy", json_attr(p));
    }
    if let Some(d) = change.domains {
        sets.push("#domains = :domains");
        req = req
            .expression_attribute_names("#domains", "domains")
            .expression_attribute_values(":domains", json_attr(d));
    }
    if let Some(a) = change.alipay {
        sets.push("alipay = :alipay");
        req = req.expression_attribute_values(":alipay", json_attr(a));
    }
    let res = req
        .update_expression(format!("SET {}", sets.join(", ")))
        .send()
        .await;
    applied("UpdateItem template", res)
}

/// Moves the template between statuses (optimistic on version), writing `pages` in the same transaction.
pub async fn change_status(
    table: &Table,
    t: &IndustryTemplate,
    to: Status,
    pages: &[PageConfig],
    now: i64,
) -> Result<bool, StoreError> {
    let pk = component_pk(&t.component_appid);
    let market = to == Status::Published;
    let expr = if market {
        "SET #st = :to, version = version + :one, update_time = :now, GSI1PK = :g, GSI1SK = :gs"
    } else {
        "SET #st = :to, version = version + :one, update_time = :now REMOVE GSI1PK, GSI1SK"
    };
    let mut update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.clone(), sk(&t.id))))
        .update_expression(expr)
        .condition_expression("version = :v AND #st = :from AND attribute_not_exists(deleted)")
        .expression_attribute_names("#st", "status")
        .expression_attribute_values(":to", n(to as i64))
        .expression_attribute_values(":from", n(t.status as i64))
        .expression_attribute_values(":v", n(t.version))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", n(now));
    if market {
        update = update
            .expression_attribute_values(":g", s(format!("MARKET#{}", t.component_appid)))
            .expression_attribute_values(":gs", s(format!("{}#{}", t.industry_id, t.id)));
    }
    let mut tx = table.client().transact_write_items().transact_items(
        TransactWriteItem::builder()
            .update(built(update.build()))
            .build(),
    );
    for page in pages {
        let mut item = key(pk.clone(), format!("TPLPAGE#{}#{}", t.id, page.page_key));
        item.insert("id".into(), s(&page.id));
        item.insert("page_key".into(), s(&page.page_key));
        item.insert("page_value".into(), s(&page.page_value));
        item.insert("name".into(), s(&page.name));
        item.insert("config".into(), json_attr(&page.config));
        tx = tx.transact_items(
            TransactWriteItem::builder()
                .put(built(
                    Put::builder()
                        .table_name(&table.name)
                        .set_item(Some(item))
                        .build(),
                ))
                .build(),
        );
    }
    table.transact(tx, "TransactWriteItems template").await
}

pub async fn pages(
    table: &Table,
    component: &str,
    id: &str,
) -> Result<Vec<PageConfig>, StoreError> {
    let out = table
        .query_prefix(component_pk(component), format!("TPLPAGE#{id}#"))
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query template pages", e))?;
    out.items()
        .iter()
        .map(|i| {
            Ok(PageConfig {
                id: require_s(i, "id")?,
                page_key: require_s(i, "page_key")?,
                page_value: require_s(i, "page_value")?,
                name: require_s(i, "name")?,
                config: json_field(i, "config")?,
            })
        })
        .collect()
}

pub struct ListFilter<'a> {
    pub status: Option<Status>,
    pub industry_id: Option<&'a str>,
}

/// A component's templates in id order, filtered by status and industry (filter expression on one partition). The
/// filter runs after DynamoDB's limit, so a page is filled by reading on, for a bounded number of reads.
pub async fn list(
    table: &Table,
    component: &str,
    filter: &ListFilter<'_>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<IndustryTemplate>, StoreError> {
    const MAX_READS: usize = 8;
    let pk = component_pk(component);
    let mut filters = vec!["attribute_not_exists(deleted)"];
    if filter.status.is_some() {
        filters.push("#st = :status");
    }
    if filter.industry_id.is_some() {
        filters.push("industry_id = :ind");
    }
    let mut start = cursor.and_then(|c| super::item::decode_cursor(&pk, c, "TPL#"));
    let mut items: Vec<IndustryTemplate> = Vec::new();
    for _ in 0..MAX_READS {
        let mut q = table
            .query_prefix(pk.clone(), "TPL#".into())
            .limit(limit - items.len() as i32)
            .set_exclusive_start_key(start.take())
            .filter_expression(filters.join(" AND "));
        if let Some(st) = filter.status {
            q = q
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":status", n(st as i64));
        }
        if let Some(ind) = filter.industry_id {
            q = q.expression_attribute_values(":ind", s(ind));
        }
        let out = q
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query templates", e))?;
        for item in out.items() {
            items.push(from_item(item)?);
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() || items.len() as i32 >= limit {
            break;
        }
    }
    Ok(Page {
        items,
        next_cursor: super::item::encode_cursor(start.as_ref()),
    })
}

/// Published templates of a component, optionally of one industry (the sparse market index).
pub async fn market(
    table: &Table,
    component: &str,
    industry_id: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<IndustryTemplate>, StoreError> {
    let gpk = format!("MARKET#{component}");
    let prefix = industry_id.map(|i| format!("{i}#")).unwrap_or_default();
    // The cursor is the last GSI1SK (`{industryId}#{id}`); the table key is rebuilt from it.
    let start = cursor.and_then(|c| {
        super::item::decode_cursor_with(c, |gsk| {
            let id = gsk.rsplit('#').next().unwrap_or_default();
            let mut k = key(component_pk(component), sk(id));
            k.insert("GSI1PK".into(), s(&gpk));
            k.insert("GSI1SK".into(), s(gsk));
            k
        })
    });
    let mut q = table
        .client()
        .query()
        .table_name(&table.name)
        .index_name("GSI1")
        .expression_attribute_values(":g", s(&gpk));
    // DynamoDB refuses empty strings in expressions: no industry means the whole partition.
    q = if prefix.is_empty() {
        q.key_condition_expression("GSI1PK = :g")
    } else {
        q.key_condition_expression("GSI1PK = :g AND begins_with(GSI1SK, :p)")
            .expression_attribute_values(":p", s(prefix))
    };
    let out = q
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| StoreError::dynamo("Query market", e))?;
    let items = out
        .items()
        .iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    let next_cursor =
        super::item::encode_cursor_with(out.last_evaluated_key(), |k| get_s(k, "GSI1SK"));
    Ok(Page { items, next_cursor })
}

/// Marks the template deleted (off the market) and frees its draft, unless a mini-program is on it or it changed.
pub async fn mark_deleted(
    table: &Table,
    t: &IndustryTemplate,
    now: i64,
) -> Result<bool, StoreError> {
    let pk = component_pk(&t.component_appid);
    let update = Update::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk.clone(), sk(&t.id))))
        .update_expression("SET deleted = :one, update_time = :now, version = version + :one REMOVE GSI1PK, GSI1SK")
        .condition_expression(
            "version = :v AND attribute_not_exists(deleted) AND (attribute_not_exists(mini_programs) OR mini_programs = :zero)",
        )
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":v", n(t.version));
    let free_draft = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(&table.name)
        .set_key(Some(key(pk, t.claim.clone())));
    let tx = table
        .client()
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .update(built(update.build()))
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .delete(built(free_draft.build()))
                .build(),
        );
    table.transact(tx, "TransactWriteItems template").await
}

/// How many mini-programs use the template (maintained by the merchant side).
pub async fn mini_programs(table: &Table, component: &str, id: &str) -> Result<i64, StoreError> {
    let item = table
        .get(component_pk(component), sk(id), "GetItem template usage")
        .await?;
    Ok(item.and_then(|i| get_n(&i, "mini_programs")).unwrap_or(0))
}
