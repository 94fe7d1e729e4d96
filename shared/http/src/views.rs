//! Videos as replies show them: with their poster's signed URL. Signing is offline (no
//! request per thumbnail) and the URL is the same for a whole hour
//! (`reel_core::ports::poster_url_expiry`), so browsers keep the image cached.

use crate::dto::{VideoList, VideoView};
use crate::error::ApiError;
use crate::extract::Origin;
use reel_core::domain::{Timestamp, Video};
use reel_core::ports::BlobUrls;

pub struct VideoViews<'a> {
    urls: &'a dyn BlobUrls,
    origin: &'a Origin,
    now: Timestamp,
}

impl<'a> VideoViews<'a> {
    pub fn new(urls: &'a dyn BlobUrls, origin: &'a Origin, now: Timestamp) -> Self {
        Self { urls, origin, now }
    }

    pub async fn of(&self, video: Video) -> Result<VideoView, ApiError> {
        let poster_url = match &video.poster {
            Some(p) => Some(self.urls.poster_url(&video.id, p, self.now).await?),
            None => None,
        };
        let poster_url = poster_url.map(|url| self.origin.resolve(url));
        Ok(VideoView::new(video, poster_url))
    }

    pub async fn all(&self, videos: Vec<Video>) -> Result<Vec<VideoView>, ApiError> {
        let mut views = Vec::with_capacity(videos.len());
        for video in videos {
            views.push(self.of(video).await?);
        }
        Ok(views)
    }

    /// A page of a list as the API answers it.
    pub async fn list(
        &self,
        videos: Vec<Video>,
        next_cursor: Option<String>,
    ) -> Result<VideoList, ApiError> {
        Ok(VideoList {
            videos: self.all(videos).await?,
            next_cursor,
        })
    }
}
