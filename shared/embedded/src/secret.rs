use anyhow::Context;
use rand::RngCore;
use std::io::Write;
use std::path::Path;

/// The key that signs blob URLs and cursors, kept in the data directory so URLs and
/// cursors handed out stay valid across restarts. Created (mode 0600) on first start.
pub fn load_or_create_key(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join("signing.key");
    match std::fs::read(&path) {
        Ok(bytes) => bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} must hold exactly 32 bytes", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let tmp = data_dir.join("signing.key.tmp");
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).context("creating signing key")?;
            file.write_all(&key)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path).context("storing signing key")?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = super::load_or_create_key(dir.path()).unwrap();
        let b = super::load_or_create_key(dir.path()).unwrap();
        assert_eq!(a, b);
        std::fs::write(dir.path().join("signing.key"), b"short").unwrap();
        assert!(super::load_or_create_key(dir.path()).is_err());
    }
}
