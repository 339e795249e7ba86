//! Small helpers to build and read DynamoDB attribute maps without a mapping framework.
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

use super::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key(pk: String, sk: String) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

pub fn get_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub fn require_s(item: &Item, name: &str) -> Result<String, StoreError> {
    get_s(item, name).ok_or_else(|| StoreError::Malformed(format!("attribute {name}")))
}

/// A list of strings (empty when absent); other elements are skipped.
pub fn get_s_list(item: &Item, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

/// A list of strings as one attribute.
pub fn s_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

pub fn get_n_list(item: &Item, name: &str) -> Vec<i64> {
    item.get(name)
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_n().ok()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Pagination cursor: the last evaluated sort key, opaque to clients (base64url).
pub fn encode_cursor(last_key: Option<&Item>) -> Option<String> {
    use base64::Engine;
    let last = last_key?;
    let sk = get_s(last, "SK")?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sk))
}

/// Cursor over an index: encodes one attribute of the last key (base64url).
pub fn encode_cursor_with(
    last_key: Option<&Item>,
    pick: impl Fn(&Item) -> Option<String>,
) -> Option<String> {
    use base64::Engine;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pick(last_key?)?))
}

pub fn decode_cursor_with(cursor: &str, rebuild: impl Fn(&str) -> Item) -> Option<Item> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    Some(rebuild(&String::from_utf8(raw).ok()?))
}

pub fn decode_cursor(pk: &str, cursor: &str, sk_prefix: &str) -> Option<Item> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let sk = String::from_utf8(raw).ok()?;
    // A cursor can only move within the caller's own partition and record type.
    sk.starts_with(sk_prefix).then(|| key(pk.to_owned(), sk))
}

pub fn is_conditional_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// A conditional write's outcome: `Ok(true)` applied, `Ok(false)` its condition did not hold.
pub fn applied<T, E, R>(
    operation: &'static str,
    res: Result<T, SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + std::fmt::Debug + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    refused_when(operation, res, "ConditionalCheckFailedException")
}

/// How DynamoDB cancelled a transaction, from the per-item reasons it gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// One of our conditions did not hold: nothing was written, and trying again cannot help.
    ConditionFailed,
    /// A concurrent transaction, throttling or capacity: nothing was written, the same write may succeed later.
    Transient,
    /// Anything else (validation, size): a bug or a malformed item.
    Other,
}

/// Classifies a cancellation by its reasons: a condition failure wins; conflicts and throttling are transient.
pub fn classify_cancellation<'a>(reasons: impl IntoIterator<Item = Option<&'a str>>) -> Cancelled {
    let mut transient = false;
    let mut other = false;
    for code in reasons.into_iter().flatten() {
        match code {
            "ConditionalCheckFailed" => return Cancelled::ConditionFailed,
            "None" | "" => {}
            "TransactionConflict"
            | "ThrottlingError"
            | "ProvisionedThroughputExceeded"
            | "RequestLimitExceeded" => transient = true,
            _ => other = true,
        }
    }
    match (other, transient) {
        (true, _) => Cancelled::Other,
        (false, true) => Cancelled::Transient,
        // No reason named at all: DynamoDB gives reasons for every cancellation, so this is not ours to guess.
        (false, false) => Cancelled::Other,
    }
}

/// `Ok(false)` when DynamoDB refused with `code`; any other failure is an error.
fn refused_when<T, E, R>(
    operation: &'static str,
    res: Result<T, SdkError<E, R>>,
    code: &str,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + std::fmt::Debug + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some(code) => Ok(false),
        Err(e) => Err(StoreError::dynamo(operation, e)),
    }
}

/// Unwraps a transaction item builder; they only fail when the code forgot a required field.
pub fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("transaction item has its required fields: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_failed_condition_is_a_refusal() {
        let c = |codes: &[&'static str]| classify_cancellation(codes.iter().map(|c| Some(*c)));
        assert_eq!(
            c(&["None", "ConditionalCheckFailed"]),
            Cancelled::ConditionFailed
        );
        assert_eq!(
            c(&["TransactionConflict", "ConditionalCheckFailed"]),
            Cancelled::ConditionFailed
        );
        assert_eq!(c(&["None", "TransactionConflict"]), Cancelled::Transient);
        assert_eq!(c(&["ThrottlingError"]), Cancelled::Transient);
        assert_eq!(
            c(&["ProvisionedThroughputExceeded", "None"]),
            Cancelled::Transient
        );
        assert_eq!(c(&["ValidationError"]), Cancelled::Other);
        assert_eq!(
            c(&["ItemCollectionSizeLimitExceeded", "TransactionConflict"]),
            Cancelled::Other
        );
        assert_eq!(classify_cancellation([None, None]), Cancelled::Other);
    }
}
