//! Images in S3: presigned PUTs for uploads (type and size signed in), presigned GETs for reads.
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;

use crate::aws::LazyClient;
use crate::error::{AppError, AppResult};

pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(300);
pub const READ_URL_TTL: Duration = Duration::from_secs(900);
pub const MAX_IMAGE_BYTES: i64 = 2 * 1024 * 1024;

#[derive(Clone)]
pub struct Blobs {
    client: LazyClient<aws_sdk_s3::Client>,
    bucket: String,
}

/// The allowed image types and the file extension each gets.
pub fn image_extension(content_type: &str) -> Option<&'static str> {
    match content_type {
        "image/png" => Some("png"),
        "image/jpeg" => Some("jpg"),
        _ => None,
    }
}

/// What can go wrong with the bucket; the SDK's error is kept as the cause, for the logs.
#[derive(Debug, thiserror::Error)]
#[error("S3 {operation} failed")]
pub struct BlobError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn s3_error(
    operation: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> AppError {
    AppError::Blob(BlobError {
        operation,
        source: Box::new(e),
    })
}

impl Blobs {
    pub fn new(client: LazyClient<aws_sdk_s3::Client>, bucket: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
        }
    }

    fn client(&self) -> &aws_sdk_s3::Client {
        self.client.get()
    }

    pub async fn upload_url(&self, key: &str, content_type: &str, size: i64) -> AppResult<String> {
        let cfg = PresigningConfig::expires_in(UPLOAD_URL_TTL).expect("static TTL is valid");
        let req = self
            .client()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size)
            .presigned(cfg)
            .await
            .map_err(|e| s3_error("presign PutObject", e))?;
        Ok(req.uri().to_owned())
    }

    /// What a client is told to upload an image with: a presigned PUT under `{prefix}{random}.{ext}`, its key, the
    /// header to send and how long the URL lives.
    pub async fn image_upload(
        &self,
        prefix: &str,
        content_type: &str,
        size: i64,
    ) -> AppResult<serde_json::Value> {
        let ext = image_extension(content_type).unwrap_or("bin");
        let key = format!("{prefix}{}.{ext}", crate::random::hex(8));
        let upload_url = self.upload_url(&key, content_type, size).await?;
        Ok(
            serde_json::json!({"uploadUrl": upload_url, "key": key, "method": "PUT",
                              "headers": {"Content-Type": content_type},
                              "expiresIn": UPLOAD_URL_TTL.as_secs()}),
        )
    }

    pub async fn read_url(&self, key: &str) -> AppResult<String> {
        let cfg = PresigningConfig::expires_in(READ_URL_TTL).expect("static TTL is valid");
        let req = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| s3_error("presign GetObject", e))?;
        Ok(req.uri().to_owned())
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> AppResult<()> {
        self.client()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| s3_error("PutObject", e))?;
        Ok(())
    }

    /// The bytes of an object, at most `max` of them (a larger object is refused unread).
    pub async fn get(&self, key: &str, max: i64) -> AppResult<Vec<u8>> {
        let out = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("GetObject", e))?;
        if out.content_length.unwrap_or(0) > max {
            return Err(AppError::BadRequest(format!(
                "the object is larger than {max} bytes"
            )));
        }
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| s3_error("GetObject body", e))?;
        Ok(data.into_bytes().to_vec())
    }

    /// Content type and size of an uploaded object, or None when nothing was uploaded under the key.
    pub async fn head(&self, key: &str) -> AppResult<Option<(String, i64)>> {
        match self
            .client()
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some((
                out.content_type.unwrap_or_default(),
                out.content_length.unwrap_or(0),
            ))),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error("HeadObject", e)),
        }
    }
}
