//! A stored object seen through bounded ranged reads: `Read + Seek` for the container
//! parsers, backed by whatever fetches a byte range (a file read locally, a `GetObject`
//! with `Range` on S3), with a cap on the bytes fetched in all.

use std::io::{self, Read, Seek, SeekFrom};

/// Fetches up to `len` bytes of the object from `offset` (fewer only at its end).
pub trait Fetch {
    fn fetch(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>>;
}

impl<F: FnMut(u64, usize) -> io::Result<Vec<u8>>> Fetch for F {
    fn fetch(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self(offset, len)
    }
}

/// The least one fetch asks for: a header read costs one request, and the few headers
/// that follow it come from the same response.
pub const MIN_FETCH: usize = 64 * 1024;

/// What a probe cost: ranged requests made and bytes they returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub requests: u32,
    pub bytes: u64,
}

/// Why a read failed, when it was not the parser's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    /// Fetching more would pass the cap.
    Cap,
    /// The fetch itself failed (the store): not the file's fault.
    Store,
}

/// `Read + Seek` over an object of `len` bytes, fetching what is read in ranges of at
/// least [`MIN_FETCH`] and keeping them, never more than `cap` bytes in all.
///
/// `SeekFrom::End` answers at most `cap` bytes past the current position: the Matroska
/// parser sizes its buffers by "bytes left in the stream", so an element that declares
/// gigabytes cannot make it allocate more than the cap.
pub struct CappedSource<F> {
    fetch: F,
    len: u64,
    cap: u64,
    pos: u64,
    /// Fetched ranges: (offset, bytes), never overlapping.
    ranges: Vec<(u64, Vec<u8>)>,
    stats: ReadStats,
    failure: Option<ReadFailure>,
}

impl<F: Fetch> CappedSource<F> {
    pub fn new(fetch: F, len: u64, cap: u64) -> Self {
        Self {
            fetch,
            len,
            cap,
            pos: 0,
            ranges: Vec::new(),
            stats: ReadStats::default(),
            failure: None,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    pub(crate) fn failure(&self) -> Option<ReadFailure> {
        self.failure
    }

    /// Exactly `len` bytes at `offset`; `UnexpectedEof` past the object's end.
    pub(crate) fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.pos = offset;
        let mut buf = vec![0; len];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// The fetched range holding `pos`, as (its bytes from `pos` on).
    fn cached(&self, pos: u64) -> Option<&[u8]> {
        self.ranges.iter().find_map(|(start, bytes)| {
            let end = start + bytes.len() as u64;
            (*start <= pos && pos < end).then(|| &bytes[(pos - start) as usize..])
        })
    }

    /// Fetches from `pos` on: at least what `want` asks (and [`MIN_FETCH`]), up to the
    /// next range already held and the object's end.
    fn fill(&mut self, pos: u64, want: usize) -> io::Result<()> {
        let next_held = self
            .ranges
            .iter()
            .map(|(start, _)| *start)
            .filter(|start| *start > pos)
            .min()
            .unwrap_or(self.len);
        let len = (want.max(MIN_FETCH) as u64).min(next_held - pos);
        if self.stats.bytes + len > self.cap {
            self.failure = Some(ReadFailure::Cap);
            return Err(io::Error::other("the read cap is reached"));
        }
        let bytes = match self.fetch.fetch(pos, len as usize) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.failure = Some(ReadFailure::Store);
                return Err(e);
            }
        };
        self.stats.requests += 1;
        self.stats.bytes += bytes.len() as u64;
        if bytes.is_empty() {
            // The object is shorter than it was said to be: read as its end.
            self.len = pos;
            return Ok(());
        }
        let bytes = if bytes.len() as u64 > len {
            bytes[..len as usize].to_vec()
        } else {
            bytes
        };
        self.ranges.push((pos, bytes));
        Ok(())
    }
}

impl<F: Fetch> Read for CappedSource<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        if self.cached(self.pos).is_none() {
            let want = (buf.len() as u64).min(self.len - self.pos) as usize;
            self.fill(self.pos, want)?;
        }
        let Some(held) = self.cached(self.pos) else {
            return Ok(0);
        };
        let n = held.len().min(buf.len());
        buf[..n].copy_from_slice(&held[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<F: Fetch> Seek for CappedSource<F> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let end = self.len.min(self.pos.saturating_add(self.cap));
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => end.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: Vec<u8>, cap: u64) -> CappedSource<impl Fetch> {
        let len = bytes.len() as u64;
        let fetch = move |offset: u64, len: usize| {
            let start = (offset as usize).min(bytes.len());
            let end = (start + len).min(bytes.len());
            Ok(bytes[start..end].to_vec())
        };
        CappedSource::new(fetch, len, cap)
    }

    #[test]
    fn reads_come_from_few_large_fetches() {
        let bytes: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let mut s = source(bytes.clone(), 1 << 20);
        assert_eq!(s.read_at(10, 8).unwrap(), bytes[10..18]);
        assert_eq!(s.read_at(100, 8).unwrap(), bytes[100..108]);
        assert_eq!(s.stats().requests, 1);
        assert_eq!(s.read_at(250_000, 50_000).unwrap(), bytes[250_000..]);
        assert_eq!(s.stats().requests, 2);
        // Spanning the end of the first range: the rest is fetched up to the next one.
        assert_eq!(s.read_at(60_000, 10_000).unwrap(), bytes[60_000..70_000]);
        assert_eq!(s.stats().requests, 3);
        assert!(s.read_at(299_999, 2).is_err(), "past the end");
    }

    #[test]
    fn nothing_is_fetched_past_the_cap() {
        let mut s = source(vec![7; 1_000_000], 100_000);
        s.read_at(0, 10).unwrap();
        let error = s.read_at(500_000, 10).unwrap_err();
        assert_eq!(s.failure(), Some(ReadFailure::Cap), "{error}");
        assert!(s.stats().bytes <= 100_000);
    }

    #[test]
    fn the_end_is_at_most_the_cap_away() {
        let mut s = source(vec![0; 1_000_000], 100_000);
        assert_eq!(s.seek(SeekFrom::End(0)).unwrap(), 100_000);
        s.seek(SeekFrom::Start(950_000)).unwrap();
        assert_eq!(s.seek(SeekFrom::End(0)).unwrap(), 1_000_000);
    }
}
