use super::ParseError;

/// The media type of an upload: must be `video/<subtype>`, with an optional parameter list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoContentType(String);

impl VideoContentType {
    /// `Err` means "not a video type" (415), not "malformed request" (400).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let essence = trimmed.split(';').next().unwrap_or("").trim();
        let Some((kind, subtype)) = essence.split_once('/') else {
            return Err(ParseError::new("content_type must be video/*"));
        };
        let token = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
        };
        if !kind.eq_ignore_ascii_case("video") || !token(subtype) || trimmed.len() > 255 {
            return Err(ParseError::new("content_type must be video/*"));
        }
        if trimmed.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err(ParseError::new("content_type must be video/*"));
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
    fn only_video_types() {
        for ok in [
            "video/mp4",
            "VIDEO/webm",
            "video/mp4; codecs=\"avc1\"",
            "video/x-matroska",
        ] {
            assert!(VideoContentType::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "video",
            "video/",
            "image/png",
            "text/html",
            "application/octet-stream",
            "video/mp 4",
        ] {
            assert!(VideoContentType::parse(bad).is_err(), "{bad}");
        }
    }
}
