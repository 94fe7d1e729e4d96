//! The DynamoDB tables as data: provisioning creates them from these definitions, and a
//! test checks `template.yaml` against them, so code and template cannot drift.

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub kind: KeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
}

/// A global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub hash: Key,
    pub range: Option<Key>,
    pub projection: Projection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The table's name after the stack's prefix (`{prefix}-{name}`).
    pub name: &'static str,
    pub hash: Key,
    pub range: Option<Key>,
    pub indexes: &'static [Index],
    /// The attribute DynamoDB's TTL deletes items by (Unix seconds).
    pub ttl: Option<&'static str>,
}

const fn s(name: &'static str) -> Key {
    Key {
        name,
        kind: KeyType::S,
    }
}

const fn n(name: &'static str) -> Key {
    Key {
        name,
        kind: KeyType::N,
    }
}

pub const USERS: Table = Table {
    name: "users",
    hash: s("user_name"),
    range: None,
    indexes: &[],
    ttl: None,
};

pub const SESSIONS_BY_USER: &str = "by_user";
pub const SESSIONS: Table = Table {
    name: "sessions",
    hash: s("session_digest"),
    range: None,
    indexes: &[Index {
        name: SESSIONS_BY_USER,
        hash: s("user_id"),
        range: None,
        projection: Projection::KeysOnly,
    }],
    ttl: Some("ttl"),
};

pub const SIGN_IN_FAILURES: Table = Table {
    name: "sign_in_failures",
    hash: s("subject"),
    range: Some(s("at_id")),
    indexes: &[],
    ttl: Some("ttl"),
};

pub const VIDEOS_BY_AUTHOR: &str = "by_author";
/// A sparse index of the videos waiting for their bytes (only they carry
/// `pending_author`), for the per-user upload quotas: counting them never reads the
/// ready ones.
pub const VIDEOS_PENDING_BY_AUTHOR: &str = "pending_by_author";
/// The feed: a sparse index of the ready public videos alone (only they carry `feed`,
/// whose one value is its partition key), newest first by `created`.
pub const VIDEOS_FEED: &str = "feed";
pub const VIDEOS: Table = Table {
    name: "videos",
    hash: s("video_id"),
    range: None,
    indexes: &[
        Index {
            name: VIDEOS_BY_AUTHOR,
            hash: s("author_id"),
            range: Some(n("created")),
            projection: Projection::All,
        },
        Index {
            name: VIDEOS_PENDING_BY_AUTHOR,
            hash: s("pending_author"),
            range: None,
            projection: Projection::All,
        },
        Index {
            name: VIDEOS_FEED,
            hash: s("feed"),
            range: Some(n("created")),
            projection: Projection::All,
        },
    ],
    ttl: None,
};

pub const COMMENTS_BY_ID: &str = "by_comment";
/// A deleted account's comments, for the sweep that deletes them (keys only).
pub const COMMENTS_BY_AUTHOR: &str = "by_author";
pub const COMMENTS: Table = Table {
    name: "comments",
    hash: s("video_id"),
    range: Some(s("sort")),
    indexes: &[
        Index {
            name: COMMENTS_BY_ID,
            hash: s("comment_id"),
            range: None,
            projection: Projection::All,
        },
        Index {
            name: COMMENTS_BY_AUTHOR,
            hash: s("author_id"),
            range: None,
            projection: Projection::KeysOnly,
        },
    ],
    ttl: None,
};

pub const DELETIONS: Table = Table {
    name: "deletions",
    hash: s("video_id"),
    range: None,
    indexes: &[],
    ttl: None,
};

pub const ALL: [Table; 6] = [
    USERS,
    SESSIONS,
    SIGN_IN_FAILURES,
    VIDEOS,
    COMMENTS,
    DELETIONS,
];
