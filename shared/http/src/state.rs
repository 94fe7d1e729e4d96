use axum::extract::FromRef;
use reel_core::clock::Clock;
use reel_core::ports::{BlobUrls, Comments, Sessions, Users, Videos};
use reel_core::settings::Settings;
use reel_core::signing::Signer;
use std::sync::Arc;

/// What every handler can reach: the metadata ports, the config, the cursor signer and
/// the clock.
/// Built once per process (per Lambda instance) and cloned cheaply per request.
#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn Users>,
    pub sessions: Arc<dyn Sessions>,
    pub videos: Arc<dyn Videos>,
    pub comments: Arc<dyn Comments>,
    pub config: Arc<Settings>,
    pub cursors: Signer,
    /// "Now" for every handler (a test's manual clock lets time pass without sleeping).
    pub clock: Arc<dyn Clock>,
}

/// The state of the routes that move bytes (upload grants, streaming): everything in
/// [`AppState`] and signed URLs to the object store. Those routers are `Router<S>` with
/// `BlobUrlSigner: FromRef<S>`, so a host cannot build them without a signer.
#[derive(Clone)]
pub struct ByteState {
    pub app: AppState,
    pub urls: BlobUrlSigner,
}

/// Signed URLs to the object store, as a handler extracts them (`State<BlobUrlSigner>`).
#[derive(Clone)]
pub struct BlobUrlSigner(pub Arc<dyn BlobUrls>);

impl ByteState {
    pub fn new(app: AppState, urls: Arc<dyn BlobUrls>) -> Self {
        Self {
            app,
            urls: BlobUrlSigner(urls),
        }
    }
}

impl FromRef<ByteState> for AppState {
    fn from_ref(state: &ByteState) -> Self {
        state.app.clone()
    }
}

impl FromRef<ByteState> for BlobUrlSigner {
    fn from_ref(state: &ByteState) -> Self {
        state.urls.clone()
    }
}
