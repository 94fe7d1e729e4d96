//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! annotations and the DTO types ([`ApiDoc`]), so it cannot drift from the code
//! silently (`tests/api.rs` checks every documented operation against the routers).
//!
//! The server sends the generated document as committed in `shared/http/openapi.json`,
//! which a test keeps identical to [`document`]'s: building the document at run time
//! would link utoipa's builders into the web function, which is kept within its size
//! budget. `REEL_UPDATE_OPENAPI=1 cargo test -p reel-server --lib openapi` rewrites the file.

use super::{comments, dto, error, health, multipart, sessions, stream, uploads, users, videos};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use reel_core::domain::{CommentContent, VideoName};
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
        videos::create_video, videos::list_videos, videos::feed, videos::video_info,
        videos::edit_video, videos::delete_video,
        uploads::grant_upload,
        multipart::sign_parts,
        multipart::list_parts,
        multipart::complete_upload,
        multipart::abort_upload,
        uploads::grant_poster_upload,
        stream::stream_video,
        comments::post_comment, comments::list_comments, comments::delete_comment,
        health::health, openapi_json,
    ),
    components(schemas(error::ErrorBody, dto::Credentials, dto::PasswordConfirmation, dto::SessionCreated,
        dto::UserView, dto::NewVideo, dto::VideoPatch, dto::VisibilityName, dto::VideoView, dto::VideoList, dto::UploadRequest, dto::UploadGrant, dto::UploadAnswer, dto::MultipartPlan,
        dto::PartsRequest, dto::PartUrl, dto::PartUrls, dto::StoredPartView, dto::StoredParts,
        dto::CompleteRequest, dto::CompletedPart,
        dto::PosterUploadRequest, dto::PosterMediaType,
        dto::NewComment, dto::CommentView, dto::CommentList, dto::Health)),
    modifiers(&SessionSchemes, &EditNeedsAField),
)]
pub struct ApiDoc;

/// OpenAPI links: which answer supplies the identifiers another operation needs (a new
/// video's id for its info, upload, stream, comments and deletion; a new comment's id
/// for its deletion; a sign-up's name for that user's pages and sign-in; a page's
/// `next_cursor` for the next page). Clients and stateful fuzzers (schemathesis) follow
/// them from one operation to the next.
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
            ("GrantPosterUpload", "grant_poster_upload", VIDEO, None),
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
        ("/user/{user_name}/videos", "get", "200"),
        &[(
            "NextPage",
            "list_videos",
            &[
                ("user_name", "$request.path.user_name"),
                ("cursor", "$response.body#/next_cursor"),
            ],
            None,
        )],
    ),
    (
        ("/videos/{vid}/comments", "get", "200"),
        &[(
            "NextPage",
            "list_comments",
            &[
                ("vid", "$request.path.vid"),
                ("cursor", "$response.body#/next_cursor"),
            ],
            None,
        )],
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

/// A JSON Schema `pattern` for free text that `refuses` some characters: at least one
/// character that is neither refused nor white space, and none refused. Only the basic
/// multilingual plane is listed (ECMA-262 patterns without the `u` flag cannot name
/// other planes); the few format characters above it are refused all the same.
fn text_pattern(refuses: fn(char) -> bool) -> String {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for c in (0..=0xFFFF)
        .filter_map(char::from_u32)
        .filter(|c| refuses(*c))
    {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == c as u32 => *end = c as u32,
            _ => ranges.push((c as u32, c as u32)),
        }
    }
    let class: String = ranges
        .iter()
        .map(|(a, b)| match a == b {
            true => format!("\\u{a:04x}"),
            false => format!("\\u{a:04x}-\\u{b:04x}"),
        })
        .collect();
    format!("^[^{class}]*[^\\s{class}][^{class}]*$")
}

/// The generated document with [`LINKS`] added. (Added as JSON: utoipa 5's `Link`
/// serialises its fields in snake case, `operation_id`, which no client reads.)
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let schemas = &mut doc["components"]["schemas"];
    schemas["NewVideo"]["properties"]["name"]["pattern"] = text_pattern(VideoName::refuses).into();
    schemas["NewComment"]["properties"]["content"]["pattern"] =
        text_pattern(CommentContent::refuses).into();
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

/// `VideoPatch` takes at least one field (`minProperties`, which utoipa's derive does
/// not write).
struct EditNeedsAField;

impl Modify for EditNeedsAField {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        let schemas = openapi.components.as_mut().map(|c| &mut c.schemas);
        if let Some(RefOr::T(Schema::Object(patch))) = schemas.and_then(|s| s.get_mut("VideoPatch"))
        {
            patch.min_properties = Some(1);
        }
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
const DOCUMENT: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_patterns_list_what_parsing_refuses() {
        let name = text_pattern(VideoName::refuses);
        let comment = text_pattern(CommentContent::refuses);
        // Controls; bidi overrides; zero-width space, marks; not the joiners U+200C/D.
        for refused in [
            r"\u0000-\u001f",
            r"\u202a-\u202e",
            r"\u200b",
            r"\u200e-\u200f",
        ] {
            assert!(name.contains(refused), "{refused} in {name}");
        }
        assert!(
            name.starts_with(r"^[^\u0000-\u001f\u007f-\u009f\u00ad"),
            "{name}"
        );
        // Comments keep tab and line feed.
        assert!(
            comment.starts_with(r"^[^\u0000-\u0008\u000b-\u001f"),
            "{comment}"
        );
    }

    /// The schema's bound is the default limit (`REEL_MAX_UPLOAD_BYTES`).
    #[test]
    fn the_upload_size_maximum_is_the_default_limit() {
        let size = &document()["components"]["schemas"]["UploadRequest"]["properties"]["size"];
        assert_eq!(
            size["maximum"],
            reel_core::settings::Settings::default()
                .api
                .max_upload_bytes
                .get()
        );
    }

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
            "shared/http/openapi.json is stale: REEL_UPDATE_OPENAPI=1 cargo test -p reel-server --lib openapi"
        );
    }
}
