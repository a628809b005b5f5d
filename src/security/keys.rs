//! The secrets file: JWT signing keys (a ring, so keys rotate without logging anyone out),
//! the pepper for contact HMACs, the audit chain's HMAC key and the Ed25519 key that signs
//! audit checkpoints. Created on first run with mode 0600; never stored in the database
//! and never logged. Every node of a deployment reads the same file.
//!
//! Hardening (L2): the file is written through `<name>.tmp`, opened with `create_new`
//! (`O_CREAT|O_EXCL`: a symlink or a leftover file at that path is refused, never followed
//! or reused) and set to 0600 explicitly before the rename; a key file readable by group or
//! others is refused on load with a message naming `chmod 600`; `keys rotate|revoke|list`
//! load with [`SecretsFile::load_existing`], which never creates a new ring.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, Random};

#[derive(Clone, Serialize, Deserialize)]
pub struct StoredJwtKey {
    pub kid: String,
    /// PKCS#8 PEM of an Ed25519 private key.
    pub private_pem: String,
    pub created_at: i64,
    /// A revoked key signs nothing and verifies nothing.
    #[serde(default)]
    pub revoked: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct SecretsFile {
    pub jwt_keys: Vec<StoredJwtKey>,
    /// Base64 of 32 random bytes.
    pub contact_pepper: String,
    /// Base64 of 32 random bytes: the key of the audit chain's HMAC. Kept across JWT
    /// rotations; added (and the file saved) when an older file without it is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key: Option<String>,
    /// PKCS#8 PEM of the Ed25519 key that signs audit checkpoints (a key of its own, so
    /// rotating or revoking JWT keys never orphans the checkpoints an operator keeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_key: Option<String>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile").field("jwt_keys", &self.jwt_keys.len()).finish_non_exhaustive()
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn random_b64(random: &dyn Random) -> String {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    b64().encode(bytes)
}

fn new_ed25519_pem(random: &dyn Random) -> anyhow::Result<String> {
    let mut seed = [0u8; 32];
    random.fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    Ok(key.to_pkcs8_pem(Default::default()).map_err(|e| anyhow::anyhow!("cannot encode key: {e}"))?.to_string())
}

fn tmp_path(path: &Path) -> PathBuf {
    path.with_extension("tmp")
}

impl SecretsFile {
    pub fn generate(clock: &dyn Clock, random: &dyn Random) -> anyhow::Result<SecretsFile> {
        Ok(SecretsFile {
            jwt_keys: vec![new_jwt_key(clock, random)?],
            contact_pepper: random_b64(random),
            audit_key: Some(random_b64(random)),
            checkpoint_key: Some(new_ed25519_pem(random)?),
        })
    }

    /// Reads the file, or creates it (mode 0600) when it does not exist. For `serve`,
    /// `worker` and the other commands that may start a deployment.
    pub fn load_or_create(path: &Path, clock: &dyn Clock, random: &dyn Random) -> anyhow::Result<SecretsFile> {
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secrets = SecretsFile::generate(clock, random)?;
                secrets.save(path)?;
                tracing::info!(path = %path.display(), "generated a new key file (keep it safe: it signs sessions, keys contact HMACs and the audit chain)");
                Ok(secrets)
            }
            _ => SecretsFile::load_existing(path, random),
        }
    }

    /// Reads an existing key file; a missing file is an error, never a new ring (for
    /// `keys rotate|revoke|list` and `audit verify`). Refuses a file readable by group or
    /// others. A file written before the audit keys existed gets them added and is saved.
    pub fn load_existing(path: &Path, random: &dyn Random) -> anyhow::Result<SecretsFile> {
        let mut secrets = SecretsFile::read(path)?;
        if secrets.audit_key.is_none() || secrets.checkpoint_key.is_none() {
            secrets = SecretsFile::add_audit_keys(path, random)?;
        }
        Ok(secrets)
    }

    fn read(path: &Path) -> anyhow::Result<SecretsFile> {
        let bytes = std::fs::read(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!(
                    "key file {} does not exist (check --config / TRUVIEW_KEY_FILE; it is created by `truview serve` on first run)",
                    path.display()
                )
            } else {
                anyhow::anyhow!("cannot read key file {}: {e}", path.display())
            }
        })?;
        check_mode(path)?;
        serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("key file {} is not valid: {e}", path.display()))
    }

    /// Adds the audit HMAC key and the checkpoint key to an older file, under the tmp
    /// file's exclusive creation so two nodes starting at once agree on one key.
    fn add_audit_keys(path: &Path, random: &dyn Random) -> anyhow::Result<SecretsFile> {
        let mut attempts = 0;
        let mut file = loop {
            match open_tmp(path) {
                Ok(file) => break file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 50 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(tmp_error(path, e)),
            }
        };
        let result = (|| {
            // Re-read under the lock: another process may have added the keys meanwhile.
            let mut secrets = SecretsFile::read(path)?;
            if secrets.audit_key.is_some() && secrets.checkpoint_key.is_some() {
                return Ok((secrets, false));
            }
            if secrets.audit_key.is_none() {
                secrets.audit_key = Some(random_b64(random));
            }
            if secrets.checkpoint_key.is_none() {
                secrets.checkpoint_key = Some(new_ed25519_pem(random)?);
            }
            file.write_all(&serde_json::to_vec_pretty(&secrets)?)?;
            file.sync_all()?;
            std::fs::rename(tmp_path(path), path)?;
            Ok((secrets, true))
        })();
        match result {
            Ok((secrets, written)) => {
                if written {
                    tracing::info!(path = %path.display(), "added the audit HMAC key and the checkpoint signing key to the key file");
                } else {
                    let _ = std::fs::remove_file(tmp_path(path));
                }
                Ok(secrets)
            }
            Err(e) => {
                let _ = std::fs::remove_file(tmp_path(path));
                Err(e)
            }
        }
    }

    /// Writes the file through `<name>.tmp` (created exclusively, never through a symlink,
    /// mode 0600 set explicitly) and renames it into place.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut file = open_tmp(path).map_err(|e| tmp_error(path, e))?;
        let written = (|| -> anyhow::Result<()> {
            file.write_all(&serde_json::to_vec_pretty(self)?)?;
            file.sync_all()?;
            std::fs::rename(tmp_path(path), path)?;
            Ok(())
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(tmp_path(path));
        }
        written
    }

    /// Adds a new signing key; older keys keep verifying until revoked.
    pub fn rotate(&mut self, clock: &dyn Clock, random: &dyn Random) -> anyhow::Result<String> {
        let key = new_jwt_key(clock, random)?;
        let kid = key.kid.clone();
        self.jwt_keys.push(key);
        Ok(kid)
    }

    pub fn revoke(&mut self, kid: &str) -> anyhow::Result<()> {
        let live = self.jwt_keys.iter().filter(|k| !k.revoked && k.kid != kid).count();
        let key =
            self.jwt_keys.iter_mut().find(|k| k.kid == kid).ok_or_else(|| anyhow::anyhow!("no key with kid {kid}"))?;
        if live == 0 {
            anyhow::bail!("{kid} is the only live key: rotate first");
        }
        key.revoked = true;
        Ok(())
    }

    pub fn pepper(&self) -> anyhow::Result<Vec<u8>> {
        let bytes = b64()
            .decode(&self.contact_pepper)
            .map_err(|_| anyhow::anyhow!("contact_pepper in the key file is not base64"))?;
        if bytes.len() < 16 {
            anyhow::bail!("contact_pepper must be at least 16 bytes");
        }
        Ok(bytes)
    }

    /// The audit chain's HMAC key.
    pub fn audit_key(&self) -> anyhow::Result<Vec<u8>> {
        let encoded = self.audit_key.as_deref().ok_or_else(|| anyhow::anyhow!("the key file has no audit_key"))?;
        let bytes = b64().decode(encoded).map_err(|_| anyhow::anyhow!("audit_key in the key file is not base64"))?;
        if bytes.len() < 32 {
            anyhow::bail!("audit_key must be at least 32 bytes");
        }
        Ok(bytes)
    }

    /// The Ed25519 key that signs audit checkpoints.
    pub fn checkpoint_signing_key(&self) -> anyhow::Result<SigningKey> {
        let pem =
            self.checkpoint_key.as_deref().ok_or_else(|| anyhow::anyhow!("the key file has no checkpoint_key"))?;
        SigningKey::from_pkcs8_pem(pem).map_err(|e| anyhow::anyhow!("checkpoint_key is not a PKCS#8 Ed25519 key: {e}"))
    }
}

/// Opens `<name>.tmp` for writing: created exclusively (`O_CREAT|O_EXCL`, so neither a
/// symlink nor a leftover file at that path is followed or reused), mode 0600 set
/// explicitly (not only at creation, whatever the umask).
fn open_tmp(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(tmp_path(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

fn tmp_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    let tmp = tmp_path(path);
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        anyhow::anyhow!(
            "{} already exists: another truview process is writing the key file, or one crashed while writing it \
             (if no truview process is running, check that it is not a symlink and remove it)",
            tmp.display()
        )
    } else {
        anyhow::anyhow!("cannot write {}: {e}", tmp.display())
    }
}

/// Refuses a key file that group or others may read or write.
fn check_mode(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "key file {} has mode {mode:04o}: group and others must not read it; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn new_jwt_key(clock: &dyn Clock, random: &dyn Random) -> anyhow::Result<StoredJwtKey> {
    let private_pem = new_ed25519_pem(random)?;
    let kid = format!("k{}", &random.token(6));
    Ok(StoredJwtKey { kid, private_pem, created_at: clock.now_ms(), revoked: false })
}

/// The public half as SPKI PEM (for operators who verify tokens elsewhere).
pub fn public_pem(stored: &StoredJwtKey) -> anyhow::Result<String> {
    let key =
        SigningKey::from_pkcs8_pem(&stored.private_pem).map_err(|e| anyhow::anyhow!("bad key {}: {e}", stored.kid))?;
    key.verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("cannot encode public key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{SystemClock, SystemRandom};

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn l2_saved_key_file_is_0600_and_a_leftover_tmp_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truview.keys.json");
        let secrets = SecretsFile::load_or_create(&path, &SystemClock, &SystemRandom).unwrap();
        assert_eq!(mode(&path), 0o600);
        // A world-readable leftover tmp file is refused, never written through and renamed.
        let tmp = tmp_path(&path);
        std::fs::write(&tmp, b"stale").unwrap();
        chmod(&tmp, 0o644);
        let err = secrets.save(&path).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&tmp).unwrap(), b"stale");
        assert_eq!(mode(&path), 0o600);
        std::fs::remove_file(&tmp).unwrap();
        secrets.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!tmp.exists());
    }

    #[test]
    #[cfg(unix)]
    fn l2_symlinked_tmp_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truview.keys.json");
        let secrets = SecretsFile::generate(&SystemClock, &SystemRandom).unwrap();
        let target = dir.path().join("attacker-readable");
        std::fs::write(&target, b"").unwrap();
        std::os::unix::fs::symlink(&target, tmp_path(&path)).unwrap();
        assert!(secrets.save(&path).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"", "no secret written through the symlink");
        assert!(!path.exists());
    }

    #[test]
    #[cfg(unix)]
    fn l2_group_or_world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truview.keys.json");
        SecretsFile::load_or_create(&path, &SystemClock, &SystemRandom).unwrap();
        for loose in [0o640, 0o604, 0o660] {
            chmod(&path, loose);
            let err = SecretsFile::load_existing(&path, &SystemRandom).unwrap_err().to_string();
            assert!(err.contains(&format!("mode {loose:04o}")) && err.contains("chmod 600"), "{err}");
            let err = SecretsFile::load_or_create(&path, &SystemClock, &SystemRandom).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
        chmod(&path, 0o400);
        SecretsFile::load_existing(&path, &SystemRandom).unwrap();
    }

    #[test]
    fn l2_keys_commands_never_create_a_key_ring() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.keys.json");
        for err in [
            crate::cli::keys_list(&path).unwrap_err(),
            crate::cli::keys_rotate(&path).unwrap_err(),
            crate::cli::keys_revoke(&path, "k1").unwrap_err(),
            SecretsFile::load_existing(&path, &SystemRandom).unwrap_err(),
        ] {
            assert!(err.to_string().contains("does not exist"), "{err}");
        }
        assert!(!path.exists(), "no new key ring was created");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn h3_audit_keys_are_added_to_an_older_file_and_kept_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truview.keys.json");
        let mut old = SecretsFile::generate(&SystemClock, &SystemRandom).unwrap();
        old.audit_key = None;
        old.checkpoint_key = None;
        old.save(&path).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("audit_key"));

        let loaded = SecretsFile::load_existing(&path, &SystemRandom).unwrap();
        let audit_key = loaded.audit_key().unwrap();
        assert_eq!(audit_key.len(), 32);
        let on_disk: SecretsFile = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk.audit_key, loaded.audit_key, "the added key was saved");

        crate::cli::keys_rotate(&path).unwrap();
        let rotated = SecretsFile::load_existing(&path, &SystemRandom).unwrap();
        assert_eq!(rotated.jwt_keys.len(), 2);
        assert_eq!(rotated.audit_key().unwrap(), audit_key, "rotation keeps the audit key");
        assert_eq!(
            rotated.checkpoint_signing_key().unwrap().to_bytes(),
            loaded.checkpoint_signing_key().unwrap().to_bytes()
        );
    }
}
