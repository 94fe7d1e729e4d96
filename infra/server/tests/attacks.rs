//! The second hardening review's findings, each performed as an attacker would against
//! the real `reel` binary (on both backends where the finding applies), and each held to
//! its fix. Clients that must look like different machines connect from different
//! loopback addresses (127.0.0.2, 127.0.0.3, ...: all of 127/8 reaches the server).

use reqwest::StatusCode;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

    // The flood, from another machine, as fast as the server answers.
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = Vec::new();
    for task in 0..150 {
        let (stop, attacker, base) = (stop.clone(), client_from(3), server.base.clone());
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
