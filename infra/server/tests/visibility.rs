//! API.md's visibility table, cell by cell, against the real `reel` binary on both
//! backends: every (visibility × viewer × route) answer, the lists and the feed, edits
//! taking effect at once, and which replies a cache may share.

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

mod support;
use support::{Api, Server, Store};

const VISIBILITIES: [&str; 4] = ["public", "unlisted", "internal", "private"];

/// Who asks: nobody signed in, another user, the owner.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    Other,
    Owner,
}

const EVERYONE: [Who; 3] = [Who::Anonymous, Who::Other, Who::Owner];

/// The routes that read one video (and, last, the two that act on it).
#[derive(Debug, Clone, Copy)]
enum Route {
    Info,
    Stream,
    StreamHead,
    Comments,
    WatchPage,
    PostComment,
    Edit,
}

const ROUTES: [Route; 7] = [
    Route::Info,
    Route::Stream,
    Route::StreamHead,
    Route::Comments,
    Route::WatchPage,
    Route::PostComment,
    Route::Edit,
];

/// The status API.md's table gives: may `who` read a ready video of `visibility`, and
/// what does each route answer then.
fn expected(route: Route, visibility: &str, who: Who) -> u16 {
    let readable = match (visibility, who) {
        (_, Who::Owner) => Ok(()),
        ("public" | "unlisted", _) => Ok(()),
        ("internal", Who::Other) => Ok(()),
        ("internal", Who::Anonymous) => Err(401),
        _ => Err(404),
    };
    match (route, readable) {
        // Posting and editing need a session first.
        (Route::PostComment | Route::Edit, _) if who == Who::Anonymous => 401,
        (Route::WatchPage, Err(401)) => 302,
        (_, Err(status)) => status,
        (Route::Info | Route::Comments | Route::WatchPage, Ok(())) => 200,
        (Route::Stream | Route::StreamHead, Ok(())) => 307,
        (Route::PostComment, Ok(())) => 201,
        (Route::Edit, Ok(())) if who == Who::Owner => 200,
        (Route::Edit, Ok(())) => 403,
    }
}

struct World {
    api: Api,
    owner: String,
    other: String,
}

impl World {
    fn sid(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Other => Some(&self.other),
            Who::Owner => Some(&self.owner),
        }
    }

    async fn ask(&self, route: Route, vid: &str, visibility: &str, who: Who) -> u16 {
        let sid = self.sid(who);
        let (method, path, body) = match route {
            Route::Info => (Method::GET, format!("/videos/{vid}/info"), None),
            Route::Stream => (Method::GET, format!("/videos/{vid}"), None),
            Route::StreamHead => (Method::HEAD, format!("/videos/{vid}"), None),
            Route::Comments => (Method::GET, format!("/videos/{vid}/comments"), None),
            Route::WatchPage => (Method::GET, format!("/watch/{vid}"), None),
            Route::PostComment => (
                Method::POST,
                format!("/videos/{vid}/comments"),
                Some(json!({"content": "hello"})),
            ),
            Route::Edit => (
                Method::PATCH,
                format!("/videos/{vid}"),
                Some(json!({"visibility": visibility})),
            ),
        };
        let (status, _) = self.api.call(method, &path, sid, body).await;
        status.as_u16()
    }

    /// The names a list shows `who`, following every cursor.
    async fn names(&self, path: &str, who: Who) -> Vec<String> {
        let mut names = Vec::new();
        let mut cursor = String::new();
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = format!("{path}{sep}limit=2{cursor}");
            let (status, page) = self.api.call(Method::GET, &url, self.sid(who), None).await;
            assert_eq!(status, StatusCode::OK, "{url} as {who:?}: {page}");
            for v in page["videos"].as_array().unwrap() {
                names.push(v["name"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return names,
            }
        }
    }
}

/// A ready video of the owner's with `visibility`, named after it.
async fn ready_video(world: &World, name: &str, visibility: &str) -> String {
    let api = &world.api;
    let body = json!({"name": name, "visibility": visibility, "description": "About it."});
    let (status, video) = api
        .post("/user/alice/videos", Some(&world.owner), body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{video}");
    assert_eq!(video["visibility"], visibility);
    let vid = video["id"].as_str().unwrap().to_owned();
    api.upload(&world.owner, &vid, reel_testkit::media::SAMPLE_MP4.to_vec())
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, info) = api.get(&format!("/videos/{vid}/info"), &world.owner).await;
        if info["status"] == "ready" {
            return vid;
        }
        assert!(Instant::now() < deadline, "{info}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn world(store: &Store) -> (Server, World) {
    let server = Server::start(store, &[]);
    let api = Api::new(&server);
    let owner = api.sign_up("alice").await;
    let other = api.sign_up("bob").await;
    (server, World { api, owner, other })
}

async fn every_cell_is_the_contracts_table(store: Store) {
    let (_server, world) = world(&store).await;
    for visibility in VISIBILITIES {
        let vid = ready_video(&world, visibility, visibility).await;
        for route in ROUTES {
            for who in EVERYONE {
                let got = world.ask(route, &vid, visibility, who).await;
                let want = expected(route, visibility, who);
                assert_eq!(got, want, "{route:?} of a {visibility} video as {who:?}");
            }
        }
    }
    // A pending video, whatever its visibility, is its owner's alone.
    let (_, pending) = world
        .api
        .post(
            "/user/alice/videos",
            Some(&world.owner),
            json!({"name": "pending", "visibility": "public"}),
        )
        .await;
    let vid = pending["id"].as_str().unwrap();
    for who in [Who::Anonymous, Who::Other] {
        let got = world.ask(Route::Info, vid, "public", who).await;
        assert_eq!(got, 404, "a pending video as {who:?}");
    }
    assert_eq!(world.ask(Route::Info, vid, "public", Who::Owner).await, 200);

    // Lists: the owner sees everything, other users public + internal, anyone public;
    // the feed holds the ready public video alone, for everyone.
    let channel = |who| world.names("/user/alice/videos", who);
    assert_eq!(
        channel(Who::Owner).await,
        ["pending", "private", "internal", "unlisted", "public"]
    );
    assert_eq!(channel(Who::Other).await, ["internal", "public"]);
    assert_eq!(channel(Who::Anonymous).await, ["public"]);
    for who in EVERYONE {
        assert_eq!(world.names("/videos", who).await, ["public"], "{who:?}");
    }
    let (status, _) = world
        .api
        .call(Method::GET, "/user/nobody/videos", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_is_the_contracts_table_locally() {
    every_cell_is_the_contracts_table(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_is_the_contracts_table_on_aws() {
    every_cell_is_the_contracts_table(Store::aws()).await;
}

async fn edits_take_effect_at_once(store: Store) {
    let (_server, world) = world(&store).await;
    let api = &world.api;
    let vid = ready_video(&world, "Holiday", "internal").await;
    let (path, owner) = (format!("/videos/{vid}"), world.owner.as_str());
    let edit = |body: Value| {
        let path = path.clone();
        async move {
            api.call(Method::PATCH, &path, Some(owner), Some(body))
                .await
        }
    };
    // Refused: empty, unknown field, bad values; nothing changes.
    for bad in [
        json!({}),
        json!({"visibilty": "public"}),
        json!({"visibility": "everyone"}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"description": "x".repeat(5001)}),
        json!({"name": "ok", "author_id": "x"}),
    ] {
        let (status, body) = edit(bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error_code"], "001", "{bad}");
    }
    assert_eq!(
        world.names("/videos", Who::Anonymous).await,
        Vec::<String>::new()
    );

    // Public: in the feed, readable without a session, at once.
    let (status, video) =
        edit(json!({"visibility": "public", "description": "Day one.\nDay two."})).await;
    assert_eq!(status, StatusCode::OK, "{video}");
    assert_eq!(
        (
            video["name"].as_str(),
            video["description"].as_str(),
            video["visibility"].as_str()
        ),
        (Some("Holiday"), Some("Day one.\nDay two."), Some("public"))
    );
    assert_eq!(world.names("/videos", Who::Anonymous).await, ["Holiday"]);
    assert_eq!(world.ask(Route::Info, &vid, "", Who::Anonymous).await, 200);
    let (status, video) = edit(json!({"name": "Holiday 2"})).await;
    assert_eq!(
        (status, video["visibility"].as_str()),
        (StatusCode::OK, Some("public"))
    );
    assert_eq!(world.names("/videos", Who::Other).await, ["Holiday 2"]);

    // Private: out of every list but its owner's, and hidden from everyone else.
    let (status, _) = edit(json!({"visibility": "private"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(world.names("/videos", Who::Owner).await.is_empty());
    assert!(world
        .names("/user/alice/videos", Who::Other)
        .await
        .is_empty());
    assert_eq!(world.ask(Route::Info, &vid, "", Who::Other).await, 404);
    assert_eq!(
        world.ask(Route::Stream, &vid, "", Who::Anonymous).await,
        404
    );

    // Public again, then deleted: gone from the feed at once.
    edit(json!({"visibility": "public"})).await;
    assert_eq!(world.names("/videos", Who::Anonymous).await, ["Holiday 2"]);
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/user/alice/videos/{vid}"),
            Some(&world.owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(world.names("/videos", Who::Anonymous).await.is_empty());

    // A deleted account's public videos leave the feed at once (before any sweep).
    ready_video(&world, "Last one", "public").await;
    assert_eq!(world.names("/videos", Who::Anonymous).await, ["Last one"]);
    let (status, _) = api
        .call(
            Method::DELETE,
            "/user/alice",
            Some(&world.owner),
            Some(json!({"pwd": "password1"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(world.names("/videos", Who::Anonymous).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_take_effect_at_once_locally() {
    edits_take_effect_at_once(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_take_effect_at_once_on_aws() {
    edits_take_effect_at_once(Store::aws()).await;
}

/// Anonymous replies are `public` with an `ETag` and answer `If-None-Match` with 304;
/// anything answered to a request with a session is never `public`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_anonymous_replies_may_be_shared() {
    let store = Store::local();
    let (_server, world) = world(&store).await;
    let vid = ready_video(&world, "Shared", "public").await;
    let http = &world.api.http;
    let base = &world.api.base;
    for path in [
        "/videos".to_owned(),
        "/user/alice/videos".to_owned(),
        format!("/videos/{vid}/info"),
        format!("/videos/{vid}/comments"),
        format!("/watch/{vid}"),
        "/explore".to_owned(),
        "/u/alice".to_owned(),
    ] {
        let url = format!("{base}{path}");
        let res = http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let cache = res.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cache.starts_with("public"), "{path}: {cache}");
        let max_age: u32 = cache
            .split("max-age=")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(max_age <= 60, "{path}: {cache}");
        let etag = res.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = http
            .get(&url)
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()[header::ETAG], etag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());
        // HEAD: not shared (the router drops its body before the cache layer).
        let head = http.head(&url).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
        let cache = head.headers().get(header::CACHE_CONTROL);
        assert!(
            cache.is_none_or(|c| !c.to_str().unwrap().contains("public")),
            "HEAD {path}"
        );
        let stale = http
            .get(&url)
            .header(header::IF_NONE_MATCH, "\"another\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::OK, "{path}");

        // With a session (header or cookie, valid or not): never public, never 304.
        for (name, value) in [
            ("x-session-id", world.owner.clone()),
            ("cookie", format!("session={}", world.other)),
            ("cookie", "session=not-a-session".to_owned()),
        ] {
            let res = http
                .get(&url)
                .header(name, &value)
                .header(header::IF_NONE_MATCH, &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path} with {name}");
            let cache = res.headers()[header::CACHE_CONTROL].to_str().unwrap();
            assert!(
                cache.contains("private") || cache.contains("no-store"),
                "{path} with {name}: {cache}"
            );
            assert!(!cache.contains("public"), "{path} with {name}: {cache}");
        }
    }
    // The stream redirect without a session is the same for every anonymous viewer.
    let res = http
        .get(format!("{base}/videos/{vid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=60");
    let res = http
        .get(format!("{base}/videos/{vid}"))
        .header("x-session-id", &world.other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[header::CACHE_CONTROL], "private, no-store");
    // An internal video's info is not anyone's to cache.
    let internal = ready_video(&world, "Inside", "internal").await;
    let res = http
        .get(format!("{base}/videos/{internal}/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let cache = res.headers().get(header::CACHE_CONTROL);
    assert!(cache.is_none_or(|c| !c.to_str().unwrap().contains("public")));
}

/// The embedded byte endpoint asks the decision again for the viewer its URL was
/// granted to: hiding a video stops URLs already handed out at once (S3's presigned
/// URLs cannot: they last until they expire, as the README's security model says).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hiding_a_video_stops_its_byte_urls_locally() {
    let store = Store::local();
    let (_server, world) = world(&store).await;
    let vid = ready_video(&world, "Soon private", "public").await;
    let api = &world.api;
    let mut urls = Vec::new();
    for sid in [None, Some(&world.other), Some(&world.owner)] {
        let mut req = api.http.get(format!("{}/videos/{vid}", api.base));
        if let Some(sid) = sid {
            req = req.header("x-session-id", sid.as_str());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
        urls.push(res.headers()[header::LOCATION].to_str().unwrap().to_owned());
    }
    let (anonymous, other, owner) = (urls[0].clone(), urls[1].clone(), urls[2].clone());
    for url in [&anonymous, &other, &owner] {
        assert_eq!(
            api.fetch(url, Some("bytes=0-3")).await.0,
            StatusCode::PARTIAL_CONTENT
        );
    }
    let path = format!("/videos/{vid}");
    let edit = |visibility: &str| {
        let body = json!({"visibility": visibility});
        api.call(Method::PATCH, &path, Some(&world.owner), Some(body))
    };
    assert_eq!(edit("internal").await.0, StatusCode::OK);
    assert_eq!(api.fetch(&anonymous, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        api.fetch(&other, Some("bytes=0-3")).await.0,
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(edit("private").await.0, StatusCode::OK);
    assert_eq!(api.fetch(&other, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        api.fetch(&owner, Some("bytes=0-3")).await.0,
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(edit("public").await.0, StatusCode::OK);
    assert_eq!(
        api.fetch(&anonymous, Some("bytes=0-3")).await.0,
        StatusCode::PARTIAL_CONTENT
    );
}
