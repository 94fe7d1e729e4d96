//! Comments in DynamoDB: partitioned by video and sorted by time, so a time window is a
//! key condition (no filter), and a video's comments go in a few batch deletes.

use super::dynamo::{is_condition_failure, padded, s, Item, Tables};
use super::schema;
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{
    Comment, CommentContent, CommentId, Limit, Page, Timestamp, UserId, UserName, VideoId,
};
use reel_core::ports::{Comments, SortKey, StoreResult, TimeWindow};
use serde::{Deserialize, Serialize};

const MICROS: i64 = 1_000_000;

#[derive(Serialize, Deserialize)]
struct CommentItem {
    video_id: String,
    /// `{time micros, zero-padded}#{comment id}`: time order, ties broken by id.
    sort: String,
    comment_id: String,
    author_id: String,
    author: String,
    content: String,
    time: i64,
}

impl CommentItem {
    fn into_comment(self) -> anyhow::Result<Comment> {
        Ok(Comment {
            id: CommentId::parse(&self.comment_id)?,
            video_id: VideoId::parse(&self.video_id)?,
            author_id: UserId::parse(&self.author_id)?,
            author: UserName::parse(&self.author)?,
            content: CommentContent::parse(&self.content)?,
            time: Timestamp::from_micros(self.time),
        })
    }
}

fn sort_value(at: Timestamp, id: &str) -> String {
    format!("{}#{id}", padded(at.as_micros()))
}

/// The key range of a window: `from` exclusive and `to` inclusive, in whole seconds.
/// A bound is a bare padded time, which sorts before every `time#id` with that time.
fn key_range(window: TimeWindow) -> (String, String) {
    let start_of = |seconds: i64| padded(seconds.saturating_add(1).saturating_mul(MICROS));
    let low = window.from.map(start_of).unwrap_or_else(|| "0".into());
    let high = window.to.map(start_of).unwrap_or_else(|| "~".into());
    (low, high)
}

pub struct DynamoComments {
    db: Tables,
}

impl DynamoComments {
    pub fn new(db: Tables) -> Self {
        Self { db }
    }

    async fn item_by_id(&self, id: &CommentId) -> anyhow::Result<Option<CommentItem>> {
        let out = self
            .db
            .client
            .query()
            .table_name(&self.db.comments)
            .index_name(schema::COMMENTS_BY_ID)
            .key_condition_expression("comment_id = :c")
            .expression_attribute_values(":c", s(id.to_string()))
            .send()
            .await
            .context("finding a comment")?;
        match out.items.unwrap_or_default().into_iter().next() {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl Comments for DynamoComments {
    async fn create(&self, c: &Comment) -> StoreResult<()> {
        let item: Item = serde_dynamo::to_item(CommentItem {
            video_id: c.video_id.to_string(),
            sort: sort_value(c.time, &c.id.to_string()),
            comment_id: c.id.to_string(),
            author_id: c.author_id.to_string(),
            author: c.author.as_str().to_owned(),
            content: c.content.as_str().to_owned(),
            time: c.time.as_micros(),
        })
        .context("encoding a comment")?;
        self.db
            .client
            .put_item()
            .table_name(&self.db.comments)
            .set_item(Some(item))
            .send()
            .await
            .context("creating a comment")?;
        Ok(())
    }

    async fn get(&self, id: &CommentId) -> StoreResult<Option<Comment>> {
        Ok(self
            .item_by_id(id)
            .await?
            .map(CommentItem::into_comment)
            .transpose()?)
    }

    async fn list(
        &self,
        video: &VideoId,
        window: TimeWindow,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Comment, SortKey>> {
        let want = limit.get() as usize;
        let (low, high) = key_range(window);
        let start = after.map(|a| {
            Item::from([
                ("video_id".to_owned(), s(video.to_string())),
                ("sort".to_owned(), s(sort_value(a.at, &a.id))),
            ])
        });
        let out = self
            .db
            .client
            .query()
            .table_name(&self.db.comments)
            .key_condition_expression("video_id = :v AND #sort BETWEEN :low AND :high")
            .expression_attribute_names("#sort", "sort")
            .expression_attribute_values(":v", s(video.to_string()))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .scan_index_forward(false)
            .limit(limit.get() as i32 + 1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("listing comments")?;
        let mut items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| serde_dynamo::from_item::<_, CommentItem>(i)?.into_comment())
            .collect::<anyhow::Result<Vec<_>>>()?;
        let key = |c: &Comment| SortKey {
            at: c.time,
            id: c.id.to_string(),
        };
        let next = if items.len() > want {
            items.truncate(want);
            items.last().map(key)
        } else if out.last_evaluated_key.is_some() {
            // Stopped early at 1 MB: resume after the last item returned.
            items.last().map(key)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// One conditional `DeleteItem`: the comment's key is its video and `time#id`.
    async fn delete(&self, comment: &Comment) -> StoreResult<bool> {
        let deleted = self
            .db
            .client
            .delete_item()
            .table_name(&self.db.comments)
            .key("video_id", s(comment.video_id.to_string()))
            .key("sort", s(sort_value(comment.time, &comment.id.to_string())))
            .condition_expression("attribute_exists(video_id)")
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e).context("deleting a comment").into()),
        }
    }

    async fn delete_all_of_video(&self, video: &VideoId) -> StoreResult<u64> {
        let key = ("video_id", video.to_string());
        Ok(delete_listed(&self.db, None, key, "a video's comments").await?)
    }
}

/// Deletes every comment the `by_author` index lists for `author` (a deleted account's:
/// left under its name, they would read as written by whoever takes the name next);
/// returns how many.
pub(super) async fn delete_comments_by(db: &Tables, author: &UserId) -> anyhow::Result<u64> {
    let key = ("author_id", author.to_string());
    let index = Some(schema::COMMENTS_BY_AUTHOR);
    delete_listed(db, index, key, "a deleted account's comments").await
}

/// Deletes every comment a `Query` of `key` on the table (or on `index`) lists, keys
/// only, page by page, in `BatchWriteItem`s; returns how many.
async fn delete_listed(
    db: &Tables,
    index: Option<&str>,
    (name, value): (&str, String),
    what: &str,
) -> anyhow::Result<u64> {
    let pages = db
        .client
        .query()
        .table_name(&db.comments)
        .set_index_name(index.map(str::to_owned))
        .key_condition_expression("#key = :value")
        .expression_attribute_names("#key", name)
        .expression_attribute_values(":value", s(value))
        .projection_expression("video_id, #sort")
        .expression_attribute_names("#sort", "sort")
        .into_paginator()
        .items()
        .send();
    let keys: Vec<Item> = pages
        .collect::<Result<_, _>>()
        .await
        .with_context(|| format!("listing {what}"))?;
    let count = keys.len() as u64;
    db.delete_keys(&db.comments, keys).await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_become_key_ranges() {
        let (low, high) = key_range(TimeWindow {
            from: Some(10),
            to: Some(20),
        });
        let at = |micros: i64| sort_value(Timestamp::from_micros(micros), "id");
        assert!(at(10_999_999) < low, "from is exclusive");
        assert!(at(11_000_000) > low);
        assert!(at(20_999_999) < high, "to is inclusive");
        assert!(at(21_000_000) > high);
        let (low, high) = key_range(TimeWindow::default());
        assert!(at(0) > low && at(i64::MAX) < high);
    }
}
