//! The second hardening review's findings, each performed as an attacker would against
//! the real `reel` binary (on both backends where the finding applies), and each held to
//! its fix. Clients that must look like different machines connect from different
//! loopback addresses (127.0.0.2, 127.0.0.3, ...: all of 127/8 reaches the server).

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{Api, Server, Store};

/// A client whose connections come from `127.0.0.{last}`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn with_env(mut store: Store, settings: &[(&str, &str)]) -> Store {
    store
        .env
        .extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    store
}

/// How strangers saturate password hashing.
#[derive(Clone, Copy)]
enum Flood {
    /// Sign-ins of random names with a wrong password, as in the finding.
    SignIns,
    /// Sign-ups of the owner's (taken) name: each costs a hash and writes nothing.
    /// On moto, which the sign-in flood's thousands of new throttle items break (its
    /// in-memory tables are not safe against an insert during a concurrent transaction:
    /// "dictionary changed size during iteration", a 500 that DynamoDB never gives).
    TakenNameSignUps,
}

/// Finding 2: a flood of strangers' requests saturates password hashing, so the
/// owner's own sign-ins get 503 `011`; those must not count as failed guesses, or after
/// `REEL_SIGN_IN_MAX_FAILURES` of them the owner is locked out (429) with the right
/// password.
async fn busy_replies_do_not_lock_the_owner_out(store: Store, kind: Flood) {
    const MAX_FAILURES: usize = 3;
    let store = with_env(store, &[("REEL_SIGN_IN_MAX_FAILURES", "3")]);
    let server = Server::start(&store, &[]);
    Api::new(&server).sign_up("owner").await;
    let sign_in = |client: &reqwest::Client, name: &str, pwd: &str| {
        client
            .post(format!("{}/user/{name}", server.base))
            .json(&json!({"user_name": name, "pwd": pwd}))
            .send()
    };

    // The flood, from other machines (four, each within the per-address connection
    // cap), as fast as the server answers.
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = Vec::new();
    let attackers: Vec<_> = (3..7).map(client_from).collect();
    for task in 0..150 {
        let attacker = attackers[task % attackers.len()].clone();
        let (stop, base) = (stop.clone(), server.base.clone());
        flood.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let request = match kind {
                    Flood::SignIns => {
                        let name = format!("guess{task}x{n}");
                        let body = json!({"user_name": name, "pwd": "wrong password"});
                        attacker.post(format!("{base}/user/{name}")).json(&body)
                    }
                    Flood::TakenNameSignUps => {
                        let body = json!({"user_name": "owner", "pwd": "any password"});
                        attacker.post(format!("{base}/user")).json(&body)
                    }
                };
                let _ = request.send().await;
                n += 1;
            }
        }));
    }

    let owner = client_from(2);
    let mut busy = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while busy <= MAX_FAILURES {
        assert!(
            Instant::now() < deadline,
            "the flood never made hashing busy"
        );
        let reply = sign_in(&owner, "owner", "password1").await.unwrap();
        match reply.status() {
            StatusCode::SERVICE_UNAVAILABLE => busy += 1,
            StatusCode::OK => {}
            other => panic!("the owner's right password got {other} under the flood"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.await.unwrap();
    }
    let reply = sign_in(&owner, "owner", "password1").await.unwrap();
    assert_eq!(
        reply.status(),
        StatusCode::OK,
        "after {busy} busy replies, the owner's right password still signs in"
    );
    // A wrong password still counts: the throttle itself is intact.
    for _ in 0..MAX_FAILURES {
        let reply = sign_in(&owner, "owner", "wrong password").await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    let reply = sign_in(&owner, "owner", "password1").await.unwrap();
    assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_replies_do_not_lock_the_owner_out_locally() {
    busy_replies_do_not_lock_the_owner_out(Store::local(), Flood::SignIns).await;
    busy_replies_do_not_lock_the_owner_out(Store::local(), Flood::TakenNameSignUps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_replies_do_not_lock_the_owner_out_on_aws() {
    busy_replies_do_not_lock_the_owner_out(Store::aws(), Flood::TakenNameSignUps).await;
}

/// A raw connection to `server` from `127.0.0.{last}`.
async fn connect_from(server: &Server, last: u8) -> TcpStream {
    let addr: std::net::SocketAddr = server
        .base
        .strip_prefix("http://")
        .unwrap()
        .parse()
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind((Ipv4Addr::new(127, 0, 0, last), 0).into())
        .unwrap();
    socket.connect(addr).await.unwrap()
}

/// How long until the server closes `conn` (EOF or reset), sending `keepalive` every
/// 200 ms meanwhile; `None` if it is still open after `limit`.
async fn closed_after(conn: &mut TcpStream, keepalive: &[u8], limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        if !keepalive.is_empty() && conn.write_all(keepalive).await.is_err() {
            return Some(started.elapsed());
        }
        match tokio::time::timeout(Duration::from_millis(200), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    None
}

/// The HTTP/2 client preface and an empty SETTINGS frame: an h2c connection.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
/// An HTTP/2 PING frame.
const H2_PING: &[u8] = b"\0\0\x08\x06\0\0\0\0\0pingping";

/// Finding 3: connections that send nothing, and h2c connections that never send a
/// request (only PINGs), once escaped the header timeout and held all the slots of
/// `--max-connections 4`. Now each is closed once the header timeout passes without a
/// request, and the server answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_ping_only_connections_are_closed_at_the_header_timeout() {
    let store = with_env(Store::local(), &[("REEL_HEADER_READ_TIMEOUT_SECS", "1")]);
    let server = Server::start(&store, &["--max-connections", "4"]);
    let mut silent = vec![
        connect_from(&server, 2).await,
        connect_from(&server, 3).await,
    ];
    let mut pinging = Vec::new();
    for last in [4, 5] {
        let mut conn = connect_from(&server, last).await;
        conn.write_all(H2_PREFACE).await.unwrap();
        pinging.push(conn);
    }
    for conn in &mut silent {
        let closed = closed_after(conn, b"", Duration::from_secs(8)).await;
        assert!(closed.is_some(), "a silent connection was held past 8 s");
    }
    for conn in &mut pinging {
        let closed = closed_after(conn, H2_PING, Duration::from_secs(8)).await;
        assert!(
            closed.is_some(),
            "a PING-only h2c connection was held past 8 s"
        );
    }
    let reply = client_from(6)
        .get(format!("{}/healthz", server.base))
        .send()
        .await;
    assert_eq!(reply.unwrap().status(), StatusCode::OK);
}

/// Finding 3: an HTTP/2 connection offers at most 32 concurrent streams (hyper's
/// default was 200), in the SETTINGS frame the server sends first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_connections_allow_32_streams() {
    let server = Server::start(&Store::local(), &[]);
    let mut conn = connect_from(&server, 2).await;
    conn.write_all(H2_PREFACE).await.unwrap();
    let mut header = [0u8; 9];
    conn.read_exact(&mut header).await.unwrap();
    assert_eq!(header[3], 0x4, "the server's first frame is SETTINGS");
    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; len];
    conn.read_exact(&mut payload).await.unwrap();
    let settings: Vec<(u16, u32)> = payload
        .chunks(6)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
            )
        })
        .collect();
    const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    assert!(
        settings.contains(&(MAX_CONCURRENT_STREAMS, 32)),
        "{settings:?}"
    );
}

/// Finding 3: an HTTP/2 connection that has carried a request and then only PINGs
/// (bytes move, no request does) is closed after the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_connection_kept_alive_by_pings_alone_is_closed_when_idle() {
    let store = with_env(Store::local(), &[("REEL_IDLE_TIMEOUT_SECS", "2")]);
    let server = Server::start(&store, &[]);
    let conn = connect_from(&server, 2).await;
    let (mut h2, mut connection) = h2::client::handshake(conn).await.unwrap();
    let mut ping_pong = connection.ping_pong().unwrap();
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = http::Request::get(format!("{}/healthz", server.base))
        .body(())
        .unwrap();
    let (response, _) = h2.send_request(request, true).unwrap();
    assert_eq!(response.await.unwrap().status(), 200);
    let started = Instant::now();
    while !driver.is_finished() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a connection sending only PINGs was held past 10 s"
        );
        let pinged =
            tokio::time::timeout(Duration::from_secs(1), ping_pong.ping(h2::Ping::opaque()));
        if let Ok(Err(_)) = pinged.await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "closed by the idle timeout, not at once"
    );
    drop(h2);
}

/// Finding 3: one address may hold at most `REEL_MAX_CONNECTIONS_PER_ADDRESS`
/// connections; past it its connections are closed at once, and other addresses are
/// served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let store = with_env(Store::local(), &[("REEL_MAX_CONNECTIONS_PER_ADDRESS", "3")]);
    let server = Server::start(&store, &[]);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(&server, 2).await);
    }
    let mut surplus = connect_from(&server, 2).await;
    let closed = closed_after(&mut surplus, b"", Duration::from_secs(5)).await;
    assert!(
        closed.is_some(),
        "the fourth connection of one address was kept"
    );
    let reply = client_from(3)
        .get(format!("{}/healthz", server.base))
        .send()
        .await;
    assert_eq!(
        reply.unwrap().status(),
        StatusCode::OK,
        "another address is served"
    );
    // Its slots come back as its connections close.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client_from(2)
            .get(format!("{}/healthz", server.base))
            .send()
            .await
        {
            Ok(reply) if reply.status() == StatusCode::OK => break,
            other => assert!(Instant::now() < deadline, "{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Finding 5: with the usual soft open-file limit below the connection cap, a crowd of
/// connections ran the server out of descriptors (accept errors logged every 50 ms).
/// Now the soft limit is raised to the hard one at start-up, connections are capped
/// below it (said once), and a crowd waits in the backlog instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_file_limit_is_raised_and_caps_connections() {
    let store = Store::local();
    let log = store.path().join("stderr.log");
    let env = [("REEL_HEADER_READ_TIMEOUT_SECS", "1")];
    let shell = "ulimit -Sn 200 && ulimit -Hn 400";
    let (mut child, base) = start_under(shell, &store.path().join("data"), &env, &log);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["400", "400"],
        "the soft limit is raised to the hard one: {open_files}"
    );
    let addr: std::net::SocketAddr = base.strip_prefix("http://").unwrap().parse().unwrap();
    let mut crowd = Vec::new();
    for i in 0..250u32 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        let from = Ipv4Addr::new(127, 0, 1, (i % 5) as u8 + 1);
        socket.bind((from, 0).into()).unwrap();
        crowd.push(socket.connect(addr).await.unwrap());
    }
    let reply = client_from(9).get(format!("{base}/healthz")).send().await;
    assert_eq!(reply.unwrap().status(), StatusCode::OK);
    drop(crowd);
    let _ = child.kill();
    let _ = child.wait();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        stderr
            .matches("the open-file limit caps connections")
            .count(),
        1,
        "{stderr}"
    );
    assert!(
        !stderr.contains("accepting connections is failing"),
        "{stderr}"
    );
}

/// Findings 6 and 10, against a server behind a reverse proxy at 127.0.0.2
/// (`REEL_TRUSTED_PROXIES`).
fn behind_a_proxy() -> Store {
    with_env(
        Store::local(),
        &[
            ("REEL_TRUSTED_PROXIES", "127.0.0.2"),
            ("REEL_SIGN_IN_MAX_FAILURES", "2"),
        ],
    )
}

/// A sign-in of `owner` from `127.0.0.{from}`, claiming `forwarded_for`; the status.
async fn sign_in_as(server: &Server, from: u8, forwarded_for: &str, pwd: &str) -> StatusCode {
    client_from(from)
        .post(format!("{}/user/owner", server.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"user_name": "owner", "pwd": pwd}))
        .send()
        .await
        .unwrap()
        .status()
}

/// Finding 6: behind a proxy the throttle counted every client as the proxy. Now the
/// trusted proxy's `X-Forwarded-For` names the client; anyone else's is ignored (a
/// guesser cannot escape the count by claiming new addresses); IPv6 clients count
/// per /64.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_throttle_counts_clients_behind_a_trusted_proxy_and_ignores_claims() {
    let store = behind_a_proxy();
    let server = Server::start(&store, &[]);
    Api::new(&server).sign_up("owner").await;
    let wrong = "wrong password";
    // Through the proxy: one client's failures lock that client out, not the next one.
    for _ in 0..2 {
        assert_eq!(
            sign_in_as(&server, 2, "198.51.100.1", wrong).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_as(&server, 2, "198.51.100.1", wrong).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_in_as(&server, 2, "198.51.100.2", "password1").await,
        StatusCode::OK
    );
    // A client-written entry left of the proxy's is not believed either.
    assert_eq!(
        sign_in_as(&server, 2, "198.51.100.2, 198.51.100.1", wrong).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the proxy appended .1: the claim of .2 on its left is the client's own"
    );
    // A stranger's claims are ignored: counted as itself, whatever it says.
    for (i, claim) in ["203.0.113.1", "203.0.113.2"].into_iter().enumerate() {
        let status = sign_in_as(&server, 3, claim, wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    assert_eq!(
        sign_in_as(&server, 3, "203.0.113.3", wrong).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // IPv6: one /64 is one client.
    for claim in ["2001:db8:0:1::1", "2001:db8:0:1:ffff::2"] {
        assert_eq!(
            sign_in_as(&server, 2, claim, wrong).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_as(&server, 2, "2001:db8:0:1::3", wrong).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_in_as(&server, 2, "2001:db8:0:2::1", "password1").await,
        StatusCode::OK
    );
}

/// Finding 10: `X-Forwarded-Proto` was believed from anyone, so any client could have
/// the URLs handed to it made `https`. Now only the trusted proxy's is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_proto_shapes_urls_only_from_a_trusted_proxy() {
    let store = behind_a_proxy();
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("owner").await;
    let vid = api.create_video(&sid, "owner", "Clip").await;
    let grant_url = |from: u8| {
        let (sid, vid, base) = (sid.clone(), vid.clone(), server.base.clone());
        async move {
            let reply = client_from(from)
                .post(format!("{base}/upload/{vid}"))
                .header("x-session-id", sid)
                .header("x-forwarded-proto", "https")
                .json(&json!({"size": 100, "content_type": "video/mp4"}))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), StatusCode::OK);
            let grant: serde_json::Value = reply.json().await.unwrap();
            grant["url"].as_str().unwrap().to_owned()
        }
    };
    assert!(grant_url(2).await.starts_with("https://"), "from the proxy");
    assert!(
        grant_url(3).await.starts_with("http://"),
        "from anyone else"
    );
}

/// Starts the server on `data_dir` through `bash -c "{shell} && exec reel serve ..."`
/// (limits, umask), its stderr to `log`; the child and its base URL.
fn start_under(
    shell: &str,
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> (std::process::Child, String) {
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(r#"{shell} && exec "$@""#))
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_reel"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            panic!(
                "{line:?}; stderr: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
    (child, base.to_owned())
}

/// Finding 9: under the usual umask 022 the data directory, `reel.db` and the video
/// files were readable by every local user. Now the directories are 0700 and the files
/// 0600, and an existing world-readable data directory is tightened at start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let store = Store::local();
    let data = store.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = store.path().join("stderr.log");
    let (mut child, base) = start_under("umask 022", &data, &[], &log);
    let api = Api {
        http: client_from(1),
        base,
    };
    let sid = api.sign_up("owner").await;
    let vid = api.create_video(&sid, "owner", "Clip").await;
    api.upload(&sid, &vid, support::MP4.to_vec()).await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    for dir in ["blobs", "tmp"] {
        assert_eq!(mode(&data.join(dir)), 0o700, "{dir}/");
    }
    for file in ["reel.db", "reel.db-wal", "reel.db-shm", "signing.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let blobs: Vec<_> = walk(&data.join("blobs"));
    assert!(!blobs.is_empty(), "the upload left a file");
    for blob in blobs {
        assert_eq!(mode(&blob), 0o600, "{}", blob.display());
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Finding 7: disabling an account did not stop the upload grants it already held (a
/// local signed URL, a presigned S3 PUT): their bytes made a video ready. Now bytes
/// that land for a disabled account make nothing ready and are removed.
async fn a_disabled_accounts_upload_grant_makes_nothing_ready(store: Store) {
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("owner").await;
    let vid = api.create_video(&sid, "owner", "Clip").await;
    let grant = api.grant_upload(&sid, &vid, support::MP4.len()).await;
    let ran = store.reel(&["users", "disable", "owner"]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );

    let put = api.put(&grant, support::MP4.to_vec()).await;
    // The embedded endpoint refuses at once; S3 stores the object, and the
    // confirmation (here: a reader's look at the video) finds the account disabled.
    assert!(
        put == StatusCode::NOT_FOUND || put == StatusCode::OK,
        "{put}"
    );
    // Still pending: someone else may not read it (a ready internal video they could).
    let reader = api.sign_up("reader").await;
    let (status, _) = api.get(&format!("/videos/{vid}/info"), &reader).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not ready");
    let (status, _) = api.get(&format!("/videos/{vid}"), &reader).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing to stream");

    let ran = store.reel(&["users", "enable", "owner"]);
    assert!(ran.status.success());
    let (status, body) = api
        .post(
            "/user/owner",
            None,
            json!({"user_name": "owner", "pwd": "password1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let sid = body["session_id"].as_str().unwrap();
    let (status, info) = api.get(&format!("/videos/{vid}/info"), sid).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["status"], "pending", "the bytes made nothing ready");
    // The bytes are gone: S3's object as well as the local file.
    if store.env.is_empty() {
        assert!(walk(&store.path().join("blobs")).is_empty());
    } else {
        let host = store.aws_host().await;
        let id = reel_core::domain::VideoId::parse(&vid).unwrap();
        assert!(host.adapters.blobs.head(&id).await.unwrap().is_none());
    }
    // Enabled again, the owner uploads as usual.
    api.upload(sid, &vid, support::MP4.to_vec()).await;
    let (_, info) = api.get(&format!("/videos/{vid}/info"), sid).await;
    assert_eq!(info["status"], "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_accounts_upload_grant_makes_nothing_ready_locally() {
    a_disabled_accounts_upload_grant_makes_nothing_ready(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_accounts_upload_grant_makes_nothing_ready_on_aws() {
    a_disabled_accounts_upload_grant_makes_nothing_ready(Store::aws()).await;
}

/// Finding 8: a deleted account's comments stayed, and a new account under the same
/// name then appeared as their author. Now they go with the account: at once on the
/// embedded store, within one pass of the deletion dispatcher on AWS.
async fn a_deleted_accounts_comments_do_not_pass_to_its_namesake(store: Store) {
    let embedded = store.env.is_empty();
    let store = with_env(store, &[("REEL_DELETION_INTERVAL_SECS", "1")]);
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let alice = api.sign_up("alice").await;
    let vid = api.create_video(&alice, "alice", "Clip").await;
    api.upload(&alice, &vid, support::MP4.to_vec()).await;
    let bob = api.sign_up("bob").await;
    let comments = format!("/videos/{vid}/comments");
    let (status, _) = api
        .post(&comments, Some(&bob), json!({"content": "nice"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            "/user/bob",
            Some(&bob),
            Some(json!({"pwd": "password1"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    api.sign_up("bob").await;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, listed) = api.get(&comments, &alice).await;
        assert_eq!(status, StatusCode::OK);
        let authors: Vec<_> = listed["comments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["author"].clone())
            .collect();
        if authors.is_empty() {
            break;
        }
        assert!(
            !embedded,
            "the embedded store deletes them with the account"
        );
        assert!(
            Instant::now() < deadline,
            "the deleted account's comment still reads as the new bob's: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_accounts_comments_do_not_pass_to_its_namesake_locally() {
    a_deleted_accounts_comments_do_not_pass_to_its_namesake(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_accounts_comments_do_not_pass_to_its_namesake_on_aws() {
    a_deleted_accounts_comments_do_not_pass_to_its_namesake(Store::aws()).await;
}

/// Finding 4: with no quota one account got 300 pending videos and 600 GiB of upload
/// grants in a second. Now past `REEL_MAX_PENDING_VIDEOS` a new video is 429 `008`,
/// and past `REEL_MAX_PENDING_UPLOAD_BYTES` a grant is 413 `009`; finishing or
/// deleting pending videos makes room again, and other accounts are not affected.
async fn one_account_cannot_claim_unbounded_uploads(store: Store) {
    let store = with_env(
        store,
        &[
            ("REEL_MAX_PENDING_VIDEOS", "3"),
            ("REEL_MAX_PENDING_UPLOAD_BYTES", "150000"),
        ],
    );
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("greedy").await;
    let mut videos = Vec::new();
    for i in 0..3 {
        videos.push(api.create_video(&sid, "greedy", &format!("v{i}")).await);
    }
    let new_video = json!({"name": "one more"});
    let (status, body) = api
        .post("/user/greedy/videos", Some(&sid), new_video.clone())
        .await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::TOO_MANY_REQUESTS, &json!("008"))
    );

    let grant = |vid: &str, size: u64| {
        let path = format!("/upload/{vid}");
        let body = json!({"size": size, "content_type": "video/mp4"});
        let (api, sid) = (&api, sid.clone());
        async move { api.post(&path, Some(&sid), body).await }
    };
    assert_eq!(grant(&videos[0], 100_000).await.0, StatusCode::OK);
    let (status, body) = grant(&videos[1], 100_000).await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("009"))
    );
    // A new grant replaces the video's own earlier one.
    assert_eq!(grant(&videos[0], 30_000).await.0, StatusCode::OK);
    assert_eq!(grant(&videos[1], 100_000).await.0, StatusCode::OK);

    // Someone else is not affected.
    let other = api.sign_up("other").await;
    api.create_video(&other, "other", "fine").await;

    // Bytes landing, or a deletion, make room. (Under `--backend aws` an emulator sends
    // no S3 notification: the video is confirmed when next read, as the page does.)
    api.upload(&sid, &videos[2], support::MP4.to_vec()).await;
    let (_, info) = api.get(&format!("/videos/{}/info", videos[2]), &sid).await;
    assert_eq!(info["status"], "ready");
    let (status, _) = api.post("/user/greedy/videos", Some(&sid), new_video).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_cannot_claim_unbounded_uploads_locally() {
    one_account_cannot_claim_unbounded_uploads(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_cannot_claim_unbounded_uploads_on_aws() {
    one_account_cannot_claim_unbounded_uploads(Store::aws()).await;
}

/// Finding 4: a full disk took SQLite down. Now an upload that would leave the disk
/// below `REEL_MIN_FREE_DISK_BYTES` is refused with 503 `011` and a `Retry-After`, and
/// nothing of it is stored (here the floor is set above any disk's size).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_stop_at_the_free_space_floor() {
    let store = with_env(
        Store::local(),
        &[("REEL_MIN_FREE_DISK_BYTES", "1152921504606846976")],
    );
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("owner").await;
    let vid = api.create_video(&sid, "owner", "Clip").await;
    let grant = api.grant_upload(&sid, &vid, support::MP4.len()).await;
    let mut put = api
        .http
        .put(grant["url"].as_str().unwrap())
        .body(support::MP4.to_vec());
    for (k, v) in grant["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    let reply = put.send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers()["retry-after"], "60");
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error_code"], "011");
    assert!(walk(&store.path().join("blobs")).is_empty());
    let (_, info) = api.get(&format!("/videos/{vid}/info"), &sid).await;
    assert_eq!(info["status"], "pending");
}

/// Finding 4: an upload URL was checked when the transfer began, so a client could
/// trickle its bytes for as long as it liked. Now the transfer must end by the URL's
/// expiry: past it the upload is refused (403 `007`) and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_url_expires_during_a_slow_transfer() {
    let store = with_env(Store::local(), &[("REEL_UPLOAD_URL_TTL_SECS", "2")]);
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("owner").await;
    let vid = api.create_video(&sid, "owner", "Clip").await;
    let grant = api.grant_upload(&sid, &vid, support::MP4.len()).await;
    let (first, rest) = support::MP4.split_at(1000);
    let trickle =
        futures_util::stream::iter([first.to_vec(), rest.to_vec()]).then(|chunk| async move {
            if chunk.len() != 1000 {
                tokio::time::sleep(Duration::from_secs(4)).await;
            }
            Ok::<_, std::io::Error>(chunk)
        });
    let mut put = api
        .http
        .put(grant["url"].as_str().unwrap())
        .header("content-length", support::MP4.len())
        .body(reqwest::Body::wrap_stream(trickle));
    for (k, v) in grant["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    let started = Instant::now();
    let reply = put.send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::FORBIDDEN);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "refused at the expiry"
    );
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error_code"], "007", "{body}");
    assert!(walk(&store.path().join("blobs")).is_empty());
    let (_, info) = api.get(&format!("/videos/{vid}/info"), &sid).await;
    assert_eq!(info["status"], "pending");
}
