use axum::extract::FromRef;
use reel_core::clock::Clock;
use reel_core::ports::{BlobUrls, Comments, MultipartStore, Sessions, Users, Videos};
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

/// The object store's multipart uploads, as a handler extracts them (`State<PartStore>`).
#[derive(Clone)]
pub struct PartStore(pub Arc<dyn MultipartStore>);

/// The state of the routes that take uploads (the videos function, the local site):
/// [`ByteState`] and the store's multipart uploads, which only these routes call (the
/// stream and page functions carry no client for them).
#[derive(Clone)]
pub struct UploadState {
    pub bytes: ByteState,
    pub parts: PartStore,
}

impl UploadState {
    pub fn new(bytes: ByteState, parts: Arc<dyn MultipartStore>) -> Self {
        Self {
            bytes,
            parts: PartStore(parts),
        }
    }
}

impl FromRef<UploadState> for AppState {
    fn from_ref(state: &UploadState) -> Self {
        state.bytes.app.clone()
    }
}

impl FromRef<UploadState> for BlobUrlSigner {
    fn from_ref(state: &UploadState) -> Self {
        state.bytes.urls.clone()
    }
}

impl FromRef<UploadState> for PartStore {
    fn from_ref(state: &UploadState) -> Self {
        state.parts.clone()
    }
}
