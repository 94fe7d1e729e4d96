//! What the stores hold, in domain terms.

pub use reel_media::poster::PosterType;
pub use reel_media::MediaInfo;

use super::{
    CommentContent, CommentId, Exposure, MultipartUpload, PasswordHash, Timestamp, UserId,
    UserName, VideoDescription, VideoId, VideoName, Visibility,
};

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub name: UserName,
    pub password_hash: PasswordHash,
    pub created: Timestamp,
    /// Set by an operator (`reel users disable`): sign-in is refused.
    pub disabled: bool,
}

/// `Pending` until the video's bytes have landed in the blob store; then `Ready`, or
/// `Rejected` when they are not a video Reel serves (its bytes are deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoStatus {
    Pending,
    Ready,
    Rejected,
}

impl VideoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoStatus::Pending => "pending",
            VideoStatus::Ready => "ready",
            VideoStatus::Rejected => "rejected",
        }
    }

    pub fn from_stored(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "pending" => Ok(Self::Pending),
            "ready" => Ok(Self::Ready),
            "rejected" => Ok(Self::Rejected),
            other => anyhow::bail!("unknown video status {other:?} in storage"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Video {
    pub id: VideoId,
    pub author_id: UserId,
    pub author: UserName,
    pub name: VideoName,
    /// Its author's words about it (may be empty).
    pub description: VideoDescription,
    /// Who may read it and where it is listed ([`Exposure`]).
    pub visibility: Visibility,
    pub created: Timestamp,
    pub status: VideoStatus,
    /// Bytes stored; 0 while pending.
    pub size: u64,
    /// Media type given at upload; `None` while pending.
    pub content_type: Option<String>,
    /// What its container says, once ready.
    pub media: Option<MediaInfo>,
    /// Why it was rejected (shown to its owner), when it was.
    pub reason: Option<String>,
    /// The poster image stored for it.
    pub poster: Option<Poster>,
    /// A poster granted an upload that has not landed yet (its URL is signed; the image
    /// is checked when it lands, then becomes `poster`).
    pub poster_pending: Option<Poster>,
    /// The multipart upload begun for its bytes, while pending (one at a time).
    pub upload: Option<MultipartUpload>,
}

impl Video {
    /// A new video, waiting for its bytes.
    pub fn new_pending(
        id: VideoId,
        author_id: UserId,
        author: UserName,
        name: VideoName,
        created: Timestamp,
    ) -> Self {
        Self {
            id,
            author_id,
            author,
            name,
            description: VideoDescription::empty(),
            visibility: Visibility::default(),
            created,
            status: VideoStatus::Pending,
            size: 0,
            content_type: None,
            media: None,
            reason: None,
            poster: None,
            poster_pending: None,
            upload: None,
        }
    }
}

impl Video {
    /// The facts the access decision needs ([`Exposure::access`], [`Exposure::listed`]).
    pub fn exposure(&self) -> Exposure<'_> {
        Exposure {
            author: &self.author_id,
            status: self.status,
            visibility: self.visibility,
        }
    }

    /// Whether it belongs in the public feed: ready and public (the sparse feed index
    /// holds exactly these).
    pub fn in_feed(&self) -> bool {
        self.status == VideoStatus::Ready && self.visibility == Visibility::Public
    }
}

/// An owner's edit of a video (`PATCH /videos/{vid}`): the fields to change, at least
/// one of them.
#[derive(Debug, Clone, Default)]
pub struct VideoChanges {
    pub name: Option<VideoName>,
    pub description: Option<VideoDescription>,
    pub visibility: Option<Visibility>,
}

impl VideoChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none() && self.visibility.is_none()
    }

    /// The video as it is once the changes are made.
    pub fn apply_to(&self, mut video: Video) -> Video {
        if let Some(name) = &self.name {
            video.name = name.clone();
        }
        if let Some(description) = &self.description {
            video.description = description.clone();
        }
        if let Some(visibility) = self.visibility {
            video.visibility = visibility;
        }
        video
    }
}

/// A poster image of a video: its type, and when its upload was granted (which tells
/// one poster of the video from the one it replaced: URLs carry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poster {
    pub content_type: PosterType,
    pub at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: CommentId,
    pub video_id: VideoId,
    pub author_id: UserId,
    pub author: UserName,
    pub content: CommentContent,
    pub time: Timestamp,
}

/// A video hidden from every read whose bytes and comments still have to be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionRecord {
    pub video_id: VideoId,
    pub author_id: UserId,
    pub requested: Timestamp,
    pub dispatched: Option<Timestamp>,
}
