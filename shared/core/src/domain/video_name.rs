use super::ParseError;

/// A video's display name: 1–200 characters after trimming, no control or invisible
/// formatting characters (see [`super::text::bounded_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoName(String);

impl VideoName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        super::text::bounded_text(raw, "name", 200, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `parse` refuses any text holding `c`.
    pub fn refuses(c: char) -> bool {
        super::text::is_refused_char(c, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(VideoName::parse("  My trip ").unwrap().as_str(), "My trip");
        assert!(VideoName::parse("x").is_ok());
        assert!(VideoName::parse(&"é".repeat(200)).is_ok());
        assert!(VideoName::parse("").is_err());
        assert!(VideoName::parse("   ").is_err());
        assert!(VideoName::parse(&"x".repeat(201)).is_err());
        assert!(VideoName::parse("a\nb").is_err());
        assert!(VideoName::parse("clip\u{202E}4pm.exe").is_err());
    }

    #[test]
    fn markup_is_just_text() {
        assert_eq!(VideoName::parse("<script>").unwrap().as_str(), "<script>");
    }
}
