use super::text::{BoundedText, TextRule};

/// A video's description: 0–5000 characters after trimming (empty is the default), the
/// same text rules as comments: line breaks and tabs allowed, other control and
/// invisible formatting characters not (see [`super::text`]).
pub type VideoDescription = BoundedText<VideoDescriptionRule>;

pub enum VideoDescriptionRule {}

impl VideoDescription {
    /// No description: what a video has until its author writes one.
    pub fn empty() -> Self {
        Self::parse("").expect("the empty description is valid")
    }
}

impl TextRule for VideoDescriptionRule {
    const FIELD: &'static str = "description";
    const MIN: usize = 0;
    const MAX: usize = 5000;
    const MULTILINE: bool = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn may_be_empty_trims_and_bounds() {
        assert_eq!(VideoDescription::parse("").unwrap().as_str(), "");
        assert_eq!(VideoDescription::parse("  \n ").unwrap().as_str(), "");
        assert_eq!(
            VideoDescription::parse(" Day one.\nDay two. ")
                .unwrap()
                .as_str(),
            "Day one.\nDay two."
        );
        assert!(VideoDescription::parse(&"é".repeat(5000)).is_ok());
        assert!(VideoDescription::parse(&"x".repeat(5001)).is_err());
        assert!(VideoDescription::parse("bell\u{7}").is_err());
        assert!(VideoDescription::parse("clip\u{202E}4pm").is_err());
    }
}
