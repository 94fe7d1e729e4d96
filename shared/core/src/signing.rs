//! HMAC-SHA256 signatures for the things the server hands out and later trusts again:
//! local blob URLs (the embedded stand-in for S3 presigning) and list cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, purpose: &str, message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key size");
        // Domain separation: a signature made for one purpose is useless for another.
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac
    }

    /// base64url signature of `message` for `purpose`.
    pub fn sign(&self, purpose: &str, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, message).finalize().into_bytes())
    }

    /// Constant-time check of a signature made by [`Signer::sign`].
    pub fn verify(&self, purpose: &str, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.mac(purpose, message).verify_slice(&bytes).is_ok()
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_own_signatures_only() {
        let s = Signer::new([7; 32]);
        let sig = s.sign("blob", b"hello");
        assert!(s.verify("blob", b"hello", &sig));
        assert!(!s.verify("blob", b"hellO", &sig));
        assert!(
            !s.verify("cursor", b"hello", &sig),
            "purposes are separated"
        );
        assert!(!Signer::new([8; 32]).verify("blob", b"hello", &sig));
        assert!(!s.verify("blob", b"hello", "not base64!"));
    }
}
