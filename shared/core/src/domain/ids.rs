//! Opaque, URL-safe identifiers. Video, user and comment ids are UUIDv4 (122 random
//! bits); session ids are 256 random bits and the user's name. Parsing accepts only the
//! exact canonical form, so an id can be used as a file name without any path escaping
//! the data directory.

use super::{ParseError, UserName};
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

/// A session id: 32 random bytes, base64url without padding (43 characters), then `.`
/// and the name of the user it was issued to. The name lets a store read the session and
/// its account in one request, so that every request checks the account (a deleted or
/// disabled account's sessions stop serving at once, with no sweep of its sessions).
/// It is no secret, and no claim either: a store finds the session by the digest of the
/// whole id, and the session names its user. Ids issued before names were added (the
/// 43 characters alone) still parse.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn generate_for(user: &UserName) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(bytes),
            user.as_str()
        ))
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let (random, name) = match raw.split_once('.') {
            Some((random, name)) => (random, Some(name)),
            None => (raw, None),
        };
        let random_ok = random.len() == 43
            && URL_SAFE_NO_PAD
                .decode(random)
                .is_ok_and(|bytes| bytes.len() == 32);
        let name_ok = name.is_none_or(|name| UserName::parse(name).is_ok());
        if random_ok && name_ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("not a valid session id"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The user the session was issued to, as its id names them (none in an id issued
    /// before ids named their user).
    pub fn user_name(&self) -> Option<UserName> {
        let (_, name) = self.0.split_once('.')?;
        UserName::parse(name).ok()
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
    fn session_ids_have_256_bits_name_their_user_and_parse_strictly() {
        let alice = UserName::parse("alice.b-1").unwrap();
        let s = SessionId::generate_for(&alice);
        let (random, name) = s.as_str().split_once('.').unwrap();
        assert_eq!(random.len(), 43);
        assert_eq!(name, "alice.b-1");
        assert_eq!(s.user_name(), Some(alice.clone()));
        assert_eq!(SessionId::parse(s.as_str()).unwrap(), s);
        assert_ne!(s, SessionId::generate_for(&alice));
        assert!(SessionId::parse("short").is_err());
        assert!(SessionId::parse(&"!".repeat(43)).is_err());
        assert!(
            SessionId::parse(&format!("{random}.")).is_err(),
            "an empty name"
        );
        assert!(
            SessionId::parse(&format!("{random}.a/b")).is_err(),
            "not a user name"
        );
        assert!(SessionId::parse(&format!("x{random}.alice")).is_err());
        assert!(!format!("{s:?}").contains(random));
    }

    #[test]
    fn session_ids_issued_before_they_named_their_user_still_parse() {
        let old = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let id = SessionId::parse(&old).unwrap();
        assert_eq!(id.user_name(), None);
        assert_eq!(id.as_str(), old);
    }
}
