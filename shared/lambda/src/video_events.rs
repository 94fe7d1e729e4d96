use aws_lambda_events::event::s3::S3Event;
use reel_aws::{video_of_key, video_of_poster_key, ConfirmingVideos};
use reel_core::media::Settled;
use reel_core::metrics::{self, Metric};

/// S3 `ObjectCreated` under `videos/` → the video's header is read (ranged `GetObject`s)
/// and it turns `ready` with its metadata, or `rejected`; under `posters/` → the image's
/// header is checked and it becomes the video's poster, or is removed. Idempotent (a
/// redelivered event finds the same); other keys are ignored; any failure fails the
/// invocation, so Lambda retries the event.
pub async fn on_objects_created(videos: &ConfirmingVideos, event: S3Event) -> anyhow::Result<()> {
    for record in event.records {
        let created = record
            .event_name
            .as_deref()
            .is_some_and(|name| name.starts_with("ObjectCreated:"));
        let object = &record.s3.object;
        let key = object.url_decoded_key.as_deref().or(object.key.as_deref());
        let key = key.filter(|_| created);
        if let Some(video) = key.and_then(video_of_poster_key) {
            videos.confirm_poster(&video).await?;
            continue;
        }
        let Some(video) = key.and_then(video_of_key) else {
            tracing::info!(
                key,
                event = record.event_name.as_deref(),
                "not a video upload; ignored"
            );
            continue;
        };
        match videos.confirm(&video).await?.map(|c| (c.size, c.settled)) {
            Some((size, Settled::Ready(media))) => {
                tracing::info!(%video, size, codec = media.video_codec.as_deref(), "video ready");
                metrics::count(Metric::UploadsCompleted, 1);
            }
            Some((_, Settled::Rejected(why))) => {
                tracing::info!(%video, reason = %why, "video rejected")
            }
            Some((_, Settled::Gone)) | None => {
                tracing::info!(%video, "video not made ready (deleted, or not a video)")
            }
        }
    }
    Ok(())
}
