//! Newest-first pages of an embedded list query, keyed like the ports' cursors.

use anyhow::Context;
use reel_core::domain::{Limit, Page};
use reel_core::ports::SortKey;
use rusqlite::{Connection, Row};

/// The `(time, id)` a newest-first page starts below. Without a cursor it is above every
/// real key: no stored time reaches `i64::MAX`.
fn after_bound(after: Option<&SortKey>) -> (i64, String) {
    match after {
        Some(k) => (k.at.as_micros(), k.id.clone()),
        None => (i64::MAX, String::new()),
    }
}

/// Trims the one extra row fetched to learn whether another page follows.
fn paginate<T>(items: &mut Vec<T>, limit: Limit, key: impl Fn(&T) -> SortKey) -> Page<T, SortKey> {
    let more = items.len() > limit.get() as usize;
    items.truncate(limit.get() as usize);
    let next = if more { items.last().map(key) } else { None };
    Page {
        items: std::mem::take(items),
        next,
    }
}

/// One page of `sql`'s rows, newest first: `sql` takes `params` and then, as its last
/// three parameters, the `after` bound's time and id and a row limit (`LIMIT ?n`), and
/// selects what `from_row` reads; `key` is an item's position for the next cursor.
pub(crate) fn query_page<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    after: Option<&SortKey>,
    limit: Limit,
    from_row: fn(&Row<'_>) -> rusqlite::Result<anyhow::Result<T>>,
    key: fn(&T) -> SortKey,
) -> anyhow::Result<Page<T, SortKey>> {
    let (after_us, after_id) = after_bound(after);
    let fetch = limit.get() + 1;
    let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
    all.extend([&after_us as &dyn rusqlite::ToSql, &after_id, &fetch]);
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(all.as_slice(), from_row)?
        .collect::<Result<Vec<_>, _>>()
        .context("reading the rows")?;
    let mut items = rows.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(paginate(&mut items, limit, key))
}
