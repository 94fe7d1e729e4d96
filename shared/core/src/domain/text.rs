//! The rule every free-text field shares (video names, comments): trimmed, bounded in
//! characters, and free of what could make one text look like another in a list.

use super::ParseError;
use std::marker::PhantomData;
use unicode_general_category::{get_general_category, GeneralCategory};

/// What one free-text field allows (see [`bounded_text`]).
pub trait TextRule {
    /// The field's name in error messages.
    const FIELD: &'static str;
    /// The fewest characters after trimming (0: the field may be empty).
    const MIN: usize = 1;
    /// The most characters after trimming.
    const MAX: usize;
    /// Whether line breaks and tabs are allowed.
    const MULTILINE: bool;
}

/// Free text that passed the rule `R`: `VideoName`, `CommentContent`.
pub struct BoundedText<R>(String, PhantomData<R>);

impl<R: TextRule> BoundedText<R> {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        bounded_text(raw, R::FIELD, R::MIN..=R::MAX, R::MULTILINE)
            .map(|text| Self(text, PhantomData))
    }

    /// Whether `parse` refuses any text holding `c` (the OpenAPI document's patterns
    /// are built from this).
    pub fn refuses(c: char) -> bool {
        is_refused_char(c, R::MULTILINE)
    }
}

impl<R> BoundedText<R> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

// By hand, not derived: a derive would require the rule type itself to be `Clone`, ...
impl<R> Clone for BoundedText<R> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<R> PartialEq for BoundedText<R> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<R> Eq for BoundedText<R> {}

impl<R> std::fmt::Debug for BoundedText<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `raw` trimmed, when it holds `length` characters (1 to some maximum, or from 0), no control character (but line
/// breaks and tabs where `multiline`), and no format character (Unicode category Cf:
/// bidirectional overrides and isolates, zero-width spaces, soft hyphens, ...), which
/// are invisible and can reorder or disguise the text around them. The zero-width
/// joiner and non-joiner stay allowed: emoji sequences and Persian and Indic scripts
/// need them, and they reorder nothing. `field` names the field in the messages.
fn bounded_text(
    raw: &str,
    field: &str,
    length: std::ops::RangeInclusive<usize>,
    multiline: bool,
) -> Result<String, ParseError> {
    let trimmed = raw.trim();
    if !length.contains(&trimmed.chars().count()) {
        let (min, max) = (length.start(), length.end());
        return Err(ParseError::new(format!(
            "{field} must be {min} to {max} characters"
        )));
    }
    if trimmed.chars().any(|c| is_refused_control(c, multiline)) {
        return Err(ParseError::new(format!(
            "{field} must not contain control characters"
        )));
    }
    // No ASCII character is a format character (see the test): only the others are
    // looked up, which spares the table for most text.
    if trimmed
        .chars()
        .any(|c| !c.is_ascii() && is_disguising_format_character(c))
    {
        return Err(ParseError::new(format!(
            "{field} must not contain invisible formatting characters (such as bidirectional overrides)"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Whether free text refuses `c` wherever it stands.
fn is_refused_char(c: char, multiline: bool) -> bool {
    is_refused_control(c, multiline) || is_disguising_format_character(c)
}

fn is_refused_control(c: char, multiline: bool) -> bool {
    c.is_control() && !(multiline && (c == '\n' || c == '\t'))
}

fn is_disguising_format_character(c: char) -> bool {
    const ZERO_WIDTH_NON_JOINER: char = '\u{200C}';
    const ZERO_WIDTH_JOINER: char = '\u{200D}';
    get_general_category(c) == GeneralCategory::Format
        && c != ZERO_WIDTH_JOINER
        && c != ZERO_WIDTH_NON_JOINER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_ascii_character_is_a_format_character() {
        for c in (0u8..128).map(char::from) {
            assert_ne!(get_general_category(c), GeneralCategory::Format, "{c:?}");
        }
    }

    #[test]
    fn format_characters_are_refused() {
        for c in [
            '\u{202E}',  // right-to-left override
            '\u{202A}',  // left-to-right embedding
            '\u{2066}',  // left-to-right isolate
            '\u{200E}',  // left-to-right mark
            '\u{200B}',  // zero-width space
            '\u{2060}',  // word joiner
            '\u{FEFF}',  // zero-width no-break space
            '\u{00AD}',  // soft hyphen
            '\u{E0041}', // tag latin capital A
        ] {
            let text = format!("evil{c}gpj.exe");
            let err = bounded_text(&text, "name", 1..=200, false).unwrap_err();
            assert_eq!(
                err.0,
                "name must not contain invisible formatting characters (such as bidirectional overrides)",
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn joiners_and_ordinary_text_pass() {
        for ok in [
            "👨\u{200D}👩\u{200D}👧",
            "می\u{200C}خواهم",
            "שלום",
            "café",
            "a b",
        ] {
            assert_eq!(bounded_text(ok, "name", 1..=200, false).unwrap(), ok);
        }
    }

    #[test]
    fn control_characters_follow_multiline() {
        assert!(bounded_text("a\nb", "content", 1..=10, true).is_ok());
        assert_eq!(
            bounded_text("a\nb", "name", 1..=10, false).unwrap_err().0,
            "name must not contain control characters"
        );
        assert!(bounded_text("a\u{7}b", "content", 1..=10, true).is_err());
    }
}
