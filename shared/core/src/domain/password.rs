use super::ParseError;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// A clear-text password as received: 8–256 characters. Never logged, never stored.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let len = raw.chars().count();
        if !(8..=256).contains(&len) {
            return Err(ParseError::new("pwd must be 8 to 256 characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Hashes with Argon2id and a fresh random salt (PHC string, parameters included).
    pub fn hash(&self) -> anyhow::Result<PasswordHash> {
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
        Ok(PasswordHash(phc.to_string()))
    }

    pub fn matches(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = argon2::PasswordHash::new(&hash.0) else {
            return false;
        };
        Argon2::default()
            .verify_password(self.0.as_bytes(), &parsed)
            .is_ok()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An Argon2id PHC string as stored by the user adapters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read back from storage.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A valid hash of an unguessable password, verified against when the user does not
    /// exist so that a wrong name and a wrong password take the same time.
    pub fn dummy() -> &'static PasswordHash {
        static DUMMY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
        DUMMY.get_or_init(|| {
            Password(uuid::Uuid::new_v4().to_string())
                .hash()
                .expect("hashing a fixed-size password cannot fail")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(256)).is_ok());
        assert!(Password::parse(&"p".repeat(257)).is_err());
    }

    #[test]
    fn hash_is_argon2id_salted_and_verifies() {
        let pwd = Password::parse("correct horse").unwrap();
        let h1 = pwd.hash().unwrap();
        let h2 = pwd.hash().unwrap();
        assert!(h1.as_str().starts_with("$argon2id$"));
        assert_ne!(h1, h2, "salts must differ");
        assert!(pwd.matches(&h1));
        assert!(!Password::parse("wrong horse").unwrap().matches(&h1));
        assert!(!pwd.matches(&PasswordHash::from_stored("garbage".into())));
    }

    #[test]
    fn debug_hides_the_secret() {
        let pwd = Password::parse("super secret").unwrap();
        assert!(!format!("{pwd:?}").contains("secret"));
    }
}
