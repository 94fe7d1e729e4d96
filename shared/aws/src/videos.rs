//! Videos in DynamoDB: an item per video, listed per author through the `by_author`
//! index. Deleting removes the item and writes the deletion record in one transaction.

use super::dynamo::{n, s, Item, Tables};
use super::schema;
use super::users::{hide_one, record_deletion};
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use reel_core::domain::{
    Audience, Limit, MediaInfo, MultipartUpload, Page, PartPlan, Poster, PosterType, Timestamp,
    UploadId, UserId, UserName, Video, VideoChanges, VideoContentType, VideoDescription, VideoId,
    VideoName, VideoStatus, Visibility,
};
use reel_core::ports::{BeginMultipart, PendingUsage, SortKey, StoreResult, Videos};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub(super) struct VideoItem {
    video_id: String,
    author_id: String,
    author: String,
    name: String,
    /// Absent on items written before videos had one: empty.
    #[serde(default)]
    description: String,
    /// Absent on items written before videos had one: internal, today's rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    visibility: Option<String>,
    created: i64,
    status: String,
    size: u64,
    /// [`FEED_KEY`] while the video is ready and public: the key of the sparse `feed`
    /// index, set and removed by every write that changes either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    /// The author's id while the video waits for its bytes: the key of the sparse
    /// `pending_by_author` index (removed when the video turns ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_author: Option<String>,
    /// The size of the upload last granted for it (the per-user byte quota).
    #[serde(default)]
    granted: u64,
    /// What the container says (set when it turns ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media: Option<MediaItem>,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    poster: Option<PosterItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    poster_pending: Option<PosterItem>,
    /// The multipart upload in progress, while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload: Option<UploadItem>,
}

/// A multipart upload in progress, one map attribute.
#[derive(Serialize, Deserialize)]
struct UploadItem {
    id: String,
    size: u64,
    part_size: u64,
    content_type: String,
    /// Unix seconds.
    expires: i64,
}

impl UploadItem {
    fn of(u: &MultipartUpload) -> Self {
        Self {
            id: u.id.as_str().to_owned(),
            size: u.plan.size(),
            part_size: u.plan.part_size(),
            content_type: u.content_type.as_str().to_owned(),
            expires: u.expires.unix_seconds(),
        }
    }

    fn into_upload(self) -> anyhow::Result<MultipartUpload> {
        Ok(MultipartUpload {
            id: UploadId::parse(&self.id)?,
            plan: PartPlan::stored(self.size, self.part_size)
                .context("a stored multipart plan that is not the computed one")?,
            content_type: VideoContentType::parse(&self.content_type)?,
            expires: Timestamp::from_unix_seconds(self.expires),
        })
    }
}

/// A video's media facts, one map attribute.
#[derive(Serialize, Deserialize, Default)]
struct MediaItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    video_codec: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audio_codec: Option<String>,
    #[serde(default)]
    faststart: bool,
}

impl MediaItem {
    fn of(m: &MediaInfo) -> Self {
        Self {
            duration_ms: m.duration_ms,
            width: m.width,
            height: m.height,
            video_codec: m.video_codec.clone(),
            audio_codec: m.audio_codec.clone(),
            faststart: m.faststart,
        }
    }

    fn into_info(self) -> MediaInfo {
        MediaInfo {
            duration_ms: self.duration_ms,
            width: self.width,
            height: self.height,
            video_codec: self.video_codec,
            audio_codec: self.audio_codec,
            faststart: self.faststart,
        }
    }
}

/// A poster: its media type and grant time (micros), one map attribute.
#[derive(Serialize, Deserialize)]
struct PosterItem {
    #[serde(rename = "type")]
    content_type: String,
    at: i64,
}

impl PosterItem {
    fn of(p: &Poster) -> Self {
        Self {
            content_type: p.content_type.as_str().to_owned(),
            at: p.at.as_micros(),
        }
    }

    fn into_poster(self) -> anyhow::Result<Poster> {
        Ok(Poster {
            content_type: PosterType::parse(&self.content_type).context("a stored poster type")?,
            at: Timestamp::from_micros(self.at),
        })
    }
}

impl VideoItem {
    fn from_video(v: &Video) -> Self {
        Self {
            video_id: v.id.to_string(),
            author_id: v.author_id.to_string(),
            author: v.author.as_str().to_owned(),
            name: v.name.as_str().to_owned(),
            description: v.description.as_str().to_owned(),
            visibility: Some(v.visibility.as_str().to_owned()),
            created: v.created.as_micros(),
            status: v.status.as_str().to_owned(),
            size: v.size,
            feed: v.in_feed().then(|| FEED_KEY.to_owned()),
            content_type: v.content_type.clone(),
            pending_author: (v.status == VideoStatus::Pending).then(|| v.author_id.to_string()),
            granted: 0,
            media: v.media.as_ref().map(MediaItem::of),
            reason: v.reason.clone(),
            poster: v.poster.as_ref().map(PosterItem::of),
            poster_pending: v.poster_pending.as_ref().map(PosterItem::of),
            upload: v.upload.as_ref().map(UploadItem::of),
        }
    }

    pub(super) fn into_video(self) -> anyhow::Result<Video> {
        Ok(Video {
            id: VideoId::parse(&self.video_id)?,
            author_id: UserId::parse(&self.author_id)?,
            author: UserName::parse(&self.author)?,
            name: VideoName::parse(&self.name)?,
            description: VideoDescription::parse(&self.description)?,
            visibility: match self.visibility {
                Some(v) => Visibility::parse(&v)?,
                None => Visibility::default(),
            },
            created: Timestamp::from_micros(self.created),
            status: VideoStatus::from_stored(&self.status)?,
            size: self.size,
            content_type: self.content_type,
            media: self.media.map(MediaItem::into_info),
            reason: self.reason,
            poster: self.poster.map(PosterItem::into_poster).transpose()?,
            poster_pending: self
                .poster_pending
                .map(PosterItem::into_poster)
                .transpose()?,
            upload: self.upload.map(UploadItem::into_upload).transpose()?,
        })
    }
}

/// The one value of the `feed` index's partition key. One partition takes about 1,000
/// writes a second (README, "The feed at scale"); beyond that the key would be sharded.
const FEED_KEY: &str = "public";

/// How many pages' worth of an author's videos one filtered list `Query` evaluates.
const FILTERED_READ_AHEAD: u32 = 4;

/// Attempts at a conditional write whose condition a concurrent change of the same
/// video failed (read again, then written again).
const RACE_ATTEMPTS: u32 = 3;

/// The condition that `visibility` is still `v` (an item without the attribute is
/// internal).
fn visibility_is(v: Visibility) -> &'static str {
    match v {
        Visibility::Internal => "(attribute_not_exists(#vis) OR #vis = :vis)",
        _ => "#vis = :vis",
    }
}

/// What [`DynamoVideos::pending_usage`] reads of a pending video.
#[derive(Deserialize)]
struct PendingItem {
    video_id: String,
    #[serde(default)]
    granted: u64,
}

pub struct DynamoVideos {
    db: Tables,
}

impl DynamoVideos {
    pub fn new(db: Tables) -> Self {
        Self { db }
    }

    /// [`Videos::update_details`]'s write if the status is still `status`: the video as
    /// it now is, or `None` when the condition failed.
    async fn try_update_details(
        &self,
        id: &VideoId,
        status: VideoStatus,
        changes: &VideoChanges,
    ) -> anyhow::Result<Option<Video>> {
        let mut sets = Vec::new();
        let mut update = self
            .db
            .client
            .update_item()
            .table_name(&self.db.videos)
            .key("video_id", s(id.to_string()))
            .condition_expression("attribute_exists(video_id) AND #status = :status")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        if let Some(name) = &changes.name {
            sets.push("#name = :name");
            update = update
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name.as_str()));
        }
        if let Some(description) = &changes.description {
            sets.push("description = :description");
            update = update.expression_attribute_values(":description", s(description.as_str()));
        }
        let mut remove = "";
        if let Some(visibility) = changes.visibility {
            sets.push("visibility = :visibility");
            update = update.expression_attribute_values(":visibility", s(visibility.as_str()));
            if status == VideoStatus::Ready && visibility == Visibility::Public {
                sets.push("feed = :feed");
                update = update.expression_attribute_values(":feed", s(FEED_KEY));
            } else {
                remove = " REMOVE feed";
            }
        }
        let expression = format!("SET {}{remove}", sets.join(", "));
        match update.update_expression(expression).send().await {
            Ok(out) => {
                let item = out
                    .attributes
                    .context("UpdateItem returned no attributes")?;
                let item: VideoItem = serde_dynamo::from_item(item).context("decoding a video")?;
                Ok(Some(item.into_video()?))
            }
            Err(e) if super::dynamo::is_condition_failure(&e) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context("editing a video")),
        }
    }

    /// [`Videos::mark_ready`]'s transaction for the video as read: `false` when a
    /// condition failed.
    async fn try_mark_ready(
        &self,
        video: &Video,
        size: u64,
        content_type: &VideoContentType,
        media: &MediaInfo,
    ) -> anyhow::Result<bool> {
        let media: AttributeValue =
            serde_dynamo::to_attribute_value(MediaItem::of(media)).context("encoding media")?;
        let in_feed = video.visibility == Visibility::Public;
        let expression = if in_feed {
            "SET #status = :ready, #size = :size, content_type = :ct, media = :media, \
             feed = :feed REMOVE pending_author"
        } else {
            "SET #status = :ready, #size = :size, content_type = :ct, media = :media \
             REMOVE pending_author, feed"
        };
        let mut update = Update::builder()
            .table_name(&self.db.videos)
            .key("video_id", s(video.id.to_string()))
            .update_expression(expression)
            .expression_attribute_values(":media", media)
            .condition_expression(format!(
                "attribute_exists(video_id) AND {}",
                visibility_is(video.visibility)
            ))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#size", "size")
            .expression_attribute_names("#vis", "visibility")
            .expression_attribute_values(":vis", s(video.visibility.as_str()))
            .expression_attribute_values(":ready", s(VideoStatus::Ready.as_str()))
            .expression_attribute_values(":size", AttributeValue::N(size.to_string()))
            .expression_attribute_values(":ct", s(content_type.as_str()));
        if in_feed {
            update = update.expression_attribute_values(":feed", s(FEED_KEY));
        }
        let update = update.build().context("building the video's update")?;
        let author_live = ConditionCheck::builder()
            .table_name(&self.db.users)
            .key("user_name", s(video.author.as_str()))
            .condition_expression("user_id = :author AND attribute_not_exists(disabled)")
            .expression_attribute_values(":author", s(video.author_id.to_string()))
            .build()
            .context("building the author's check")?;
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder()
                .condition_check(author_live)
                .build(),
        ];
        super::users::transact(&self.db, writes, "marking a video ready").await
    }

    /// Sets `poster` or `poster_pending` of an existing video (one `UpdateItem`);
    /// with `clearing`, also removes the pending grant, on the condition that it is the
    /// one granted at that time. `false` when a condition failed.
    async fn update_poster(
        &self,
        id: &VideoId,
        attribute: &'static str,
        poster: &Poster,
        clearing: Option<Timestamp>,
    ) -> StoreResult<bool> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(PosterItem::of(poster))
            .context("encoding a poster")?;
        let mut update = self
            .db
            .client
            .update_item()
            .table_name(&self.db.videos)
            .key("video_id", s(id.to_string()))
            .update_expression("SET #poster = :poster")
            .condition_expression("attribute_exists(video_id)")
            .expression_attribute_names("#poster", attribute)
            .expression_attribute_values(":poster", value);
        if let Some(granted) = clearing {
            update = update
                .update_expression("SET #poster = :poster REMOVE poster_pending")
                .condition_expression(
                    "attribute_exists(video_id) AND (attribute_not_exists(poster_pending) \
                     OR poster_pending.#at = :at)",
                )
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":at", n(granted.as_micros()));
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if super::dynamo::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e).context("recording a poster").into()),
        }
    }
}

/// The key in an index partitioned by `partition` (`by_author`, `feed`) of a listed
/// video: what `LastEvaluatedKey` holds.
fn index_key(partition: &str, value: String, at: &SortKey) -> Item {
    Item::from([
        (partition.to_owned(), s(value)),
        ("created".to_owned(), n(at.at.as_micros())),
        ("video_id".to_owned(), s(at.id.clone())),
    ])
}

/// One page of a newest-first index `Query`: has DynamoDB evaluate `evaluate` items
/// (at least one more than the page, so the last page has no cursor) and keeps the
/// first `limit` it returns, the cursor then being the last one kept; if DynamoDB
/// stops before (1 MB per query, or a filter that left fewer), its `LastEvaluatedKey`
/// is the cursor.
async fn newest_first(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    limit: Limit,
    evaluate: u32,
    what: &'static str,
) -> anyhow::Result<Page<Video, SortKey>> {
    let want = limit.get() as usize;
    let out = query
        .scan_index_forward(false)
        .limit(evaluate.max(limit.get() + 1) as i32)
        .send()
        .await
        .context(what)?;
    let mut items = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|i| serde_dynamo::from_item::<_, VideoItem>(i)?.into_video())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let next = if items.len() > want {
        items.truncate(want);
        items.last().map(|v| SortKey {
            at: v.created,
            id: v.id.to_string(),
        })
    } else {
        out.last_evaluated_key
            .as_ref()
            .map(sort_key_of)
            .transpose()?
    };
    Ok(Page { items, next })
}

/// The cursor of an index key, as DynamoDB returned it.
fn sort_key_of(key: &Item) -> anyhow::Result<SortKey> {
    match (key.get("created"), key.get("video_id")) {
        (Some(AttributeValue::N(at)), Some(AttributeValue::S(id))) => Ok(SortKey {
            at: Timestamp::from_micros(at.parse()?),
            id: id.clone(),
        }),
        _ => anyhow::bail!("unexpected LastEvaluatedKey from a videos index"),
    }
}

#[async_trait]
impl Videos for DynamoVideos {
    async fn create(&self, video: &Video) -> StoreResult<()> {
        let item: Item =
            serde_dynamo::to_item(VideoItem::from_video(video)).context("encoding a video")?;
        self.db
            .client
            .put_item()
            .table_name(&self.db.videos)
            .set_item(Some(item))
            .send()
            .await
            .context("creating a video")?;
        Ok(())
    }

    async fn get(&self, id: &VideoId) -> StoreResult<Option<Video>> {
        let table = &self.db.videos;
        let found = self.db.get(table, "video_id", id.to_string(), "a video");
        let item: Option<VideoItem> = found.await?;
        Ok(item.map(VideoItem::into_video).transpose()?)
    }

    /// One `Query` of the `by_author` index; for anyone but the owner filtered
    /// (`FilterExpression`) to the ready videos of the visibilities the audience sees.
    async fn list_by_author(
        &self,
        author: &UserId,
        audience: Audience,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        let mut query = self
            .db
            .client
            .query()
            .table_name(&self.db.videos)
            .index_name(schema::VIDEOS_BY_AUTHOR)
            .key_condition_expression("author_id = :a")
            .expression_attribute_values(":a", s(author.to_string()))
            .set_exclusive_start_key(after.map(|a| index_key("author_id", author.to_string(), a)));
        if let Some(shown) = audience.shows() {
            let mut allowed = Vec::new();
            for (i, v) in shown.iter().enumerate() {
                let name = format!(":v{i}");
                allowed.push(format!("#vis = {name}"));
                if *v == Visibility::Internal {
                    allowed.push("attribute_not_exists(#vis)".to_owned());
                }
                query = query.expression_attribute_values(name, s(v.as_str()));
            }
            query = query
                .filter_expression(format!("#status = :ready AND ({})", allowed.join(" OR ")))
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#vis", "visibility")
                .expression_attribute_values(":ready", s(VideoStatus::Ready.as_str()));
        }
        // A filter may drop most of what is read: have DynamoDB look at up to four
        // pages' worth in the same request, so that pages come out full unless the
        // author has many videos this audience may not see (then a short page, and a
        // cursor that continues).
        let evaluate = match audience.shows() {
            Some(_) => limit.get() * FILTERED_READ_AHEAD + 1,
            None => limit.get() + 1,
        };
        Ok(newest_first(query, limit, evaluate, "listing videos").await?)
    }

    /// One `Query` of the sparse `feed` index, then one strongly consistent
    /// `BatchGetItem` of the page's authors' deleted-account records: a deleted
    /// account's videos stay in the index until the deletion sweep hides them (a
    /// minute), and leave the feed at once all the same.
    async fn list_feed(
        &self,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        let query = self
            .db
            .client
            .query()
            .table_name(&self.db.videos)
            .index_name(schema::VIDEOS_FEED)
            .key_condition_expression("feed = :feed")
            .expression_attribute_values(":feed", s(FEED_KEY))
            .set_exclusive_start_key(after.map(|a| index_key("feed", FEED_KEY.to_owned(), a)));
        let mut page = newest_first(query, limit, limit.get() + 1, "listing the feed").await?;
        let authors: Vec<UserId> = page.items.iter().map(|v| v.author_id).collect();
        let deleted = super::deletions::deleted_among(&self.db, &authors).await?;
        page.items.retain(|v| !deleted.contains(&v.author_id));
        Ok(page)
    }

    /// One conditional `UpdateItem` on the status read (the feed key follows status and
    /// visibility together); a status changed in between (the upload landing) makes it
    /// read again and retry.
    async fn update_details(
        &self,
        video: &Video,
        changes: &VideoChanges,
    ) -> StoreResult<Option<Video>> {
        let mut status = video.status;
        for _ in 0..RACE_ATTEMPTS {
            if let Some(updated) = self.try_update_details(&video.id, status, changes).await? {
                return Ok(Some(updated));
            }
            match self.get(&video.id).await? {
                Some(current) => status = current.status,
                None => return Ok(None),
            }
        }
        Err(anyhow::anyhow!("editing a video: its status kept changing").into())
    }

    /// One `Query` of the sparse `pending_by_author` index (eventually consistent, like
    /// every index read: a burst of requests can pass the quota by what it has in
    /// flight), paginated.
    async fn pending_usage(
        &self,
        author: &UserId,
        except: Option<&VideoId>,
    ) -> StoreResult<PendingUsage> {
        let pages = self
            .db
            .client
            .query()
            .table_name(&self.db.videos)
            .index_name(schema::VIDEOS_PENDING_BY_AUTHOR)
            .key_condition_expression("pending_author = :a")
            .expression_attribute_values(":a", s(author.to_string()))
            .projection_expression("video_id, granted")
            .into_paginator()
            .items()
            .send();
        let items: Vec<Item> = pages
            .collect::<Result<_, _>>()
            .await
            .context("listing pending videos")?;
        let except = except.map(|v| v.to_string());
        let mut usage = PendingUsage::default();
        for item in items {
            let pending: PendingItem = serde_dynamo::from_item(item).context("a pending video")?;
            if Some(&pending.video_id) != except.as_ref() {
                usage.videos += 1;
                usage.granted_bytes += pending.granted;
            }
        }
        Ok(usage)
    }

    async fn record_grant(&self, video: &VideoId, size: u64) -> StoreResult<bool> {
        let update = self
            .db
            .client
            .update_item()
            .table_name(&self.db.videos)
            .key("video_id", s(video.to_string()))
            .update_expression("SET granted = :size")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":size", AttributeValue::N(size.to_string()))
            .expression_attribute_values(":pending", s(VideoStatus::Pending.as_str()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) if super::dynamo::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e)
                .context("recording an upload grant")
                .into()),
        }
    }

    /// One conditional update: the upload (and the grant, its size) set while the video
    /// is pending and has none in progress; on a failed condition, one read says which.
    async fn begin_multipart(
        &self,
        video: &VideoId,
        upload: &MultipartUpload,
        now: Timestamp,
    ) -> StoreResult<BeginMultipart> {
        let item = serde_dynamo::to_attribute_value(UploadItem::of(upload))
            .context("encoding a multipart upload")?;
        let update = self
            .db
            .client
            .update_item()
            .table_name(&self.db.videos)
            .key("video_id", s(video.to_string()))
            .update_expression("SET #upload = :upload, granted = :size")
            .condition_expression(
                "#status = :pending AND (attribute_not_exists(#upload) OR #upload.#expires <= :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#upload", "upload")
            .expression_attribute_names("#expires", "expires")
            .expression_attribute_values(":upload", item)
            .expression_attribute_values(":size", AttributeValue::N(upload.plan.size().to_string()))
            .expression_attribute_values(":pending", s(VideoStatus::Pending.as_str()))
            .expression_attribute_values(":now", n(now.unix_seconds()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(BeginMultipart::Begun),
            Err(e) if super::dynamo::is_condition_failure(&e) => {
                let pending = self
                    .get(video)
                    .await?
                    .is_some_and(|v| v.status == VideoStatus::Pending);
                Ok(if pending {
                    BeginMultipart::InProgress
                } else {
                    BeginMultipart::NotPending
                })
            }
            Err(e) => Err(anyhow::Error::new(e)
                .context("beginning a multipart upload")
                .into()),
        }
    }

    async fn end_multipart(&self, video: &VideoId, upload: &UploadId) -> StoreResult<bool> {
        let update = self
            .db
            .client
            .update_item()
            .table_name(&self.db.videos)
            .key("video_id", s(video.to_string()))
            .update_expression("REMOVE #upload")
            .condition_expression("#upload.#id = :id")
            .expression_attribute_names("#upload", "upload")
            .expression_attribute_names("#id", "id")
            .expression_attribute_values(":id", s(upload.as_str()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) if super::dynamo::is_condition_failure(&e) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e)
                .context("ending a multipart upload")
                .into()),
        }
    }

    /// One transaction: the video's item updated (and put in the feed if it is public,
    /// on the condition that its visibility is still the one read), on the condition
    /// that its author's account (its item under the author's name) is still the same
    /// account and not disabled. Upload URLs outlive a disabled or deleted account;
    /// their bytes must not make a video ready. The video is read first, for its author
    /// and visibility; an edit of its visibility in between makes it read and try again.
    async fn mark_ready(
        &self,
        id: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        media: &MediaInfo,
    ) -> StoreResult<bool> {
        let Some(mut video) = self.get(id).await? else {
            return Ok(false);
        };
        for _ in 0..RACE_ATTEMPTS {
            if self
                .try_mark_ready(&video, size, content_type, media)
                .await?
            {
                return Ok(true);
            }
            // Failed: a visibility edited meanwhile is tried again with; anything else
            // (the video or its author's account gone) is final.
            match self.get(id).await? {
                Some(now) if now.visibility != video.visibility => video = now,
                _ => return Ok(false),
            }
        }
        Err(anyhow::anyhow!("marking a video ready: its visibility kept changing").into())
    }

    /// One transaction: the item updated (on the condition that it exists) and the
    /// deletion record of its bytes written.
    async fn mark_rejected(
        &self,
        id: &VideoId,
        size: u64,
        reason: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let Some(video) = self.get(id).await? else {
            return Ok(false);
        };
        let update = Update::builder()
            .table_name(&self.db.videos)
            .key("video_id", s(id.to_string()))
            .update_expression(
                "SET #status = :rejected, #size = :size, reason = :reason REMOVE pending_author",
            )
            .condition_expression("attribute_exists(video_id)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#size", "size")
            .expression_attribute_values(":rejected", s(VideoStatus::Rejected.as_str()))
            .expression_attribute_values(":size", AttributeValue::N(size.to_string()))
            .expression_attribute_values(":reason", s(reason))
            .build()
            .context("building the video's update")?;
        let author = video.author_id.to_string();
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            record_deletion(&self.db, &id.to_string(), &author, now)?,
        ];
        Ok(super::users::transact(&self.db, writes, "marking a video rejected").await?)
    }

    async fn grant_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool> {
        self.update_poster(id, "poster_pending", poster, None).await
    }

    /// The poster, and its grant cleared if it is this poster's; when a newer grant is
    /// pending (the condition fails), the poster alone, leaving that grant be.
    async fn set_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool> {
        if self
            .update_poster(id, "poster", poster, Some(poster.at))
            .await?
        {
            return Ok(true);
        }
        self.update_poster(id, "poster", poster, None).await
    }

    /// One transaction, conditional on the video's item: hidden and recorded.
    async fn delete(&self, video: &Video, now: Timestamp) -> StoreResult<bool> {
        let (id, author) = (video.id.to_string(), video.author_id.to_string());
        Ok(hide_one(&self.db, &id, &author, now).await?)
    }
}
