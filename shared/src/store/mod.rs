//! DynamoDB repositories over the single table (key schema: docs/data-model.md), one module per aggregate.
pub mod authorizers;
pub mod components;
pub mod item;
pub mod pushes;
pub mod tokens;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::Client;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo { operation: &'static str, message: String },
    #[error("stored item {0} is malformed")]
    Malformed(String),
}

impl StoreError {
    pub fn dynamo<E: std::fmt::Debug, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let message = match &err {
            SdkError::ServiceError(service) => format!("{}", service.err()),
            other => format!("{other}"),
        };
        StoreError::Dynamo { operation, message }
    }
}

/// The table and its client; cheap to clone.
#[derive(Clone)]
pub struct Table {
    pub client: Client,
    pub name: String,
}

pub fn component_pk(component_appid: &str) -> String {
    format!("COMP#{component_appid}")
}
