//! The HTTP client under every SDK client: HTTP/1.1 over rustls on ring, through
//! hyper-util's pooled client, with the platform's root certificates loaded at the first
//! request.
//!
//! Why not the SDK's own client (`aws-smithy-http-client`): it always links an HTTP/2
//! stack (`h2`, ~0.4 MB of every function binary), though DynamoDB, S3 and SQS are
//! reached over HTTP/1.1. This one is hyper-util's client with only HTTP/1 compiled in,
//! the connect and read timeouts of the SDK's settings, and the SDK's classification of
//! transport errors (which ones the standard retry strategy may retry).
//!
//! The platform's roots are read when the first request needs a connector, not when an
//! SDK client is built: a few hundred files in `/etc/ssl/certs`, measured at ~4 ms of a
//! cold start, which a function spends on its first event rather than before it can
//! take one.

use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use http::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::{ClientConfig, RootCertStore};
use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tower::Service;

type BoxError = Box<dyn Error + Send + Sync>;
type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;
type Timeouts = (Option<Duration>, Option<Duration>);

/// One pooled connector per distinct pair of timeouts (in practice: one per process).
#[derive(Debug, Default)]
pub(crate) struct Http1Client {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for Http1Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        connectors
            .entry(timeouts)
            .or_insert_with(|| {
                let connector = match platform_roots() {
                    Ok(roots) => Connector::new(timeouts, roots),
                    Err(error) => Connector::broken(timeouts, error),
                };
                SharedHttpConnector::new(connector)
            })
            .clone()
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("reel-hyper-http1", None))
    }
}

/// The platform's root certificates (as `SSL_CERT_FILE`/`SSL_CERT_DIR` or the system's
/// bundle name them). Certificates that do not parse are skipped; none at all is an error.
fn platform_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
    match found.errors.first() {
        _ if added > 0 => Ok(roots),
        Some(error) => Err(format!("no TLS root certificates could be loaded: {error}")),
        None => Err("no TLS root certificates found on this system".to_owned()),
    }
}

/// A pooled HTTP/1.1 client, or why it could not be built (no usable root
/// certificates), which every request then reports.
#[derive(Debug, Clone)]
struct Connector {
    client: Result<Client<Connecting, SdkBody>, Arc<str>>,
    read_timeout: Option<Duration>,
}

impl Connector {
    fn broken((_, read_timeout): Timeouts, why: String) -> Self {
        Connector {
            client: Err(Arc::from(why)),
            read_timeout,
        }
    }

    fn new(timeouts: Timeouts, roots: RootCertStore) -> Self {
        let (connect_timeout, read_timeout) = timeouts;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = match ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
        {
            Ok(tls) => tls.with_root_certificates(roots).with_no_client_auth(),
            Err(error) => return Connector::broken(timeouts, error.to_string()),
        };
        let tls = HttpsConnectorBuilder::new().with_tls_config(tls);
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = tls.https_or_http().enable_http1().wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            // Without a timer the pool never expires idle connections.
            .pool_timer(TokioTimer::new())
            .build(Connecting {
                https,
                timeout: connect_timeout,
            });
        Connector {
            client: Ok(client),
            read_timeout,
        }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(why) => {
                let error = why.to_string().into();
                return HttpConnectorFuture::ready(Err(ConnectorError::other(error, None)));
            }
        };
        let read_timeout = self.read_timeout;
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())))
            }
        };
        HttpConnectorFuture::new(async move {
            let response = client.request(request);
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => response.await,
            };
            let response = response.map_err(|error| classify(error.into()))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// Opens a connection (TCP, then TLS for `https`) within the connect timeout.
#[derive(Debug, Clone)]
struct Connecting {
    https: HttpsConnector<TcpConnector>,
    timeout: Option<Duration>,
}

impl Service<Uri> for Connecting {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.https.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.https.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match timeout {
                Some(limit) => tokio::time::timeout(limit, connecting).await?,
                None => connecting.await,
            }
        })
    }
}

/// What the SDK's retry strategy should make of a failed request: a timeout, an I/O
/// failure (retried: the connection was refused, reset, or closed by the server while
/// idle in the pool), a mistake of ours (not retried), or something unknown.
fn classify(error: BoxError) -> ConnectorError {
    if find::<tokio::time::error::Elapsed>(error.as_ref()).is_some() {
        return ConnectorError::timeout(error);
    }
    if let Some(hyper_error) = find::<hyper::Error>(error.as_ref()) {
        if hyper_error.is_timeout() {
            return ConnectorError::timeout(error);
        }
        if hyper_error.is_user() {
            return ConnectorError::user(error);
        }
        if hyper_error.is_closed() || hyper_error.is_canceled() {
            return ConnectorError::io(error);
        }
        if hyper_error.is_incomplete_message() {
            return ConnectorError::other(error, Some(ErrorKind::TransientError));
        }
    }
    let connect_failed =
        find::<hyper_util::client::legacy::Error>(error.as_ref()).is_some_and(|e| e.is_connect());
    if connect_failed || find::<std::io::Error>(error.as_ref()).is_some() {
        return ConnectorError::io(error);
    }
    ConnectorError::other(error, None)
}

fn find<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A CA and a certificate it signed for `localhost` and 127.0.0.1, both valid until
    /// 2126 (made with openssl for this test; the key is for nothing else).
    const TEST_CA: &[u8] = include_bytes!("testdata/test-ca.der");
    const LOCALHOST_CERT: &[u8] = include_bytes!("testdata/localhost.der");
    const LOCALHOST_KEY: &[u8] = include_bytes!("testdata/localhost.key.der");

    fn test_roots() -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(TEST_CA)).unwrap();
        roots
    }

    /// Answers every connection's first request with a small JSON body, over TLS.
    async fn tls_server() -> u16 {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(LOCALHOST_CERT)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(LOCALHOST_KEY)),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buffer = [0; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                 content-length: 11\r\n\r\n{\"ok\":true}";
                    let _ = tls.write_all(reply.as_bytes()).await;
                    let _ = tls.flush().await;
                });
            }
        });
        port
    }

    fn get(url: &str) -> HttpRequest {
        let request = http::Request::get(url).body(SdkBody::empty()).unwrap();
        HttpRequest::try_from(request).unwrap()
    }

    fn connector(roots: RootCertStore) -> Connector {
        Connector::new(
            (Some(Duration::from_secs(5)), Some(Duration::from_secs(5))),
            roots,
        )
    }

    #[tokio::test]
    async fn requests_go_over_tls_to_a_server_the_roots_trust() {
        let port = tls_server().await;
        let url = format!("https://localhost:{port}/");
        let response = connector(test_roots()).call(get(&url)).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body = response.into_body();
        assert_eq!(body.bytes(), None, "the body streams from the connection");
        let bytes = aws_smithy_types::byte_stream::ByteStream::new(body)
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert_eq!(&bytes[..], br#"{"ok":true}"#);
    }

    #[tokio::test]
    async fn a_server_the_roots_do_not_trust_is_refused() {
        let port = tls_server().await;
        let url = format!("https://localhost:{port}/");
        let error = connector(RootCertStore::empty())
            .call(get(&url))
            .await
            .unwrap_err();
        assert!(
            error.is_io(),
            "a failed handshake is a connection failure: {error:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/");
        let error = connector(test_roots()).call(get(&url)).await.unwrap_err();
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/");
        let quick = Connector::new((None, Some(Duration::from_millis(200))), test_roots());
        let error = quick.call(get(&url)).await.unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
        drop(listener);
    }
}
