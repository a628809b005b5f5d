//! Staff passwords (OWASP): argon2id m=19456 KiB, t=2, p=1; 12–128 characters; common
//! passwords refused; hashes with older parameters are upgraded at the next login.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;
pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

static COMMON: &str = include_str!("common-passwords.txt");

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the policy; the message says which rule failed.
pub fn check_policy(password: &str, email: &str) -> Result<()> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(Error::validation("password", format!("must be at least {MIN_LEN} characters")));
    }
    if len > MAX_LEN {
        return Err(Error::validation("password", format!("must be at most {MAX_LEN} characters")));
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|common| common == lower) {
        return Err(Error::validation("password", "is on the list of commonly used passwords"));
    }
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 4 {
        return Err(Error::validation("password", "uses too few different characters"));
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(Error::validation("password", "must not contain the e-mail address"));
    }
    Ok(())
}

/// argon2id hash in PHC format.
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

pub struct Verified {
    pub ok: bool,
    /// The stored hash uses other parameters and should be replaced.
    pub needs_rehash: bool,
}

pub fn verify(password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified { ok: false, needs_rehash: false };
    };
    let ok = hasher().verify_password(password.as_bytes(), &parsed).is_ok();
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed)
            .is_ok_and(|p| p.m_cost() == M_COST_KIB && p.t_cost() == T_COST && p.p_cost() == P_COST);
    Verified { ok, needs_rehash: ok && !current }
}

/// A hash of a random password, verified against when the account does not exist so
/// that unknown users and wrong passwords take the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("dummy-password-for-timing-equalisation").unwrap_or_default())
}

/// The bounded hashing pool (M2): every argon2 hash and verification of the process runs
/// here, at most `permits` at a time (default: one per core), so a flood of sign-ups or
/// logins queues instead of filling the blocking pool with 19 MiB hashes and starving
/// database calls. It also counts verifications, which the timing tests compare.
#[derive(Clone)]
pub struct HashPool {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    verifications: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool").field("available", &self.permits.available_permits()).finish()
    }
}

impl HashPool {
    /// `permits` = 0 means one per available core.
    pub fn new(permits: usize) -> HashPool {
        let permits = if permits == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { permits };
        // Computed now, so the first unknown-account login does not pay for it.
        let _ = dummy_hash();
        HashPool {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits)),
            verifications: Default::default(),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|e| Error::internal(format!("hashing pool closed: {e}")))?;
        actix_web::rt::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::internal(format!("hashing task failed: {e}")))
    }

    /// argon2id hash of `password`, on the pool.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || hash(&password)).await?
    }

    /// Verifies `password` against `stored` (a PHC string; `None` = the dummy hash, so
    /// unknown accounts cost the same), on the pool.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verified> {
        self.verifications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.run(move || verify(&password, stored.as_deref().unwrap_or_else(|| dummy_hash()))).await
    }

    /// argon2 verifications started so far.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_rules() {
        assert!(check_policy("short1!", "a@b.co").is_err());
        assert!(check_policy(&"x1".repeat(65), "a@b.co").is_err());
        assert!(check_policy("Password1234", "a@b.co").is_err());
        assert!(check_policy("aaaaaaaaaaaaab", "a@b.co").is_err());
        assert!(check_policy("marie.curie-radium-88", "marie.curie@lab.fr").is_err());
        assert!(check_policy("violet-otter-drums-42", "a@b.co").is_ok());
    }

    #[test]
    fn hash_is_argon2id_with_owasp_params_and_verifies() {
        let h = hash("violet-otter-drums-42").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("violet-otter-drums-42", &h).ok);
        assert!(!verify("violet-otter-drums-43", &h).ok);
        assert!(!verify("violet-otter-drums-42", &h).needs_rehash);
    }

    #[test]
    fn weaker_hash_is_flagged_for_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap());
        let h = weak.hash_password(b"violet-otter-drums-42", &SaltString::generate(&mut OsRng)).unwrap().to_string();
        let v = verify("violet-otter-drums-42", &h);
        assert!(v.ok && v.needs_rehash);
    }
}
