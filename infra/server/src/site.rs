//! The whole site in one process: every router and the deletion pipeline, built here on
//! the embedded adapters (or, through [`crate::aws`], on AWS's), and served.

use anyhow::Context;
use reel_core::clock::{Clock, SystemClock};
use reel_core::jobs::{runner, Dispatcher, Worker};
use reel_core::ports::Queue;
use reel_core::settings::Settings;
use reel_core::signing::Signer;
use reel_embedded::endpoint::BlobEndpoint;
use reel_embedded::{load_or_create_key, LocalBlobs, LocalMultipart, SqliteQueue, SqliteStore};
use reel_http::{site_app, AppState, ByteState, UploadState};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long in-flight requests (e.g. a slow stream) may run on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The whole local site: the HTTP app and the deletion pipeline's two halves.
pub struct Site {
    pub app: axum::Router,
    pub dispatcher: Dispatcher,
    pub worker: Worker,
    pub queue: Arc<dyn Queue>,
    /// The embedded store, whose abandoned multipart uploads are swept hourly (on S3
    /// the bucket's lifecycle rule does it).
    pub uploads: Option<Arc<LocalBlobs>>,
}

/// How often abandoned multipart uploads are looked for (they are discarded two days
/// after they began).
const UPLOAD_SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The embedded adapters on a data directory, and the handlers' state over them.
pub struct Embedded {
    pub state: UploadState,
    pub store: Arc<SqliteStore>,
    pub blobs: Arc<LocalBlobs>,
    /// Videos whose object is being written (a single PUT or a multipart completion):
    /// shared by the byte endpoint and the multipart store.
    pub uploading: Arc<std::sync::Mutex<std::collections::HashSet<reel_core::domain::VideoId>>>,
}

/// Opens (creating if needed) the data directory's database, videos and signing key;
/// `clock` is the system's ([`SystemClock`]) but in tests.
pub fn embedded(config: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Embedded> {
    let dir = &config.server.data_dir;
    reel_embedded::private_dir(dir).context("preparing the data directory")?;
    let key = load_or_create_key(dir)?;
    let store = Arc::new(SqliteStore::open(&dir.join("reel.db"))?);
    let blobs = Arc::new(
        LocalBlobs::open(
            dir,
            Signer::new(key),
            config.api.upload_url_ttl.as_secs() as i64,
            config.api.stream_url_ttl.as_secs() as i64,
        )?
        .with_free_space_floor(config.server.min_free_disk_bytes),
    );
    let uploading = Arc::default();
    let multipart = LocalMultipart {
        blobs: blobs.clone(),
        videos: store.clone(),
        uploading: Arc::clone(&uploading),
        clock: clock.clone(),
    };
    let app = AppState {
        users: store.clone(),
        sessions: store.clone(),
        videos: store.clone(),
        comments: store.clone(),
        config: Arc::new(config.clone()),
        cursors: Signer::new(key),
        clock,
    };
    Ok(Embedded {
        state: UploadState::new(ByteState::new(app, blobs.clone()), Arc::new(multipart)),
        store,
        blobs,
        uploading,
    })
}

/// Opens the data directory and builds the site with its deletion pipeline.
pub fn build_site(config: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Site> {
    let Embedded {
        state,
        store,
        blobs,
        uploading,
    } = embedded(config, clock)?;
    let queue: Arc<dyn Queue> = Arc::new(SqliteQueue::new(
        (*store).clone(),
        config.deletion.queue_max_receives.get(),
    ));
    let dispatcher = Dispatcher::new(
        store.clone(),
        queue.clone(),
        config.deletion.grace.as_secs() as i64,
    );
    let worker = Worker::new(blobs.clone(), store.clone(), store.clone());
    let endpoint = BlobEndpoint {
        blobs: blobs.clone(),
        videos: store,
        limiter: Arc::new(Semaphore::new(config.server.stream_concurrency.get())),
        uploading,
        clock: state.bytes.app.clock.clone(),
    };
    Ok(Site {
        app: site_app(state, reel_embedded::endpoint::router(endpoint)),
        dispatcher,
        worker,
        queue,
        uploads: Some(blobs),
    })
}

/// The operator commands' ports on an existing data directory (beside a running server:
/// SQLite's WAL lets both use the database). Refuses a directory without a database
/// rather than creating an empty one.
pub fn operations(config: &Settings) -> anyhow::Result<reel_core::ops::Operations> {
    let db = config.server.data_dir.join("reel.db");
    anyhow::ensure!(
        db.is_file(),
        "no Reel database at {} (set --data-dir or REEL_DATA_DIR to the server's data directory)",
        db.display()
    );
    let store = Arc::new(SqliteStore::open(&db)?);
    Ok(reel_core::ops::Operations {
        users: store.clone(),
        deletions: store.clone(),
        queue: Arc::new(SqliteQueue::new(
            (*store).clone(),
            config.deletion.queue_max_receives.get(),
        )),
    })
}

/// Serves the site on embedded storage; see [`serve_site`].
pub async fn serve(
    config: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_site(config, build_site(config, Arc::new(SystemClock))?, shutdown).await
}

/// Serves the site and runs the deletion pipeline until `shutdown` resolves. Prints
/// `listening on http://ADDR` on stdout once bound (port 0 picks a port).
pub async fn serve_site(
    config: &Settings,
    site: Site,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let every = config.server.deletion_interval;
    let dispatcher = tokio::spawn(runner::run_dispatcher(
        site.dispatcher,
        every,
        jobs_stopped.clone(),
    ));
    let visibility = config.deletion.queue_visibility.as_secs() as i64;
    let worker = tokio::spawn(runner::run_worker(
        site.worker,
        site.queue,
        visibility,
        jobs_stopped,
    ));
    let sweeper = site.uploads.map(|blobs| tokio::spawn(sweep_uploads(blobs)));
    let served = serve_http(config, site.app, shutdown).await;
    let _ = stop_jobs.send(true);
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    // The queue is durable: whatever a job had not finished is picked up after a restart.
    let _ = tokio::join!(dispatcher, worker);
    served
}

/// Discards abandoned multipart uploads now and every [`UPLOAD_SWEEP_EVERY`]. Stopping
/// it anywhere is harmless: each removal is of a whole upload directory.
async fn sweep_uploads(blobs: Arc<LocalBlobs>) {
    let mut every = tokio::time::interval(UPLOAD_SWEEP_EVERY);
    loop {
        every.tick().await;
        match blobs
            .sweep_uploads(reel_core::domain::Timestamp::now())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "abandoned multipart uploads discarded"),
            Err(e) => tracing::warn!(
                cause = format!("{e:#}"),
                "sweeping abandoned uploads failed"
            ),
        }
    }
}

/// Serves `app` until `shutdown`, then lets in-flight requests finish for a grace period;
/// connections are bounded as [`crate::connections`] says.
async fn serve_http(
    config: &Settings,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Before the address is announced: whoever waits for it finds the limit raised.
    let max_connections =
        crate::fd_limit::connections_within_open_files(config.server.max_connections.get());
    let listener = TcpListener::bind(config.server.addr)
        .await
        .with_context(|| format!("binding {}", config.server.addr))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    tracing::info!(%addr, "serving");
    if !addr.ip().is_loopback() && config.api.public_url.is_none() {
        tracing::warn!(
            "REEL_PUBLIC_URL is not set: the URLs handed to clients are built from each \
             request's Host header; set it to the address users reach the site by"
        );
    }
    let limits = crate::connections::Limits {
        max_connections,
        max_per_address: config.server.max_connections_per_address.get(),
        header_read_timeout: config.server.header_read_timeout,
        idle_timeout: config.server.idle_timeout,
        trusted_proxies: config.api.trusted_proxies.clone(),
    };
    let shutdown = async {
        shutdown.await;
        tracing::info!("shutting down");
    };
    if !crate::connections::serve(listener, app, limits, shutdown, SHUTDOWN_GRACE).await {
        tracing::warn!("in-flight requests did not finish in time; stopping anyway");
    }
    Ok(())
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
