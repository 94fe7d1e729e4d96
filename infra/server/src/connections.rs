//! The local server's connections, bounded so that no client can hold the server's
//! resources for free:
//! - at most `max_connections` open at once: the accept loop takes a permit before it
//!   accepts, so the surplus waits in the kernel's listen backlog;
//! - at most `max_per_address` of them from one client address (an IPv6 client's /64),
//!   trusted proxies excepted: the surplus is closed at once, so one machine cannot take
//!   every slot;
//! - a connection's first request must begin within `header_read_timeout`, whatever the
//!   protocol: one that sends nothing, half a request head, or an HTTP/2 preface and
//!   then only PINGs or SETTINGS is closed. Later HTTP/1 heads are under hyper's own
//!   header timer;
//! - a connection is closed once it has moved no byte either way for `idle_timeout` (an
//!   idle keep-alive, or a client that stopped reading a response: closing it drops the
//!   response body, and with it the stream slot the body holds), or has had no request
//!   in flight for as long (HTTP/2 PINGs move bytes, but do not keep a connection);
//! - an HTTP/2 connection carries at most [`H2_MAX_STREAMS`] requests at once.
//!
//! Graceful shutdown is hyper-util's: on the signal no new connection is accepted and
//! open ones finish their in-flight requests, for a grace period.

use axum::body::{Body, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use reel_core::domain::{ClientKey, TrustedProxies};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Requests one HTTP/2 connection may have in flight at once (hyper's default is 200).
/// A page load needs a dozen; the stream limiter and the connection caps count the
/// rest of a client's budget.
pub const H2_MAX_STREAMS: u32 = 32;

/// The bounds (see the module docs).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_per_address: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// Exempt from `max_per_address`: every client behind a proxy shares its address.
    pub trusted_proxies: TrustedProxies,
}

/// Serves `app` on `listener` until `shutdown`, then lets open connections finish for
/// up to `grace`. Returns whether they all did.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> bool {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerAddress::new(limits.max_per_address, limits.trusted_proxies.clone());
    let graceful = GracefulShutdown::new();
    let mut accept_failing = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning, and
                    // say so once per run of failures, not every 50 ms.
                    if !accept_failing {
                        tracing::warn!(cause = %e, "accepting connections is failing; retrying every 50 ms");
                        accept_failing = true;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if accept_failing {
            tracing::info!("accepting connections again");
            accept_failing = false;
        }
        let Some(address_slot) = per_address.take(remote) else {
            tracing::debug!(%remote, "closing a connection over the per-address cap");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            inner: stream,
            activity: activity.clone(),
        });
        let service = TowerToHyperService::new(counted(app.clone(), remote, activity.clone()));
        let connection = graceful.watch(
            builder
                .serve_connection_with_upgrades(io, service)
                .into_owned(),
        );
        let (first_request, idle) = (limits.header_read_timeout, limits.idle_timeout);
        tokio::spawn(async move {
            tokio::select! {
                _ = connection => {}
                why = activity.expired(first_request, idle) => {
                    tracing::debug!(%remote, "closing a connection: {why}");
                }
            }
            drop((slot, address_slot));
        });
    }
    drop(listener);
    tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_ok()
}

/// `app` with the peer's address as `ConnectInfo`, each request counted in flight on
/// `activity` until its response body is done or dropped.
fn counted(
    app: axum::Router,
    remote: SocketAddr,
    activity: Arc<Activity>,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone {
    tower::service_fn(move |mut request: Request<Incoming>| {
        let in_flight = InFlight::start(activity.clone());
        request.extensions_mut().insert(ConnectInfo(remote));
        let app = app.clone();
        async move {
            let response = app.oneshot(request.map(Body::new)).await?;
            Ok(response.map(|body| {
                Body::new(Counted {
                    body,
                    _in_flight: in_flight,
                })
            }))
        }
    })
}

/// Open connections per client key, against the cap.
struct PerAddress {
    max: usize,
    trusted: TrustedProxies,
    open: Arc<Mutex<HashMap<ClientKey, usize>>>,
}

/// One connection's place in [`PerAddress`], given back on drop.
struct AddressSlot {
    key: Option<ClientKey>,
    open: Arc<Mutex<HashMap<ClientKey, usize>>>,
}

impl PerAddress {
    fn new(max: usize, trusted: TrustedProxies) -> Self {
        Self {
            max,
            trusted,
            open: Arc::default(),
        }
    }

    /// A place for a connection from `remote`, or none when its address is at the cap.
    fn take(&self, remote: SocketAddr) -> Option<AddressSlot> {
        let open = self.open.clone();
        if self.trusted.contains(remote.ip()) {
            return Some(AddressSlot { key: None, open });
        }
        let key = ClientKey::of(remote.ip());
        let mut counts = self.open.lock().expect("never poisoned: no panics inside");
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        drop(counts);
        Some(AddressSlot {
            key: Some(key),
            open,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut counts = self.open.lock().expect("never poisoned: no panics inside");
        if let Some(count) = counts.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&key);
            }
        }
    }
}

/// A request in flight on its connection: from its head to the end (or drop) of its
/// response body.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .last_request_end_ms
            .store(self.0.now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request counted in flight.
struct Counted {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Counted {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// What a connection has done, and when: the bytes it moved and the requests it carried.
struct Activity {
    started: Instant,
    last_byte_ms: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicUsize,
    last_request_end_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_byte_ms: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            last_request_end_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn touch(&self) {
        self.last_byte_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Resolves, saying why, once the connection has had no request for
    /// `first_request` since it opened, or no byte moved or no request in flight for
    /// `idle`.
    async fn expired(&self, first_request: Duration, idle: Duration) -> &'static str {
        let (first_request, idle) = (first_request.as_millis() as u64, idle.as_millis() as u64);
        loop {
            let now = self.now_ms();
            let since_byte = now.saturating_sub(self.last_byte_ms.load(Ordering::Relaxed));
            if since_byte >= idle {
                return "no byte moved for the idle timeout";
            }
            let mut wait = idle - since_byte;
            if self.requests.load(Ordering::Relaxed) == 0 {
                if now >= first_request {
                    return "no request within the header timeout";
                }
                wait = wait.min(first_request - now);
            } else if self.in_flight.load(Ordering::Relaxed) == 0 {
                let since_end =
                    now.saturating_sub(self.last_request_end_ms.load(Ordering::Relaxed));
                if since_end >= idle {
                    return "no request in flight for the idle timeout";
                }
                wait = wait.min(idle - since_end);
            }
            tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
        }
    }
}

/// A socket that notes every read or write that moved bytes.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl Tracked {
    fn note<T>(&self, result: &Poll<io::Result<T>>, moved: impl FnOnce(&T) -> bool) {
        if let Poll::Ready(Ok(value)) = result {
            if moved(value) {
                self.activity.touch();
            }
        }
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = buf.filled().len() > before;
        this.note(&result, |_| read);
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.note(&result, |n| *n > 0);
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.note(&result, |n| *n > 0);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
