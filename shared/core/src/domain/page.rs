use super::ParseError;

/// A page size for list routes: 1–100, default 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    pub const DEFAULT: Limit = Limit(50);

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => Ok(Self(n)),
            _ => Err(ParseError::new("limit must be an integer from 1 to 100")),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One page of a list, newest first, and the position after its last item (if more may
/// follow). `K` is the adapter's sort key; the HTTP layer turns it into an opaque cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_bounds() {
        assert_eq!(Limit::parse("1").unwrap().get(), 1);
        assert_eq!(Limit::parse("100").unwrap().get(), 100);
        assert_eq!(Limit::default().get(), 50);
        for bad in ["0", "101", "-1", "ten", "", "1.5"] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
    }
}
