//! What the stores hold, in domain terms.

use super::{
    CommentContent, CommentId, PasswordHash, Timestamp, UserId, UserName, VideoId, VideoName,
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

/// `Pending` until the video's bytes have landed in the blob store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoStatus {
    Pending,
    Ready,
}

impl VideoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoStatus::Pending => "pending",
            VideoStatus::Ready => "ready",
        }
    }

    pub fn from_stored(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "pending" => Ok(Self::Pending),
            "ready" => Ok(Self::Ready),
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
    pub created: Timestamp,
    pub status: VideoStatus,
    /// Bytes stored; 0 while pending.
    pub size: u64,
    /// Media type given at upload; `None` while pending.
    pub content_type: Option<String>,
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
