//! The JSON shapes of the API: request bodies as received (parsed into domain types by
//! the handlers) and the views sent back.

use reel_core::domain::{Comment, User, Video, Visibility};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Sign-up and sign-in body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Credentials {
    /// 3–64 characters of `[A-Za-z0-9_.-]`.
    #[schema(min_length = 3, max_length = 64, pattern = "^[A-Za-z0-9_.-]{3,64}$")]
    pub user_name: String,
    /// 8–256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub pwd: String,
}

/// Account deletion body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordConfirmation {
    #[schema(min_length = 8, max_length = 256)]
    pub pwd: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionCreated {
    pub success: bool,
    pub session_id: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub user_name: String,
    /// RFC 3339, UTC.
    pub create_time: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            user_name: u.name.to_string(),
            create_time: u.created.rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewVideo {
    /// 1–200 characters after trimming; no control characters and no invisible format
    /// characters (Unicode Cf, such as bidirectional overrides; the zero-width joiner
    /// and non-joiner are allowed).
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Optional, for compatibility; must be the signed-in user's id.
    #[serde(default)]
    pub author_id: Option<String>,
    /// 0–5,000 characters after trimming (line breaks allowed); default empty.
    #[serde(default)]
    #[schema(max_length = 5000, nullable = false)]
    pub description: Option<String>,
    /// Who may read it; default `internal` (any signed-in user).
    #[serde(default)]
    #[schema(nullable = false)]
    pub visibility: Option<VisibilityName>,
}

/// Who may read a video and where it is listed (API.md's table): `public` (anyone;
/// the feed), `unlisted` (anyone with the link; no list but its owner's), `internal`
/// (any signed-in user), `private` (its owner only).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum VisibilityName {
    Public,
    Unlisted,
    Internal,
    Private,
}

impl From<VisibilityName> for Visibility {
    fn from(v: VisibilityName) -> Self {
        match v {
            VisibilityName::Public => Visibility::Public,
            VisibilityName::Unlisted => Visibility::Unlisted,
            VisibilityName::Internal => Visibility::Internal,
            VisibilityName::Private => Visibility::Private,
        }
    }
}

impl From<Visibility> for VisibilityName {
    fn from(v: Visibility) -> Self {
        match v {
            Visibility::Public => VisibilityName::Public,
            Visibility::Unlisted => VisibilityName::Unlisted,
            Visibility::Internal => VisibilityName::Internal,
            Visibility::Private => VisibilityName::Private,
        }
    }
}

/// `PATCH /videos/{vid}`: at least one field; an unknown field is refused (400 `001`),
/// so that a misspelt one does not silently change nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoPatch {
    /// 1–200 characters after trimming, as at creation.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub name: Option<String>,
    /// 0–5,000 characters after trimming (line breaks allowed).
    #[serde(default)]
    #[schema(max_length = 5000, nullable = false)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(nullable = false)]
    pub visibility: Option<VisibilityName>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VideoView {
    pub id: String,
    pub author_id: String,
    pub author: String,
    pub name: String,
    /// Its author's words about it; `""` when none.
    pub description: String,
    pub visibility: VisibilityName,
    /// `Jan 02 2006, 15:04:05` (UTC).
    pub display_ctime: String,
    /// RFC 3339, UTC.
    pub create_time: String,
    /// `pending` until the bytes have landed, then `ready`, or `rejected` when they are
    /// not a video Reel serves (see `reason`; listed to its owner only).
    pub status: String,
    /// Bytes stored (0 while pending).
    pub size: u64,
    /// From the container's header, once ready.
    pub duration_ms: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// RFC 6381, e.g. `avc1.64001f`, `vp09.00.10.08`.
    pub video_codec: Option<String>,
    /// RFC 6381, e.g. `mp4a.40.2`, `opus`; `null` without an audio track.
    pub audio_codec: Option<String>,
    /// Whether the index comes before the media data (playback starts before the
    /// whole file is read); `null` until ready.
    pub faststart: Option<bool>,
    /// A signed URL of the poster image (the same within an hour), or `null`.
    pub poster_url: Option<String>,
    /// Why the video was rejected (`not a video file`, `no video track`, `truncated
    /// file`, ...); `null` unless rejected.
    pub reason: Option<String>,
}

impl VideoView {
    /// Takes the video, so its texts move into the view rather than being copied;
    /// `poster_url` is signed by the caller (`crate::posters`).
    pub fn new(v: Video, poster_url: Option<String>) -> Self {
        let media = v.media.unwrap_or_default();
        let known = v.status == reel_core::domain::VideoStatus::Ready;
        Self {
            id: v.id.to_string(),
            author_id: v.author_id.to_string(),
            author: v.author.into_string(),
            name: v.name.into_string(),
            description: v.description.into_string(),
            visibility: v.visibility.into(),
            display_ctime: v.created.display(),
            create_time: v.created.rfc3339(),
            status: v.status.as_str().to_owned(),
            size: v.size,
            duration_ms: media.duration_ms,
            width: media.width,
            height: media.height,
            video_codec: media.video_codec,
            audio_codec: media.audio_codec,
            faststart: known.then_some(media.faststart),
            poster_url,
            reason: v.reason,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VideoList {
    pub videos: Vec<VideoView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UploadRequest {
    /// The exact number of bytes that will be sent: at most `REEL_MAX_UPLOAD_BYTES`
    /// (default 50 GiB, the schema's maximum; a smaller configured limit answers 413).
    /// Above the single-PUT threshold (64 MiB by default) the upload goes in parts.
    #[schema(minimum = 1, maximum = 53687091200_u64)]
    #[serde(deserialize_with = "whole_number")]
    pub size: u64,
    /// A `video/<subtype>` media type, optionally with parameters (`; codecs=...`).
    #[schema(max_length = 255, pattern = r"^video/[A-Za-z0-9!#$&^_.+-]+(;[ -~]*)?$")]
    pub content_type: String,
}

/// A JSON Schema `integer`: any number with no fractional part, so `1024` and `1024.0`
/// (what some JSON encoders write for a float that holds a whole number) alike.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::de::{Error, Unexpected};
    match serde_json::Number::deserialize(d)? {
        n if n.is_u64() => Ok(n.as_u64().expect("checked")),
        n => match n.as_f64() {
            // 2^64 as f64 is out of range; below it every whole f64 converts exactly.
            Some(f) if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) => {
                Ok(f as u64)
            }
            Some(f) => Err(D::Error::invalid_value(
                Unexpected::Float(f),
                &"a whole number of bytes",
            )),
            None => Err(D::Error::custom("not a number")),
        },
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadGrant {
    /// Where to send the bytes.
    pub url: String,
    /// Always `PUT`.
    pub method: String,
    /// Headers to send with exactly these values.
    pub headers: std::collections::BTreeMap<String, String>,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// What `POST /upload/{vid}` answers: one signed `PUT` of the whole file, or (above the
/// single-PUT threshold) a multipart plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum UploadAnswer {
    Single(UploadGrant),
    Multipart(MultipartPlan),
}

/// A multipart upload begun: ask `POST /upload/{vid}/parts` for its parts' URLs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MultipartPlan {
    pub upload_id: String,
    /// Bytes in every part but the last (8–128 MiB, whole MiB).
    pub part_size: u64,
    /// Parts, numbered from 1 (at most 10,000).
    pub part_count: u64,
    /// RFC 3339, UTC: when the upload is abandoned and its parts discarded.
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PartsRequest {
    #[schema(min_length = 1, max_length = 1024)]
    pub upload_id: String,
    /// 1–100 part numbers, each from 1 to the plan's `part_count`, none twice.
    #[schema(min_items = 1, max_items = 100)]
    pub part_numbers: Vec<u64>,
}

/// A signed URL for one part.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartUrl {
    pub part_number: u64,
    /// Accepts exactly this part's bytes: `part_size`, or the rest for the last part.
    pub url: String,
    /// Always `PUT`.
    pub method: String,
    /// Headers to send with exactly these values.
    pub headers: std::collections::BTreeMap<String, String>,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartUrls {
    pub parts: Vec<PartUrl>,
}

/// `?upload_id=` of the upload a request is about.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadIdQuery {
    #[param(min_length = 1, max_length = 1024)]
    pub upload_id: String,
}

/// A part storage holds.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoredPartView {
    pub part_number: u64,
    /// As storage gives it (quoted MD5); send it back unchanged to complete.
    pub etag: String,
    pub size: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoredParts {
    /// Ascending by `part_number`.
    pub parts: Vec<StoredPartView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CompleteRequest {
    #[schema(min_length = 1, max_length = 1024)]
    pub upload_id: String,
    /// Every part once, ascending, each with the ETag its PUT answered.
    #[schema(min_items = 1, max_items = 10000)]
    pub parts: Vec<CompletedPart>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CompletedPart {
    #[schema(minimum = 1, maximum = 10000)]
    pub part_number: u64,
    #[schema(min_length = 1, max_length = 1024)]
    pub etag: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PosterUploadRequest {
    /// The image's exact size in bytes: at most 2 MiB.
    #[schema(minimum = 1, maximum = 2097152)]
    #[serde(deserialize_with = "whole_number")]
    pub size: u64,
    /// `image/webp` or `image/jpeg` (another type: 415 `010`).
    #[schema(value_type = PosterMediaType)]
    pub content_type: String,
}

/// The poster image types, as the schema names them (the body's field is read as text,
/// so that another type is a clear 415 rather than a parse error).
#[derive(ToSchema)]
#[allow(dead_code)] // a schema, never a value
pub enum PosterMediaType {
    #[schema(rename = "image/webp")]
    Webp,
    #[schema(rename = "image/jpeg")]
    Jpeg,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewComment {
    /// 1–2000 characters after trimming; tabs and line breaks allowed, other control
    /// characters and invisible format characters (Unicode Cf, but the zero-width
    /// joiner and non-joiner) not.
    #[schema(min_length = 1, max_length = 2000)]
    pub content: String,
    /// Optional, for compatibility; must be the signed-in user's id.
    #[serde(default)]
    pub author_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommentView {
    pub id: String,
    pub video_id: String,
    pub author: String,
    pub author_id: String,
    pub content: String,
    /// RFC 3339, UTC.
    pub time: String,
}

/// Takes the comment, so its texts move into the view rather than being copied.
impl From<Comment> for CommentView {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id.to_string(),
            video_id: c.video_id.to_string(),
            author: c.author.into_string(),
            author_id: c.author_id.to_string(),
            content: c.content.into_string(),
            time: c.time.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommentList {
    pub comments: Vec<CommentView>,
    pub next_cursor: Option<String>,
}

/// `limit` and `cursor` of list routes, as raw strings so that errors are ours.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1–100, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page: opaque, signed for this list.
    #[param(pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// Comment list parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentParams {
    /// Unix seconds, exclusive.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub from: Option<String>,
    /// Unix seconds, inclusive.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub to: Option<String>,
    /// 1–100, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page: opaque, signed for this list.
    #[param(pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}
