//! How an upload's bytes travel (API.md, "Multipart uploads"): small files in one signed
//! `PUT`, larger ones in parts of one size (the last shorter), few enough for S3's
//! 10,000-part limit; and what a video records of the multipart upload in progress.

use super::{ParseError, Timestamp, VideoContentType};

const MIB: u64 = 1 << 20;
/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;
/// The smallest part Reel asks for (S3's own minimum is 5 MiB, all parts but the last).
pub const MIN_PART_SIZE: u64 = 8 * MIB;
/// The largest part Reel asks for: with 10,000 parts, uploads up to 1.22 TiB.
pub const MAX_PART_SIZE: u64 = 128 * MIB;
/// Part numbers one request may ask URLs for.
pub const MAX_PARTS_PER_REQUEST: usize = 100;
/// How long a multipart upload may stay unfinished: then its parts are discarded (the
/// bucket's lifecycle rule on S3, the embedded store's sweep) and another may begin.
pub const MULTIPART_LIFETIME_SECS: i64 = 2 * 24 * 3600;
/// S3's largest single `PUT`: the single-PUT threshold may not exceed it.
pub const MAX_SINGLE_PUT: u64 = 5 << 30;

/// How an upload of a given size is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadPlan {
    /// One signed `PUT` of the whole file.
    Single,
    /// `part_count` parts of `part_size` bytes (the last holds the rest).
    Multipart(PartPlan),
}

impl UploadPlan {
    /// The plan for `size` bytes: one `PUT` up to `threshold` bytes, parts above it.
    /// `None` when `size` is too large for any plan (over 10,000 parts of the largest
    /// part size).
    pub fn for_size(size: u64, threshold: u64) -> Option<Self> {
        if size <= threshold {
            return Some(Self::Single);
        }
        PartPlan::for_size(size).map(Self::Multipart)
    }
}

/// The parts of one multipart upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    size: u64,
    part_size: u64,
    part_count: u64,
}

impl PartPlan {
    /// The smallest whole number of MiB from 8 to 128 that needs at most 10,000 parts:
    /// parts as small as allowed, so a retried part costs little.
    pub fn for_size(size: u64) -> Option<Self> {
        if size == 0 {
            return None;
        }
        let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        let part_size = needed.max(MIN_PART_SIZE);
        if part_size > MAX_PART_SIZE {
            return None;
        }
        Some(Self {
            size,
            part_size,
            part_count: size.div_ceil(part_size),
        })
    }

    /// A plan as it was stored: `None` unless it is the plan [`PartPlan::for_size`]
    /// makes for `size` (a stored record must not make up another).
    pub fn stored(size: u64, part_size: u64) -> Option<Self> {
        Self::for_size(size).filter(|plan| plan.part_size == part_size)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    pub fn part_count(&self) -> u64 {
        self.part_count
    }

    /// Bytes in part `n` (every part is `part_size` but the last).
    pub fn part_len(&self, n: PartNumber) -> u64 {
        let start = (n.get() - 1) * self.part_size;
        self.part_size.min(self.size - start)
    }

    /// A part number sent by a client, checked against this plan.
    pub fn part(&self, raw: u64) -> Result<PartNumber, ParseError> {
        if (1..=self.part_count).contains(&raw) {
            Ok(PartNumber(raw))
        } else {
            Err(ParseError::new(format!(
                "part numbers run from 1 to {}",
                self.part_count
            )))
        }
    }

    /// The part numbers of one request for URLs: 1–100 of them, each in this plan,
    /// none twice.
    pub fn parts(&self, raw: &[u64]) -> Result<Vec<PartNumber>, ParseError> {
        if raw.is_empty() || raw.len() > MAX_PARTS_PER_REQUEST {
            return Err(ParseError::new(format!(
                "ask for 1 to {MAX_PARTS_PER_REQUEST} parts at a time"
            )));
        }
        let mut parts = raw
            .iter()
            .map(|&n| self.part(n))
            .collect::<Result<Vec<_>, _>>()?;
        parts.sort();
        let before = parts.len();
        parts.dedup();
        if parts.len() != before {
            return Err(ParseError::new("a part number is named twice"));
        }
        Ok(parts)
    }
}

/// A part's number within its upload's plan (1-based, as S3 counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartNumber(u64);

impl PartNumber {
    /// A part number a URL this server signed carries: the plan checked it when the
    /// URL was made, and the signature vouches that it is that one.
    pub fn signed(n: u64) -> Self {
        Self(n)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// The id the object store gave a multipart upload (S3's `UploadId`; the embedded
/// store's own): 1–1,024 visible ASCII characters, so it is safe in a query string,
/// a file name's hash and a log line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        if raw.is_empty() || raw.len() > 1024 || !visible {
            return Err(ParseError::new("upload_id is not one this server issued"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UploadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The multipart upload a pending video has in progress: what the routes check every
/// part and the completion against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    pub id: UploadId,
    pub plan: PartPlan,
    pub content_type: VideoContentType,
    /// When it is abandoned: its parts are discarded and another upload may begin.
    pub expires: Timestamp,
}

impl MultipartUpload {
    /// When an upload begun at `now` is abandoned: [`MULTIPART_LIFETIME_SECS`] later,
    /// in whole seconds (as stores keep it).
    pub fn expiry_from(now: Timestamp) -> Timestamp {
        Timestamp::from_unix_seconds(now.unix_seconds() + MULTIPART_LIFETIME_SECS)
    }

    /// Whether it still blocks another upload of its video at `now`.
    pub fn in_progress(&self, now: Timestamp) -> bool {
        now.unix_seconds() < self.expires.unix_seconds()
    }
}

/// A part as storage holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub number: u64,
    /// As the store gives it: S3's quoted MD5 (`"9b2c…"`); the same locally.
    pub etag: String,
    pub size: u64,
}

/// Whether two ETags name the same part: S3 quotes them, clients may not.
pub fn same_etag(a: &str, b: &str) -> bool {
    let bare = |s: &str| s.trim().trim_matches('"').to_ascii_lowercase();
    bare(a) == bare(b)
}

/// Why a completion is refused (API.md: 400 `001`, nothing assembled).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompletionError {
    #[error("list every part once, in ascending order")]
    NotEveryPartOnce,
    #[error("part {0} has not been uploaded")]
    Missing(u64),
    #[error("part {0}'s ETag is not the stored part's")]
    WrongEtag(u64),
    #[error("part {0} is not the planned size; the upload is not the declared size")]
    WrongSize(u64),
}

/// Checks a completion request against the plan and the parts storage holds: every
/// part named once, ascending, each stored with that ETag and its planned size (so the
/// whole is the declared size). Nothing is assembled unless this passes.
pub fn check_completion(
    plan: &PartPlan,
    named: &[(u64, String)],
    stored: &[StoredPart],
) -> Result<(), CompletionError> {
    let ascending = named.windows(2).all(|w| w[0].0 < w[1].0);
    let in_plan = named
        .iter()
        .all(|(n, _)| (1..=plan.part_count()).contains(n));
    if !ascending || !in_plan {
        return Err(CompletionError::NotEveryPartOnce);
    }
    // Ascending, distinct and within the plan: short of the count means one is missing.
    if let Some(missing) =
        (1..=plan.part_count()).find(|n| named.get(*n as usize - 1).map(|p| p.0) != Some(*n))
    {
        return Err(CompletionError::Missing(missing));
    }
    for (number, etag) in named {
        let Some(part) = stored.iter().find(|p| p.number == *number) else {
            return Err(CompletionError::Missing(*number));
        };
        if !same_etag(&part.etag, etag) {
            return Err(CompletionError::WrongEtag(*number));
        }
        if part.size != plan.part_len(PartNumber(*number)) {
            return Err(CompletionError::WrongSize(*number));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn small_files_go_in_one_put_and_larger_ones_in_parts() {
        let threshold = 64 * MIB;
        assert_eq!(UploadPlan::for_size(1, threshold), Some(UploadPlan::Single));
        assert_eq!(
            UploadPlan::for_size(threshold, threshold),
            Some(UploadPlan::Single)
        );
        let Some(UploadPlan::Multipart(plan)) = UploadPlan::for_size(threshold + 1, threshold)
        else {
            panic!("over the threshold: parts");
        };
        assert_eq!((plan.part_size(), plan.part_count()), (8 * MIB, 9));
    }

    #[test]
    fn parts_are_8_to_128_mib_and_at_most_10000() {
        for (size, part_size, count) in [
            (200 * MIB, 8 * MIB, 25),
            (3 * GIB + 5, 8 * MIB, 385),
            (50 * GIB, 8 * MIB, 6_400),
            (78 * GIB, 8 * MIB, 9_984),
            (100 * GIB, 11 * MIB, 9_310),
            (MAX_PARTS * MAX_PART_SIZE, MAX_PART_SIZE, MAX_PARTS),
        ] {
            let plan = PartPlan::for_size(size).unwrap();
            assert_eq!(
                (plan.part_size(), plan.part_count()),
                (part_size, count),
                "{size}"
            );
            assert!(plan.part_count() <= MAX_PARTS);
            assert_eq!(plan.part_size() % MIB, 0);
        }
        assert_eq!(PartPlan::for_size(MAX_PARTS * MAX_PART_SIZE + 1), None);
        assert_eq!(PartPlan::for_size(0), None);
    }

    #[test]
    fn every_part_but_the_last_is_whole_and_they_add_up() {
        let plan = PartPlan::for_size(20 * MIB + 3).unwrap();
        assert_eq!(plan.part_count(), 3);
        let lens: Vec<u64> = (1..=3)
            .map(|n| plan.part_len(plan.part(n).unwrap()))
            .collect();
        assert_eq!(lens, [8 * MIB, 8 * MIB, 4 * MIB + 3]);
        assert_eq!(lens.iter().sum::<u64>(), plan.size());
    }

    #[test]
    fn a_completion_names_every_stored_part_once_with_its_etag() {
        let plan = PartPlan::for_size(20 * MIB + 3).unwrap();
        let stored: Vec<StoredPart> = [(1, 8 * MIB), (2, 8 * MIB), (3, 4 * MIB + 3)]
            .into_iter()
            .map(|(number, size)| StoredPart {
                number,
                etag: format!("\"e{number}\""),
                size,
            })
            .collect();
        let named = |parts: &[(u64, &str)]| -> Vec<(u64, String)> {
            parts.iter().map(|(n, e)| (*n, e.to_string())).collect()
        };
        let all = named(&[(1, "e1"), (2, "\"E2\""), (3, "e3")]);
        assert_eq!(check_completion(&plan, &all, &stored), Ok(()));
        assert_eq!(
            check_completion(&plan, &named(&[(1, "e1"), (3, "e3")]), &stored),
            Err(CompletionError::Missing(2))
        );
        assert_eq!(
            check_completion(&plan, &named(&[(2, "e2"), (1, "e1"), (3, "e3")]), &stored),
            Err(CompletionError::NotEveryPartOnce)
        );
        assert_eq!(
            check_completion(&plan, &named(&[(1, "e1"), (2, "e9"), (3, "e3")]), &stored),
            Err(CompletionError::WrongEtag(2))
        );
        assert_eq!(
            check_completion(&plan, &all, &stored[..2]),
            Err(CompletionError::Missing(3))
        );
        let mut short = stored.clone();
        short[2].size -= 1;
        assert_eq!(
            check_completion(&plan, &all, &short),
            Err(CompletionError::WrongSize(3))
        );
    }

    #[test]
    fn upload_ids_are_visible_ascii_and_stored_plans_are_the_computed_ones() {
        assert!(UploadId::parse("abc-_.~+/=").is_ok());
        assert!(UploadId::parse("").is_err());
        assert!(UploadId::parse("a b").is_err());
        assert!(UploadId::parse(&"a".repeat(1025)).is_err());
        assert!(PartPlan::stored(200 * MIB, 8 * MIB).is_some());
        assert!(PartPlan::stored(200 * MIB, 16 * MIB).is_none());
    }

    #[test]
    fn part_numbers_are_checked_against_the_plan() {
        let plan = PartPlan::for_size(20 * MIB).unwrap();
        assert!(plan.part(0).is_err());
        assert!(plan.part(4).is_err());
        let got = plan.parts(&[3, 1]).unwrap();
        assert_eq!(got.iter().map(|p| p.get()).collect::<Vec<_>>(), [1, 3]);
        assert!(plan.parts(&[]).is_err());
        assert!(plan.parts(&[1, 1]).is_err());
        assert!(plan.parts(&[2, 9]).is_err());
        let big = PartPlan::for_size(GIB).unwrap();
        let many: Vec<u64> = (1..=101).collect();
        assert!(big.parts(&many).is_err());
        assert!(big.parts(&many[..100]).is_ok());
    }
}
