use super::ParseError;

/// A comment's text: 1–2000 characters after trimming. Newlines and tabs are allowed;
/// other control characters and invisible formatting characters are not (see
/// [`super::text::bounded_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentContent(String);

impl CommentContent {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        super::text::bounded_text(raw, "content", 2000, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `parse` refuses any text holding `c`.
    pub fn refuses(c: char) -> bool {
        super::text::is_refused_char(c, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(CommentContent::parse(" hi\n").unwrap().as_str(), "hi");
        assert!(CommentContent::parse("line1\nline2").is_ok());
        assert!(CommentContent::parse(&"é".repeat(2000)).is_ok());
        assert!(CommentContent::parse(&format!("  {}  ", "x".repeat(2000))).is_ok());
        assert!(CommentContent::parse(&"x".repeat(2001)).is_err());
        assert!(CommentContent::parse(" \n\t ").is_err());
        assert!(CommentContent::parse("bell\u{7}").is_err());
    }
}
