use super::ParseError;

/// A comment's text: 1–2000 characters after trimming. Newlines are allowed; other
/// control characters are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentContent(String);

impl CommentContent {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if !(1..=2000).contains(&len) {
            return Err(ParseError::new("content must be 1 to 2000 characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ParseError::new(
                "content must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
