//! Chat between a mini-program's customers and its staff (seed 002 send_msg, getmsg, chat list, query_num): what a
//! message may be, checked before anything is read or written. A conversation is one customer and one staff member
//! of one mini-program; its messages are numbered 1, 2, 3… with no gaps, in the order they were committed.
use serde::{Deserialize, Serialize};

/// Who wrote a message, and which side of a conversation a caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    Customer,
    Staff,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Customer => "customer",
            Side::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Side::Customer),
            "staff" => Some(Side::Staff),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Side::Customer => Side::Staff,
            Side::Staff => Side::Customer,
        }
    }
}

pub const TEXT_MAX: usize = 1000;
pub const IMAGE_MAX_BYTES: i64 = 5 * 1024 * 1024;
pub const VIDEO_MAX_BYTES: i64 = 20 * 1024 * 1024;
/// A page of history, as the seed's chat list.
pub const HISTORY_PAGE: i32 = 20;

/// The media types a chat takes, each with its extension and largest size.
pub fn media_kind(content_type: &str) -> Option<(InfoType, &'static str, i64)> {
    match content_type {
        "image/png" => Some((InfoType::Image, "png", IMAGE_MAX_BYTES)),
        "image/jpeg" => Some((InfoType::Image, "jpg", IMAGE_MAX_BYTES)),
        "video/mp4" => Some((InfoType::Video, "mp4", VIDEO_MAX_BYTES)),
        _ => None,
    }
}

/// The seed's `info_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoType {
    /// 1: text and emoji.
    Text,
    /// 2: a product consult (the product's cover, name and price, as stored).
    Product,
    /// 3: the staff member asks for the customer's phone number or WeChat id.
    Request,
    /// 4: an image.
    Image,
    /// 5: a video.
    Video,
}

impl InfoType {
    pub fn code(self) -> i64 {
        match self {
            InfoType::Text => 1,
            InfoType::Product => 2,
            InfoType::Request => 3,
            InfoType::Image => 4,
            InfoType::Video => 5,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => InfoType::Text,
            2 => InfoType::Product,
            3 => InfoType::Request,
            4 => InfoType::Image,
            5 => InfoType::Video,
            _ => return None,
        })
    }
}

/// What a staff member asks a customer for (info type 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Ask {
    Phone,
    Wechat,
}

impl Ask {
    pub fn as_str(self) -> &'static str {
        match self {
            Ask::Phone => "phone",
            Ask::Wechat => "wechat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "phone" => Some(Ask::Phone),
            "wechat" => Some(Ask::Wechat),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    /// The customer side names the staff member it writes to…
    #[serde(default)]
    pub staff_id: Option<String>,
    /// …the staff side the customer.
    #[serde(default)]
    pub customer_id: Option<String>,
    pub info_type: i64,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub ask: Option<Ask>,
    /// The key an upload (`POST /app/chat/upload`) answered.
    #[serde(default)]
    pub media_key: Option<String>,
    /// The client's id of this message: the same send again (a retry) is the same message.
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

/// A message as checked, before the product or the media it names are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Draft {
    Text(String),
    Product(String),
    Request(Ask),
    Media(InfoType, String),
}

fn only(req: &SendRequest, wanted: &str) -> Result<(), String> {
    let given = [
        ("text", req.text.is_some()),
        ("productId", req.product_id.is_some()),
        ("ask", req.ask.is_some()),
        ("mediaKey", req.media_key.is_some()),
    ];
    match given
        .iter()
        .find(|(name, present)| *present && *name != wanted)
    {
        Some((name, _)) => Err(format!(
            "infoType {} takes {wanted}, not {name}",
            req.info_type
        )),
        None => Ok(()),
    }
}

impl SendRequest {
    /// The message the caller on `side` may send, or why not.
    pub fn draft(&self, side: Side) -> Result<Draft, String> {
        let info = InfoType::from_code(self.info_type)
            .ok_or("infoType is 1 (text), 2 (product), 3 (ask for phone or WeChat id), 4 (image) or 5 (video)")?;
        match info {
            InfoType::Text => {
                only(self, "text")?;
                let text = self.text.as_deref().unwrap_or_default();
                if text.trim().is_empty()
                    || text.chars().count() > TEXT_MAX
                    || text.chars().any(|c| c.is_control() && c != '\n')
                {
                    return Err(format!(
                        "text is 1 to {TEXT_MAX} characters, without control characters"
                    ));
                }
                Ok(Draft::Text(text.to_owned()))
            }
            InfoType::Product => {
                only(self, "productId")?;
                let id = self
                    .product_id
                    .clone()
                    .ok_or("infoType 2 needs productId")?;
                Ok(Draft::Product(id))
            }
            InfoType::Request => {
                only(self, "ask")?;
                if side != Side::Staff {
                    return Err("only the staff side asks for a phone number or WeChat id".into());
                }
                Ok(Draft::Request(
                    self.ask.ok_or("infoType 3 needs ask: phone or wechat")?,
                ))
            }
            InfoType::Image | InfoType::Video => {
                only(self, "mediaKey")?;
                let key = self
                    .media_key
                    .clone()
                    .ok_or("infoType 4 and 5 need the mediaKey of an upload")?;
                Ok(Draft::Media(info, key))
            }
        }
    }
}

/// A product as the message shows it: what the shop stored when the message was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductCard {
    pub id: String,
    pub name: String,
    pub cover: String,
    /// In fen.
    pub price: i64,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub seq: i64,
    pub from: Side,
    pub info_type: InfoType,
    pub text: Option<String>,
    pub product: Option<ProductCard>,
    pub ask: Option<Ask>,
    /// The media's key, content type and size.
    pub media: Option<(String, String, i64)>,
    pub client_msg_id: Option<String>,
    pub sent_ms: i64,
}

impl Message {
    /// A line for conversation lists and notifications.
    pub fn preview(&self) -> String {
        match (&self.text, &self.product, self.ask, self.info_type) {
            (Some(text), ..) => text.chars().take(40).collect(),
            (_, Some(p), ..) => format!("[商品] {}", p.name.chars().take(30).collect::<String>()),
            (_, _, Some(Ask::Phone), _) => "[请求手机号]".into(),
            (_, _, Some(Ask::Wechat), _) => "[请求微信号]".into(),
            (.., InfoType::Video) => "[视频]".into(),
            _ => "[图片]".into(),
        }
    }
}

/// The subscribe message a staff member gets of a customer's message while not in the chat: the mini-program's
/// template (`priTmplId`: templates are added per mini-program), the page it opens, and each of the template's
/// keywords filled from `{customer}`, `{preview}` and `{time}` or fixed text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatNotice {
    pub template_id: String,
    #[serde(default)]
    pub page: String,
    pub data: std::collections::BTreeMap<String, String>,
}

/// WeChat's limit on a `thing` keyword's value.
const THING_MAX: usize = 20;

impl ChatNotice {
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = (1..=128).contains(&self.template_id.len())
            && self
                .template_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !id_ok {
            return Err(
                "chatNotice.templateId is the mini-program's template id (priTmplId)".into(),
            );
        }
        if self.page.len() > 1024
            || self.page.starts_with('/')
            || self
                .page
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(
                "chatNotice.page is a page of the mini-program, without a leading /".into(),
            );
        }
        if self.data.is_empty() || self.data.len() > 10 {
            return Err("chatNotice.data names 1 to 10 keywords".into());
        }
        for (key, value) in &self.data {
            let (name, number) =
                key.split_at(key.find(|c: char| c.is_ascii_digit()).unwrap_or(key.len()));
            let key_ok = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit());
            if !key_ok {
                return Err(format!(
                    "chatNotice.data key {key:?} is a keyword such as thing1 or time2"
                ));
            }
            if value.is_empty() || value.chars().count() > 64 || value.chars().any(char::is_control)
            {
                return Err(format!("chatNotice.data.{key} is 1 to 64 characters"));
            }
        }
        Ok(())
    }

    /// The `data` of `subscribeMessage.send` for a message from `customer`: placeholders filled, `thing` values
    /// cut to WeChat's 20 characters.
    pub fn render(&self, customer: &str, preview: &str, time: &str) -> serde_json::Value {
        let data: serde_json::Map<String, serde_json::Value> = self
            .data
            .iter()
            .map(|(key, pattern)| {
                let mut value = pattern
                    .replace("{customer}", customer)
                    .replace("{preview}", preview)
                    .replace("{time}", time);
                if key.starts_with("thing") && value.chars().count() > THING_MAX {
                    value = value.chars().take(THING_MAX - 1).chain(['…']).collect();
                }
                (key.clone(), serde_json::json!({ "value": value }))
            })
            .collect();
        serde_json::Value::Object(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: serde_json::Value) -> SendRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn each_info_type_takes_its_own_field_only() {
        assert_eq!(
            req(json!({"infoType": 1, "text": "你好 👋"})).draft(Side::Customer),
            Ok(Draft::Text("你好 👋".into()))
        );
        assert_eq!(
            req(json!({"infoType": 2, "productId": "p_1"})).draft(Side::Customer),
            Ok(Draft::Product("p_1".into()))
        );
        assert_eq!(
            req(json!({"infoType": 3, "ask": "phone"})).draft(Side::Staff),
            Ok(Draft::Request(Ask::Phone))
        );
        assert_eq!(
            req(json!({"infoType": 5, "mediaKey": "k"})).draft(Side::Staff),
            Ok(Draft::Media(InfoType::Video, "k".into()))
        );
        for bad in [
            json!({"infoType": 1, "text": "hi", "productId": "p_1"}),
            json!({"infoType": 2}),
            json!({"infoType": 4, "text": "a picture"}),
            json!({"infoType": 6, "text": "x"}),
            json!({"infoType": 0}),
        ] {
            assert!(req(bad.clone()).draft(Side::Staff).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_bounded_and_printable_and_only_staff_ask_for_contacts() {
        let long = "字".repeat(TEXT_MAX + 1);
        for text in [String::new(), "  ".into(), long, "a\u{0}b".into()] {
            assert!(req(json!({"infoType": 1, "text": text}))
                .draft(Side::Customer)
                .is_err());
        }
        assert!(req(json!({"infoType": 1, "text": "line\nline"}))
            .draft(Side::Customer)
            .is_ok());
        let ask = req(json!({"infoType": 3, "ask": "wechat"}));
        assert!(ask.draft(Side::Customer).is_err());
        assert!(ask.draft(Side::Staff).is_ok());
    }

    #[test]
    fn a_notice_fills_its_keywords_and_keeps_things_within_wechats_twenty_characters() {
        let notice: ChatNotice = serde_json::from_value(json!({
            "templateId": "tmpl-1", "page": "pages/chat/list?from=notice",
            "data": {"thing1": "{customer}：{preview}", "time2": "{time}", "phrase3": "新消息"}
        }))
        .unwrap();
        assert_eq!(notice.validate(), Ok(()));
        let data = notice.render("小明", &"很长的问题".repeat(10), "2026-12-07 13:00");
        let thing = data["thing1"]["value"].as_str().unwrap();
        assert_eq!(thing.chars().count(), 20);
        assert!(thing.starts_with("小明：很长") && thing.ends_with('…'));
        assert_eq!(data["time2"]["value"], "2026-12-07 13:00");
        assert_eq!(data["phrase3"]["value"], "新消息");
        for bad in [
            json!({"templateId": "", "data": {"thing1": "x"}}),
            json!({"templateId": "t", "page": "/pages/a", "data": {"thing1": "x"}}),
            json!({"templateId": "t", "data": {}}),
            json!({"templateId": "t", "data": {"Thing": "x"}}),
            json!({"templateId": "t", "data": {"thing1": ""}}),
        ] {
            let n: ChatNotice = serde_json::from_value(bad.clone()).unwrap();
            assert!(n.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn media_kinds_are_images_and_mp4_videos_within_their_sizes() {
        assert_eq!(media_kind("image/png").map(|k| k.0), Some(InfoType::Image));
        assert_eq!(media_kind("video/mp4").map(|k| k.2), Some(VIDEO_MAX_BYTES));
        assert!(media_kind("image/svg+xml").is_none());
        assert!(media_kind("text/html").is_none());
    }
}
