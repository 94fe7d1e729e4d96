//! The local host: every router on the embedded adapters, in one process.

use crate::adapters::local::{load_or_create_key, LocalBlobs, SqliteStore};
use crate::config::Config;
use crate::http::blobs::BlobEndpoint;
use crate::http::{local_app, AppState};
use crate::signing::Signer;
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long in-flight requests (e.g. a slow stream) may run on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Opens the data directory and builds the whole site.
pub fn build_app(config: &Config) -> anyhow::Result<axum::Router> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let key = load_or_create_key(&config.data_dir)?;
    let store = Arc::new(SqliteStore::open(&config.data_dir.join("reel.db"))?);
    let blobs = Arc::new(LocalBlobs::open(
        &config.data_dir,
        Signer::new(key),
        config.upload_url_ttl_secs,
        config.stream_url_ttl_secs,
    )?);
    let state = AppState {
        users: store.clone(),
        sessions: store.clone(),
        videos: store.clone(),
        comments: store.clone(),
        deletions: store.clone(),
        blobs: blobs.clone(),
        config: Arc::new(config.clone()),
        cursors: Signer::new(key),
    };
    let endpoint = BlobEndpoint {
        blobs,
        videos: store,
        limiter: Arc::new(Semaphore::new(config.stream_concurrency)),
    };
    Ok(local_app(state, endpoint))
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish for a grace
/// period. Prints `listening on http://ADDR` on stdout once bound (port 0 picks a port).
pub async fn serve(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = build_app(config)?;
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "serving");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = stop_rx.await;
    });
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        result = &mut server => return result.context("server failed"),
        () = shutdown => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => result.context("server failed"),
        Err(_) => {
            tracing::warn!("in-flight requests did not finish in time; stopping anyway");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
