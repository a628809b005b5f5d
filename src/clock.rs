//! Injected time and randomness, so expiries and schedules are testable without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Milliseconds since the Unix epoch: the unit stored in the database.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { ms: AtomicI64::new(start.timestamp_millis()) }
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.ms.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.ms.store(to.timestamp_millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.ms.load(Ordering::SeqCst)).single().unwrap_or_default()
    }
}

/// A source of secure random bytes (tokens, salts, keys).
pub trait Random: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);

    /// `n` random bytes, URL-safe base64 without padding.
    fn token(&self, n: usize) -> String {
        use base64::Engine;
        let mut buf = vec![0u8; n];
        self.fill(&mut buf);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    }
}

/// A CSPRNG per thread: rand's `ThreadRng` (ChaCha12, seeded from the operating system
/// and reseeded from it every 64 KiB of output). Unlike asking the kernel for every id
/// (a `getrandom` call each; 3 % of a bulk import's time, P3), it runs in user space.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) {
        use rand::RngCore;
        rand::thread_rng().fill_bytes(buf);
    }
}

/// Converts stored milliseconds to an instant.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
