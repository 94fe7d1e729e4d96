use aws_lambda_events::event::s3::S3Event;
use reel_aws::{video_of_key, ConfirmingVideos};
use reel_core::metrics::{self, Metric};

/// S3 `ObjectCreated` → the video turns `ready` with the object's size and type.
/// Idempotent (a redelivered event finds it ready already). Keys outside `videos/` are
/// ignored; any failure fails the invocation, so Lambda retries the event.
pub async fn on_objects_created(videos: &ConfirmingVideos, event: S3Event) -> anyhow::Result<()> {
    for record in event.records {
        let created = record
            .event_name
            .as_deref()
            .is_some_and(|name| name.starts_with("ObjectCreated:"));
        let object = &record.s3.object;
        let key = object.url_decoded_key.as_deref().or(object.key.as_deref());
        let Some(video) = key.filter(|_| created).and_then(video_of_key) else {
            tracing::info!(
                key,
                event = record.event_name.as_deref(),
                "not a video upload; ignored"
            );
            continue;
        };
        match videos.confirm(&video).await? {
            Some((size, content_type)) => {
                tracing::info!(%video, size, content_type = content_type.as_str(), "video ready");
                metrics::count(Metric::UploadsCompleted, 1);
            }
            None => tracing::info!(%video, "video not made ready (deleted, or not a video)"),
        }
    }
    Ok(())
}
