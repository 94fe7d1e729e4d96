//! Parse-don't-validate types: once a value of one of these types exists it is valid,
//! so handlers and adapters never re-check it.

mod client_address;
mod comment_content;
mod content_type;
mod ids;
mod multipart;
mod page;
mod password;
mod records;
mod text;
mod timestamp;
mod user_name;
mod video_description;
mod video_name;
mod visibility;

pub use client_address::{ClientKey, TrustedProxies};
pub use comment_content::{CommentContent, CommentContentRule};
pub use content_type::VideoContentType;
pub use ids::{CommentId, SessionId, UserId, VideoId};
pub use multipart::{
    check_completion, same_etag, CompletionError, MultipartUpload, PartNumber, PartPlan,
    StoredPart, UploadId, UploadPlan, MAX_PARTS_PER_REQUEST, MAX_SINGLE_PUT,
    MULTIPART_LIFETIME_SECS,
};
pub use page::{Limit, Page};
pub use password::{Password, PasswordHash};
pub use records::{
    Comment, DeletionRecord, MediaInfo, Poster, PosterType, User, Video, VideoChanges, VideoStatus,
};
pub use text::{BoundedText, TextRule};
pub use timestamp::{Timestamp, Window};
pub use user_name::UserName;
pub use video_description::{VideoDescription, VideoDescriptionRule};
pub use video_name::{VideoName, VideoNameRule};
pub use visibility::{Access, Audience, Exposure, Listing, Viewer, Visibility};

/// Why a piece of input was refused; the message is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
