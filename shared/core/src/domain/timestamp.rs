use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// A UTC instant with microsecond precision, stored as microseconds since the epoch so
/// both SQLite and DynamoDB can sort and compare it as a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        Self((at.unix_timestamp_nanos() / 1_000) as i64)
    }

    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds.saturating_mul(1_000_000))
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 in UTC, e.g. `2026-11-24T10:00:00.123456Z`.
    pub fn rfc3339(self) -> String {
        self.datetime()
            .format(&Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
    }

    /// The original project's human form, `Jan 02 2006, 15:04:05` (UTC).
    pub fn display(self) -> String {
        let fmt = format_description!("[month repr:short] [day] [year], [hour]:[minute]:[second]");
        self.datetime().format(fmt).unwrap_or_default()
    }
}

/// A fixed window of time, `[start, end)`: windows of one width tile the time line from
/// the epoch on (the sign-in throttle counts attempts per window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    /// The window of `seconds` (at least 1) that holds `at`.
    pub fn containing(at: Timestamp, seconds: i64) -> Self {
        let width = seconds.max(1).saturating_mul(1_000_000);
        let start = at.0 - at.0.rem_euclid(width);
        Self {
            start: Timestamp(start),
            end: Timestamp(start.saturating_add(width)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_aligned() {
        let at = |s| Timestamp::from_unix_seconds(s);
        let window = |start, end| Window {
            start: at(start),
            end: at(end),
        };
        assert_eq!(Window::containing(at(1_800), 900), window(1_800, 2_700));
        assert_eq!(Window::containing(at(2_699), 900), window(1_800, 2_700));
        assert_eq!(
            Window::containing(Timestamp::from_micros(2_700_000_001), 900),
            window(2_700, 3_600)
        );
    }

    #[test]
    fn formats_like_the_original() {
        let t = Timestamp::from_unix_seconds(1_136_214_245); // 2006-01-02T15:04:05Z
        assert_eq!(t.display(), "Jan 02 2006, 15:04:05");
        assert_eq!(t.rfc3339(), "2006-01-02T15:04:05Z");
        assert_eq!(t.unix_seconds(), 1_136_214_245);
    }

    #[test]
    fn keeps_microseconds_and_orders() {
        let a = Timestamp::from_micros(1_500_000);
        assert_eq!(a.unix_seconds(), 1);
        assert_eq!(a.rfc3339(), "1970-01-01T00:00:01.5Z");
        assert!(a < a.plus_seconds(1));
        assert!(Timestamp::now() > a);
    }
}
