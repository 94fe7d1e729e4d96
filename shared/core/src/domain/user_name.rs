use super::ParseError;

/// A user name: 3–64 characters of `[A-Za-z0-9_.-]`, so it is safe in a URL path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let len = raw.chars().count();
        if !(3..=64).contains(&len) {
            return Err(ParseError::new("user_name must be 3 to 64 characters"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if !raw.chars().all(allowed) {
            return Err(ParseError::new(
                "user_name may contain only letters, digits, '_', '.' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for UserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet_and_lengths() {
        for ok in ["abc", "Al_ice.B-1", &"x".repeat(64)] {
            assert_eq!(UserName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_bad_lengths_and_characters() {
        for bad in [
            "",
            "ab",
            &"x".repeat(65),
            "al ice",
            "al/ice",
            "älice",
            "a%2e",
            "../..",
        ] {
            assert!(UserName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
