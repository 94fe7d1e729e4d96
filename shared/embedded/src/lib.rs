//! The embedded adapters: SQLite (WAL) for metadata, the filesystem for video bytes.
//! This is what a newcomer runs first and what a single-machine self-hoster keeps.
//! [`endpoint`] is the embedded stand-in for S3: the HTTP endpoint that stores and
//! serves the bytes through the URLs [`LocalBlobs`] signs.

mod blobs;
mod comments;
mod db;
mod deletions;
pub mod endpoint;
mod page;
mod parts;
mod poster_endpoint;
mod private;
mod queue;
mod secret;
mod sessions;
mod users;
mod videos;
mod writer;

pub use blobs::{
    BlobFile, BlobQuery, LocalBlobs, RoomReservation, StorageLow, UploadError, UrlError,
};
pub use db::SqliteStore;
pub use parts::LocalMultipart;
pub use private::private_dir;
pub use queue::SqliteQueue;
pub use secret::load_or_create_key;
