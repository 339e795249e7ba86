//! Orders a mini-program's customers pay with WeChat Pay (seed 002 预支付): what may be ordered, the amount computed
//! from the shop's stored prices (never the client's), and the states an order moves through:
//! `created` → `paid` (WeChat Pay's notification or a query says so) → `refunded`, or `created` → `closed`.
use serde::{Deserialize, Serialize};

use crate::domain::runtime::{Product, MAX_PRICE_FEN};

pub const MAX_LINES: usize = 20;
pub const MAX_QUANTITY: i64 = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderState {
    Created,
    Paid,
    Closed,
    Refunded,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Created => "created",
            OrderState::Paid => "paid",
            OrderState::Closed => "closed",
            OrderState::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => OrderState::Created,
            "paid" => OrderState::Paid,
            "closed" => OrderState::Closed,
            "refunded" => OrderState::Refunded,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemRequest {
    pub product_id: String,
    pub quantity: i64,
}

/// One line of an order as the shop priced it when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub product_id: String,
    pub name: String,
    /// In fen, the stored price.
    pub price: i64,
    pub quantity: i64,
}

/// An order as kept and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub out_trade_no: String,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    /// In fen.
    pub total: i64,
    pub description: String,
    pub state: OrderState,
    /// The merchant's WeChat Pay sub-merchant the order is paid to (its shop settings' when made).
    pub sub_mchid: String,
    #[serde(skip)]
    pub prepay_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    pub created_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_ms: Option<i64>,
}

/// Checks what was asked for before any product is read: 1 to 20 distinct products, 1 to 99 of each.
pub fn check_items(items: &[ItemRequest]) -> Result<(), String> {
    if items.is_empty() || items.len() > MAX_LINES {
        return Err(format!("items lists 1 to {MAX_LINES} products"));
    }
    for (i, item) in items.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            return Err(format!("quantity is 1 to {MAX_QUANTITY}"));
        }
        if items[..i].iter().any(|o| o.product_id == item.product_id) {
            return Err("each product once: give its quantity instead".into());
        }
    }
    Ok(())
}

/// The order's lines from the stored products (in the order asked), or why it cannot be made: a product off sale.
pub fn price(items: &[ItemRequest], products: &[Product]) -> Result<(Vec<OrderLine>, i64), String> {
    let mut lines = Vec::with_capacity(items.len());
    let mut total: i64 = 0;
    for item in items {
        let p = products
            .iter()
            .find(|p| p.id == item.product_id)
            .ok_or_else(|| format!("product {} not found", item.product_id))?;
        if !p.input.on_sale {
            return Err(format!("{} is not on sale", p.input.name));
        }
        total += p.input.price * item.quantity;
        lines.push(OrderLine {
            product_id: p.id.clone(),
            name: p.input.name.clone(),
            price: p.input.price,
            quantity: item.quantity,
        });
    }
    if total <= 0 {
        return Err("the order comes to nothing: there is nothing to pay".into());
    }
    if total > MAX_PRICE_FEN {
        return Err("the order is larger than one payment may be".into());
    }
    Ok((lines, total))
}

/// WeChat Pay's `description` (at most 127 characters): the first product, and how many more.
pub fn description(lines: &[OrderLine]) -> String {
    let first: String = lines[0].name.chars().take(100).collect();
    match lines.len() {
        1 => first,
        n => format!("{first} 等{n}件商品"),
    }
}

/// An `out_trade_no` WeChat Pay takes: 6 to 32 of `[0-9A-Za-z_*-]`.
pub fn valid_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_*-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::runtime::ProductInput;

    fn product(id: &str, price: i64, on_sale: bool) -> Product {
        Product {
            id: id.into(),
            input: ProductInput {
                name: format!("商品{id}"),
                category_id: None,
                price,
                cover: String::new(),
                images: vec![],
                details: String::new(),
                on_sale,
                sort: 0,
            },
            forwards: 0,
            version: 1,
            updated_ms: 0,
        }
    }

    fn item(id: &str, quantity: i64) -> ItemRequest {
        ItemRequest {
            product_id: id.into(),
            quantity,
        }
    }

    #[test]
    fn the_amount_is_the_stored_prices_times_the_quantities() {
        let products = [product("a", 1990, true), product("b", 500, true)];
        let (lines, total) = price(&[item("a", 2), item("b", 1)], &products).unwrap();
        assert_eq!(total, 1990 * 2 + 500);
        assert_eq!(lines[0].price, 1990);
        assert_eq!(description(&lines), "商品a 等2件商品");
    }

    #[test]
    fn off_sale_free_missing_and_oversized_orders_are_refused() {
        assert!(price(&[item("a", 1)], &[product("a", 100, false)]).is_err());
        assert!(price(&[item("a", 1)], &[product("a", 0, true)]).is_err());
        assert!(price(&[item("x", 1)], &[product("a", 100, true)]).is_err());
        assert!(price(&[item("a", 99)], &[product("a", MAX_PRICE_FEN, true)]).is_err());
        assert!(check_items(&[]).is_err());
        assert!(check_items(&[item("a", 0)]).is_err());
        assert!(check_items(&[item("a", 100)]).is_err());
        assert!(check_items(&[item("a", 1), item("a", 2)]).is_err());
        assert!(check_items(&vec![item("a", 1); 21]).is_err());
        assert!(check_items(&[item("a", 1), item("b", 99)]).is_ok());
    }

    #[test]
    fn trade_numbers_are_wechat_pays() {
        assert!(valid_trade_no("O1234567890abcdef"));
        assert!(!valid_trade_no("short"));
        assert!(!valid_trade_no("has space 123"));
        assert!(!valid_trade_no(&"x".repeat(33)));
    }
}
