use super::text::{BoundedText, TextRule};

/// A comment's text: 1–2000 characters after trimming. Newlines and tabs are allowed;
/// other control characters and invisible formatting characters are not (see
/// [`super::text`]).
pub type CommentContent = BoundedText<CommentContentRule>;

pub enum CommentContentRule {}

impl TextRule for CommentContentRule {
    const FIELD: &'static str = "content";
    const MAX: usize = 2000;
    const MULTILINE: bool = true;
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
