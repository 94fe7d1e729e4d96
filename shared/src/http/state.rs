use super::error::ApiError;
use crate::config::Config;
use crate::ports::{BlobUrls, Comments, Sessions, Users, Videos};
use crate::signing::Signer;
use std::sync::Arc;

/// What every handler can reach: the ports, the config and the cursor signer.
/// Built once per process (per Lambda instance) and cloned cheaply per request.
#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn Users>,
    pub sessions: Arc<dyn Sessions>,
    pub videos: Arc<dyn Videos>,
    pub comments: Arc<dyn Comments>,
    /// Signed URLs to the object store; `None` in a Lambda function that serves no
    /// upload or stream route.
    pub blob_urls: Option<Arc<dyn BlobUrls>>,
    pub config: Arc<Config>,
    pub cursors: Signer,
}

impl AppState {
    /// The URL signer, for the routes that move bytes (uploads, streaming).
    pub fn blob_urls(&self) -> Result<&Arc<dyn BlobUrls>, ApiError> {
        self.blob_urls.as_ref().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "this host was built without blob URLs but serves a byte route"
            ))
        })
    }
}
