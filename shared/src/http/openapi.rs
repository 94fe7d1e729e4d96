//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! annotations and the DTO types ([`ApiDoc`]), so it cannot drift from the code
//! silently (`tests/api.rs` checks every documented operation against the routers).
//!
//! The server sends the generated document as committed in `shared/openapi.json`,
//! which a test keeps identical to [`document`]'s: building the document at run time
//! would link utoipa's builders into the web function, which is kept within its size
//! budget. `REEL_UPDATE_OPENAPI=1 cargo test -p reel --lib openapi` rewrites the file.

use super::{comments, dto, error, health, sessions, stream, uploads, users, videos};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Reel", description = "Video sharing: sign up, upload, watch with seeking, comment, delete. \
Errors are `{\"error\", \"error_code\"}` with codes 001–011 (011: 503 busy, retry after `Retry-After` seconds). State-changing requests need the `X-Session-Id` header; \
GET/HEAD may use the `session` cookie instead."),
    paths(
        users::sign_up, users::get_user, users::delete_account,
        sessions::sign_in, sessions::sign_out,
        videos::create_video, videos::list_videos, videos::video_info, videos::delete_video,
        uploads::grant_upload,
        stream::stream_video,
        comments::post_comment, comments::list_comments, comments::delete_comment,
        health::health, openapi_json,
    ),
    components(schemas(error::ErrorBody, dto::Credentials, dto::PasswordConfirmation, dto::SessionCreated,
        dto::UserView, dto::NewVideo, dto::VideoView, dto::VideoList, dto::UploadRequest, dto::UploadGrant,
        dto::NewComment, dto::CommentView, dto::CommentList, dto::Health)),
    modifiers(&SessionSchemes),
)]
pub struct ApiDoc;

/// OpenAPI links: which answer supplies the identifiers another operation needs (a new
/// video's id for its info, upload, stream, comments and deletion; a new comment's id
/// for its deletion; a sign-up's name for that user's pages and sign-in). Clients and
/// stateful fuzzers (schemathesis) follow them from one operation to the next.
/// (path, method, status) → (link name, operation id, parameters, request body).
type LinkSpec = (
    (&'static str, &'static str, &'static str),
    &'static [(
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
    )],
);

const VIDEO: &[(&str, &str)] = &[("vid", "$response.body#/id")];
const LINKS: &[LinkSpec] = &[
    (
        ("/user", "post", "201"),
        &[
            (
                "GetUser",
                "get_user",
                &[("user_name", "$request.body#/user_name")],
                None,
            ),
            (
                "ListVideos",
                "list_videos",
                &[("user_name", "$request.body#/user_name")],
                None,
            ),
            (
                "SignIn",
                "sign_in",
                &[("user_name", "$request.body#/user_name")],
                Some("$request.body"),
            ),
        ],
    ),
    (
        ("/user/{user_name}/videos", "post", "201"),
        &[
            ("VideoInfo", "video_info", VIDEO, None),
            ("GrantUpload", "grant_upload", VIDEO, None),
            ("StreamVideo", "stream_video", VIDEO, None),
            ("ListComments", "list_comments", VIDEO, None),
            ("PostComment", "post_comment", VIDEO, None),
            (
                "DeleteVideo",
                "delete_video",
                &[
                    ("user_name", "$request.path.user_name"),
                    ("vid", "$response.body#/id"),
                ],
                None,
            ),
        ],
    ),
    (
        ("/videos/{vid}/comments", "post", "201"),
        &[
            (
                "DeleteComment",
                "delete_comment",
                &[("vid", "$request.path.vid"), ("cid", "$response.body#/id")],
                None,
            ),
            (
                "ListComments",
                "list_comments",
                &[("vid", "$request.path.vid")],
                None,
            ),
        ],
    ),
];

/// The generated document with [`LINKS`] added. (Added as JSON: utoipa 5's `Link`
/// serialises its fields in snake case, `operation_id`, which no client reads.)
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    for ((path, method, status), links) in LINKS {
        let response = &mut doc["paths"][*path][*method]["responses"][*status];
        assert!(
            response.is_object(),
            "no {status} answer of {method} {path}"
        );
        for (name, target, parameters, body) in *links {
            let parameters: serde_json::Map<String, serde_json::Value> = parameters
                .iter()
                .map(|(p, v)| ((*p).to_owned(), serde_json::Value::from(*v)))
                .collect();
            let mut link = serde_json::json!({"operationId": target, "parameters": parameters});
            if let Some(body) = body {
                link["requestBody"] = serde_json::Value::from(*body);
            }
            response["links"][*name] = link;
        }
    }
    doc
}

struct SessionSchemes;

impl Modify for SessionSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Session-Id"))),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("session"))),
        );
    }
}

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> axum::response::Response {
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        DOCUMENT,
    )
        .into_response()
}

/// [`ApiDoc`], generated (see the module docs).
const DOCUMENT: &str = include_str!("../../openapi.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_document_is_the_generated_one() {
        let generated = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        if std::env::var_os("REEL_UPDATE_OPENAPI").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
            std::fs::write(path, &generated).unwrap();
        }
        let served: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let expected: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert!(
            served == expected,
            "shared/openapi.json is stale: REEL_UPDATE_OPENAPI=1 cargo test -p reel --lib openapi"
        );
    }
}
