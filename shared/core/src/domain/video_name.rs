use super::text::{BoundedText, TextRule};

/// A video's display name: 1–200 characters after trimming, no control or invisible
/// formatting characters (see [`super::text`]).
pub type VideoName = BoundedText<VideoNameRule>;

pub enum VideoNameRule {}

impl TextRule for VideoNameRule {
    const FIELD: &'static str = "name";
    const MAX: usize = 200;
    const MULTILINE: bool = false;
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
