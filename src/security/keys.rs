//! The secrets file: JWT signing keys (a ring, so keys rotate without logging anyone out)
//! and the pepper for contact HMACs. Created on first run with mode 0600; never stored in
//! the database and never logged. Every node of a deployment reads the same file.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
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
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile").field("jwt_keys", &self.jwt_keys.len()).finish_non_exhaustive()
    }
}

impl SecretsFile {
    pub fn generate(clock: &dyn Clock, random: &dyn Random) -> anyhow::Result<SecretsFile> {
        let mut pepper = [0u8; 32];
        random.fill(&mut pepper);
        Ok(SecretsFile {
            jwt_keys: vec![new_jwt_key(clock, random)?],
            contact_pepper: base64::engine::general_purpose::STANDARD.encode(pepper),
        })
    }

    /// Reads the file, or creates it (mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path, clock: &dyn Clock, random: &dyn Random) -> anyhow::Result<SecretsFile> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("key file {} is not valid: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secrets = SecretsFile::generate(clock, random)?;
                secrets.save(path)?;
                tracing::info!(path = %path.display(), "generated a new key file (keep it safe: it signs sessions and keys contact HMACs)");
                Ok(secrets)
            }
            Err(e) => Err(anyhow::anyhow!("cannot read key file {}: {e}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(self)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
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
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.contact_pepper)
            .map_err(|_| anyhow::anyhow!("contact_pepper in the key file is not base64"))?;
        if bytes.len() < 16 {
            anyhow::bail!("contact_pepper must be at least 16 bytes");
        }
        Ok(bytes)
    }
}

fn new_jwt_key(clock: &dyn Clock, random: &dyn Random) -> anyhow::Result<StoredJwtKey> {
    let mut seed = [0u8; 32];
    random.fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let pem = key.to_pkcs8_pem(Default::default()).map_err(|e| anyhow::anyhow!("cannot encode key: {e}"))?;
    let kid = format!("k{}", &random.token(6));
    Ok(StoredJwtKey { kid, private_pem: pem.to_string(), created_at: clock.now_ms(), revoked: false })
}

/// The public half as SPKI PEM (for operators who verify tokens elsewhere).
pub fn public_pem(stored: &StoredJwtKey) -> anyhow::Result<String> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let key =
        SigningKey::from_pkcs8_pem(&stored.private_pem).map_err(|e| anyhow::anyhow!("bad key {}: {e}", stored.kid))?;
    key.verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("cannot encode public key: {e}"))
}
