use crate::config::Config;
use crate::ports::{Blobs, Comments, Sessions, Users, Videos};
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
    pub blobs: Arc<dyn Blobs>,
    pub config: Arc<Config>,
    pub cursors: Signer,
}
