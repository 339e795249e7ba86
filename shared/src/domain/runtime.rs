//! The runtime API's own terms (seed 002): customers of a templated mini-program, who brought them (the staff
//! member whose card they scanned, the customer who forwarded it), staff cards and what customers do with them.
use serde::{Deserialize, Serialize};

/// How a customer first arrived (seed 1.2's `source`): by scanning a card's code, or through a forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    Scan,
    Forward,
}

impl Source {
    pub fn code(self) -> i64 {
        match self {
            Source::Scan => 1,
            Source::Forward => 2,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Source::Scan),
            2 => Some(Source::Forward),
            _ => None,
        }
    }
}

/// Who a customer belongs to: the staff member (`uid`) and the customer who forwarded (`pid`), fixed by the first
/// login that named them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub uid: Option<String>,
    pub pid: Option<String>,
    pub source: Option<Source>,
}

/// What a customer told about itself (seed send_user_info; WeChat's user-info fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub nick_name: String,
    #[serde(default)]
    pub avatar_url: String,
    /// 0 unknown, 1 male, 2 female (WeChat's codes).
    #[serde(default)]
    pub gender: i64,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub language: String,
}

impl Profile {
    pub fn validate(&self) -> Result<(), String> {
        for (name, value, max) in [
            ("nickName", &self.nick_name, 64),
            ("avatarUrl", &self.avatar_url, 512),
            ("city", &self.city, 64),
            ("province", &self.province, 64),
            ("country", &self.country, 64),
            ("language", &self.language, 16),
        ] {
            line_within(name, value, max)?;
        }
        https_url("avatarUrl", &self.avatar_url)?;
        if !(0..=2).contains(&self.gender) {
            return Err("gender is 0 (unknown), 1 or 2".into());
        }
        Ok(())
    }
}

/// A customer's phone number as WeChat vouched for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    pub phone_number: String,
    pub pure_phone_number: String,
    pub country_code: String,
}

/// What a staff member's business card shows (seed 企业用户 and their card).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub name: String,
    #[serde(default)]
    pub avatar: String,
    #[serde(default)]
    pub card_avatar: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub wechat_id: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub signature: String,
}

/// A staff member's card with what customers did with it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaffCard {
    pub id: String,
    #[serde(flatten)]
    pub card: Card,
    pub views: i64,
    pub praises: i64,
    pub signature_praises: i64,
    pub forwards: i64,
    pub calls: i64,
    pub wechat_saves: i64,
    pub version: i64,
    pub updated_ms: i64,
}

impl Card {
    /// Lengths as a card page can show them; URLs are https; nothing is required but the name.
    pub fn validate(&self) -> Result<(), String> {
        let within = line_within;
        if self.name.trim().is_empty() {
            return Err("name is required".into());
        }
        within("name", &self.name, 32)?;
        for (name, value) in [("avatar", &self.avatar), ("cardAvatar", &self.card_avatar)] {
            within(name, value, 512)?;
            https_url(name, value)?;
        }
        within("company", &self.company, 64)?;
        within("address", &self.address, 128)?;
        within("position", &self.position, 32)?;
        within("email", &self.email, 128)?;
        if !self.email.is_empty() && !self.email.contains('@') {
            return Err("email must be an e-mail address".into());
        }
        within("wechatId", &self.wechat_id, 64)?;
        phone_text("phone", &self.phone)?;
        within("signature", &self.signature, 200)?;
        Ok(())
    }
}

/// What a customer praises: the card, or the signature on it (seed: praise and signature praise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PraiseTarget {
    Card,
    Signature,
}

impl PraiseTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            PraiseTarget::Card => "card",
            PraiseTarget::Signature => "signature",
        }
    }

    /// The card's counter of this praise.
    pub fn counter(self) -> &'static str {
        match self {
            PraiseTarget::Card => "praises",
            PraiseTarget::Signature => "signature_praises",
        }
    }
}

/// What a customer does from a card, counted on it (seed: call, save the WeChat id, forward).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CardAction {
    Call,
    SaveWechat,
    Forward,
}

impl CardAction {
    pub fn counter(self) -> &'static str {
        match self {
            CardAction::Call => "calls",
            CardAction::SaveWechat => "wechat_saves",
            CardAction::Forward => "forwards",
        }
    }
}

/// A goods category (seed goods categories): at most two levels, a top-level one and its children.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub sort: i64,
    pub children: i64,
    pub products: i64,
    pub version: i64,
}

/// A category as the tree shows it: top-level ones with their children, each level in `sort` then name order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryNode {
    #[serde(flatten)]
    pub category: Category,
    pub items: Vec<Category>,
}

/// Builds the two-level tree; a child whose parent is missing is shown at the top rather than lost.
pub fn category_tree(mut all: Vec<Category>) -> Vec<CategoryNode> {
    all.sort_by(|a, b| a.sort.cmp(&b.sort).then_with(|| a.name.cmp(&b.name)));
    let tops: Vec<String> = all
        .iter()
        .filter(|c| c.parent_id.is_none())
        .map(|c| c.id.clone())
        .collect();
    let (children, top): (Vec<Category>, Vec<Category>) = all
        .into_iter()
        .partition(|c| c.parent_id.as_ref().is_some_and(|p| tops.contains(p)));
    top.into_iter()
        .map(|category| CategoryNode {
            items: children
                .iter()
                .filter(|c| c.parent_id.as_deref() == Some(category.id.as_str()))
                .cloned()
                .collect(),
            category,
        })
        .collect()
}

/// What a merchant writes of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductInput {
    pub name: String,
    #[serde(default)]
    pub category_id: Option<String>,
    /// In fen (分), as WeChat Pay counts.
    pub price: i64,
    #[serde(default)]
    pub cover: String,
    #[serde(default)]
    pub images: Vec<String>,
    /// The detail text (rich text as the template renders it).
    #[serde(default)]
    pub details: String,
    #[serde(default = "on_sale")]
    pub on_sale: bool,
    #[serde(default)]
    pub sort: i64,
}

fn on_sale() -> bool {
    true
}

pub const MAX_PRODUCT_IMAGES: usize = 9;
pub const MAX_DETAILS_CHARS: usize = 20_000;
/// A price above this (a million yuan) is a typo, not a product.
pub const MAX_PRICE_FEN: i64 = 100_000_000;

impl ProductInput {
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 64 {
            return Err("name is 1 to 64 characters".into());
        }
        if !(0..=MAX_PRICE_FEN).contains(&self.price) {
            return Err(format!("price is in fen, 0 to {MAX_PRICE_FEN}"));
        }
        if self.images.len() > MAX_PRODUCT_IMAGES {
            return Err(format!("at most {MAX_PRODUCT_IMAGES} images"));
        }
        for url in std::iter::once(&self.cover).chain(&self.images) {
            if !url.is_empty() && (!url.starts_with("https://") || url.len() > 512) {
                return Err("cover and images are https URLs of at most 512 characters".into());
            }
        }
        if self.details.chars().count() > MAX_DETAILS_CHARS {
            return Err(format!("details is at most {MAX_DETAILS_CHARS} characters"));
        }
        if !(0..=9999).contains(&self.sort) {
            return Err("sort is 0 to 9999".into());
        }
        Ok(())
    }
}

/// A product with what customers did with it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    #[serde(flatten)]
    pub input: ProductInput,
    pub forwards: i64,
    pub version: i64,
    pub updated_ms: i64,
}

pub const CATEGORY_PREFIX: &str = "g_";
pub const PRODUCT_PREFIX: &str = "p_";

/// One section of the company website (官网展示): a title, its text and an optional picture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebsiteSection {
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub image: String,
}

/// How customers reach the company.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// The merchant's company website in its mini-program (seed 官网展示).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Website {
    pub title: String,
    #[serde(default)]
    pub intro: String,
    #[serde(default)]
    pub logo: String,
    #[serde(default)]
    pub banners: Vec<String>,
    #[serde(default)]
    pub sections: Vec<WebsiteSection>,
    #[serde(default)]
    pub contact: Contact,
}

/// The shop's basic settings (seed 基础设置).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShopSettings {
    pub shop_name: String,
    #[serde(default)]
    pub logo: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
    /// As the shop writes them, e.g. "09:00-21:00".
    #[serde(default)]
    pub open_hours: String,
    #[serde(default)]
    pub notice: String,
    /// The WeChat id customers add to reach the shop.
    #[serde(default)]
    pub wechat_id: String,
    /// The shop's WeChat Pay sub-merchant id (特约商户号) under the provider: customers' payments go to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    /// The subscribe message that tells a staff member of a chat message while not in the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_notice: Option<crate::domain::chat::ChatNotice>,
}

pub const MAX_BANNERS: usize = 9;
pub const MAX_SECTIONS: usize = 30;

/// At most `max` characters on one line (no control characters at all).
fn line_within(name: &str, value: &str, max: usize) -> Result<(), String> {
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(format!(
            "{name} is at most {max} characters, without control characters"
        ));
    }
    Ok(())
}

/// At most `max` characters, lines allowed.
fn text_within(name: &str, value: &str, max: usize) -> Result<(), String> {
    if value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!(
            "{name} is at most {max} characters, without control characters"
        ));
    }
    Ok(())
}

fn https_url(name: &str, value: &str) -> Result<(), String> {
    if !value.is_empty() && (!value.starts_with("https://") || value.len() > 512) {
        return Err(format!(
            "{name} must be an https URL of at most 512 characters"
        ));
    }
    Ok(())
}

fn phone_text(name: &str, value: &str) -> Result<(), String> {
    line_within(name, value, 32)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || "+- ()".contains(c))
    {
        return Err(format!("{name} holds digits, spaces and + - ( ) only"));
    }
    Ok(())
}

impl Website {
    pub fn validate(&self) -> Result<(), String> {
        if self.title.trim().is_empty() {
            return Err("title is required".into());
        }
        text_within("title", &self.title, 64)?;
        text_within("intro", &self.intro, 2000)?;
        https_url("logo", &self.logo)?;
        if self.banners.len() > MAX_BANNERS {
            return Err(format!("at most {MAX_BANNERS} banners"));
        }
        for b in &self.banners {
            https_url("banners", b)?;
        }
        if self.sections.len() > MAX_SECTIONS {
            return Err(format!("at most {MAX_SECTIONS} sections"));
        }
        for s in &self.sections {
            if s.title.trim().is_empty() {
                return Err("every section has a title".into());
            }
            text_within("sections.title", &s.title, 64)?;
            text_within("sections.body", &s.body, 5000)?;
            https_url("sections.image", &s.image)?;
        }
        let c = &self.contact;
        phone_text("contact.phone", &c.phone)?;
        text_within("contact.email", &c.email, 128)?;
        text_within("contact.address", &c.address, 128)?;
        if c.latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v))
            || c.longitude.is_some_and(|v| !(-180.0..=180.0).contains(&v))
        {
            return Err("contact.latitude is -90 to 90 and contact.longitude -180 to 180".into());
        }
        Ok(())
    }
}

impl ShopSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.shop_name.trim().is_empty() {
            return Err("shopName is required".into());
        }
        text_within("shopName", &self.shop_name, 32)?;
        https_url("logo", &self.logo)?;
        phone_text("phone", &self.phone)?;
        text_within("address", &self.address, 128)?;
        text_within("openHours", &self.open_hours, 64)?;
        text_within("notice", &self.notice, 500)?;
        text_within("wechatId", &self.wechat_id, 64)?;
        if let Some(id) = &self.sub_mchid {
            if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err("subMchid is the shop's WeChat Pay sub-merchant id (digits)".into());
            }
        }
        if let Some(notice) = &self.chat_notice {
            notice.validate()?;
        }
        Ok(())
    }
}

/// Ids the runtime API makes: a prefix and 16 hexadecimal digits.
pub fn valid_id(prefix: &str, id: &str) -> bool {
    id.len() == prefix.len() + 16
        && id.starts_with(prefix)
        && id[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The id of a record a create made under the caller's `requestId`: the same request, retried or sent twice at
/// once, names the same record, so it is made once. `scope` keeps one mini-program's ids from another's.
pub fn id_for_request(prefix: &str, scope: &str, request_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{scope}\n{prefix}\n{request_id}").as_bytes());
    format!("{prefix}{}", &crate::domain::ids::hex_lower(&digest)[..16])
}

/// A client's request id: 8 to 64 letters, digits, `-` or `_`.
pub fn valid_request_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

pub const STAFF_PREFIX: &str = "s_";
pub const CUSTOMER_PREFIX: &str = "c_";

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> Card {
        Card {
            name: "王芳".into(),
            phone: "+86 138-0000 0000".into(),
            email: "wang@example.com".into(),
            avatar: "https://img.example.com/a.png".into(),
            ..Card::default()
        }
    }

    #[test]
    fn a_plain_card_is_valid_and_each_rule_refuses_its_field() {
        assert_eq!(card().validate(), Ok(()));
        type Spoil = fn(&mut Card);
        let cases: [(Spoil, &str); 6] = [
            (|c| c.name = " ".into(), "name"),
            (|c| c.name = "x".repeat(33), "name"),
            (
                |c| c.avatar = "http://img.example.com/a.png".into(),
                "avatar",
            ),
            (|c| c.email = "not-an-address".into(), "email"),
            (|c| c.phone = "call me".into(), "phone"),
            (|c| c.signature = "line\u{0}break".into(), "signature"),
        ];
        for (spoil, field) in cases {
            let mut c = card();
            spoil(&mut c);
            let err = c.validate().unwrap_err();
            assert!(err.starts_with(field), "{field}: {err}");
        }
    }

    #[test]
    fn sources_keep_the_seeds_codes() {
        for s in [Source::Scan, Source::Forward] {
            assert_eq!(Source::from_code(s.code()), Some(s));
        }
        assert_eq!(Source::Scan.code(), 1);
        assert_eq!(Source::Forward.code(), 2);
        assert_eq!(Source::from_code(3), None);
    }

    fn category(id: &str, parent: Option<&str>, sort: i64) -> Category {
        Category {
            id: id.into(),
            name: id.into(),
            parent_id: parent.map(str::to_owned),
            sort,
            children: 0,
            products: 0,
            version: 1,
        }
    }

    #[test]
    fn the_tree_nests_children_under_their_parents_in_order_and_loses_no_orphan() {
        let tree = category_tree(vec![
            category("tea", None, 2),
            category("green", Some("tea"), 1),
            category("cakes", None, 1),
            category("black", Some("tea"), 0),
            category("orphan", Some("gone"), 0),
        ]);
        let shape: Vec<(&str, Vec<&str>)> = tree
            .iter()
            .map(|n| {
                (
                    n.category.id.as_str(),
                    n.items.iter().map(|c| c.id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("orphan", vec![]),
                ("cakes", vec![]),
                ("tea", vec!["black", "green"])
            ]
        );
    }

    #[test]
    fn product_rules() {
        let good = ProductInput {
            name: "龙井".into(),
            category_id: None,
            price: 8800,
            cover: "https://img.example.com/c.png".into(),
            images: vec![],
            details: String::new(),
            on_sale: true,
            sort: 0,
        };
        assert_eq!(good.validate(), Ok(()));
        let bad = [
            ProductInput {
                price: -1,
                ..good.clone()
            },
            ProductInput {
                price: MAX_PRICE_FEN + 1,
                ..good.clone()
            },
            ProductInput {
                name: " ".into(),
                ..good.clone()
            },
            ProductInput {
                cover: "http://img.example.com/c.png".into(),
                ..good.clone()
            },
            ProductInput {
                images: vec!["https://a.example.com/x.png".into(); 10],
                ..good.clone()
            },
            ProductInput {
                details: "x".repeat(MAX_DETAILS_CHARS + 1),
                ..good.clone()
            },
        ];
        for p in bad {
            assert!(p.validate().is_err(), "{p:?}");
        }
    }

    #[test]
    fn a_website_and_settings_are_checked_field_by_field() {
        let site = Website {
            title: "安茶".into(),
            banners: vec!["https://img.example.com/b.png".into()],
            sections: vec![WebsiteSection {
                title: "关于我们".into(),
                body: "一家茶馆\n杭州".into(),
                image: String::new(),
            }],
            contact: Contact {
                phone: "0571-88886666".into(),
                latitude: Some(30.25),
                longitude: Some(120.16),
                ..Contact::default()
            },
            ..Website::default()
        };
        assert_eq!(site.validate(), Ok(()));
        let spoiled: [fn(&mut Website); 5] = [
            |w| w.title = String::new(),
            |w| w.banners = vec!["http://img.example.com/b.png".into()],
            |w| w.sections[0].title = " ".into(),
            |w| w.contact.latitude = Some(91.0),
            |w| w.contact.phone = "call us".into(),
        ];
        for spoil in spoiled {
            let mut w = site.clone();
            spoil(&mut w);
            assert!(w.validate().is_err(), "{w:?}");
        }
        let shop = ShopSettings {
            shop_name: "安茶".into(),
            open_hours: "09:00-21:00".into(),
            ..ShopSettings::default()
        };
        assert_eq!(shop.validate(), Ok(()));
        assert!(ShopSettings {
            shop_name: String::new(),
            ..shop.clone()
        }
        .validate()
        .is_err());
        assert!(ShopSettings {
            logo: "ftp://x".into(),
            ..shop
        }
        .validate()
        .is_err());
    }

    #[test]
    fn a_request_id_names_one_record_per_scope() {
        let a = id_for_request(STAFF_PREFIX, "RT#c#app1", "req-00000001");
        assert!(valid_id(STAFF_PREFIX, &a), "{a}");
        assert_eq!(a, id_for_request(STAFF_PREFIX, "RT#c#app1", "req-00000001"));
        assert_ne!(a, id_for_request(STAFF_PREFIX, "RT#c#app2", "req-00000001"));
        assert_ne!(a, id_for_request(STAFF_PREFIX, "RT#c#app1", "req-00000002"));
        assert!(valid_request_id("req-00000001"));
        assert!(!valid_request_id("short"));
        assert!(!valid_request_id("has space in it"));
    }

    #[test]
    fn ids_are_prefix_and_sixteen_hex_digits() {
        assert!(valid_id(STAFF_PREFIX, "s_0123456789abcdef"));
        assert!(!valid_id(STAFF_PREFIX, "c_0123456789abcdef"));
        assert!(!valid_id(STAFF_PREFIX, "s_0123456789abcde"));
        assert!(!valid_id(STAFF_PREFIX, "s_0123456789abcdeg"));
    }
}
