//! Opaque, URL-safe identifiers. Video, user and comment ids are UUIDv4 (122 random
//! bits); session ids are 256 random bits. Parsing accepts only the exact canonical form,
//! so an id can be used as a file name without any path escaping the data directory.

use super::ParseError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use uuid::Uuid;

macro_rules! uuid_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The id of a ", $what, ": a lower-case hyphenated UUIDv4.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                let invalid = || ParseError::new(concat!("not a valid ", $what, " id"));
                let uuid = Uuid::try_parse(raw).map_err(|_| invalid())?;
                // Only the canonical spelling, so one id has exactly one string form.
                if uuid.hyphenated().to_string() != raw {
                    return Err(invalid());
                }
                Ok(Self(uuid))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0.hyphenated())
            }
        }
    };
}

uuid_id!(UserId, "user");
uuid_id!(VideoId, "video");
uuid_id!(CommentId, "comment");

/// A session id: 32 random bytes, base64url without padding (43 characters).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let decoded = URL_SAFE_NO_PAD.decode(raw).ok();
        match decoded {
            Some(bytes) if bytes.len() == 32 && raw.len() == 43 => Ok(Self(raw.to_owned())),
            _ => Err(ParseError::new("not a valid session id")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What stores keep instead of the id (hex SHA-256): a leaked table or backup
    /// holds no usable session. The id has 256 random bits, so no salt or slow hash.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_round_trip_and_are_random() {
        let a = VideoId::new();
        assert_eq!(VideoId::parse(&a.to_string()).unwrap(), a);
        assert_ne!(a, VideoId::new());
    }

    #[test]
    fn uuid_ids_refuse_non_canonical_and_hostile_forms() {
        let id = UserId::new().to_string();
        for bad in [
            "",
            "../../etc/passwd",
            &id.to_uppercase(),
            &id.replace('-', ""),
            &format!("{{{id}}}"),
            &format!("{id}/.."),
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CommentId::parse(&id).is_ok());
    }

    #[test]
    fn session_ids_have_256_bits_and_parse_strictly() {
        let s = SessionId::generate();
        assert_eq!(s.as_str().len(), 43);
        assert_eq!(SessionId::parse(s.as_str()).unwrap(), s);
        assert_ne!(s, SessionId::generate());
        assert!(SessionId::parse("short").is_err());
        assert!(SessionId::parse(&"!".repeat(43)).is_err());
        assert!(!format!("{s:?}").contains(s.as_str()));
    }
}
