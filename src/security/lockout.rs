//! Account-level guards on the injected clock: the login lockout, which reserves a slot
//! *before* the password is verified (M5), and the per-IP daily sign-up cap (M2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};

#[derive(Default)]
struct Slots {
    /// Failures inside the window (their times).
    failures: Vec<i64>,
    /// Verifications started and not yet settled.
    in_flight: usize,
}

/// Counts password attempts per account over a sliding window. An attempt takes a slot
/// atomically before its argon2 verification starts, so N concurrent wrong guesses cannot
/// pass a check that only failures recorded *after* verification would update: at most
/// `max_failures` verifications are ever in flight or failed within the window. Only
/// failures stay counted, so a locked account is locked for everyone alike — whether or
/// not it exists — and the answer reveals nothing.
pub struct LoginThrottle {
    window_ms: i64,
    max_failures: usize,
    slots: Arc<Mutex<HashMap<String, Slots>>>,
}

/// A reserved attempt. Settle it with [`Attempt::succeeded`] or [`Attempt::failed`];
/// dropping it unsettled (a cancelled request) releases the slot without a failure.
pub struct Attempt {
    key: String,
    slots: Arc<Mutex<HashMap<String, Slots>>>,
    settled: bool,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> LoginThrottle {
        LoginThrottle {
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            max_failures: max_failures.max(1) as usize,
            slots: Default::default(),
        }
    }

    /// Reserves a verification slot for `key`, or `Err(RateLimited)` when recent failures
    /// plus attempts in flight already reach the limit.
    pub fn begin(&self, key: &str, now_ms: i64) -> Result<Attempt> {
        let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            let window = self.window_ms;
            map.retain(|_, s| s.in_flight > 0 || s.failures.iter().any(|t| now_ms - t < window));
        }
        let slots = map.entry(key.to_owned()).or_default();
        slots.failures.retain(|t| now_ms - t < self.window_ms);
        if slots.failures.len() + slots.in_flight >= self.max_failures {
            let oldest = slots.failures.iter().min().copied().unwrap_or(now_ms);
            let wait_ms = (oldest + self.window_ms - now_ms).max(1000);
            return Err(Error::RateLimited { retry_after: Duration::from_millis(wait_ms.unsigned_abs()) });
        }
        slots.in_flight += 1;
        Ok(Attempt { key: key.to_owned(), slots: self.slots.clone(), settled: false })
    }

    /// Forgets accounts with nothing in flight and no failure inside the window.
    pub fn trim(&self, now_ms: i64) {
        let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.in_flight > 0 || s.failures.iter().any(|t| now_ms - t < self.window_ms));
    }
}

impl Attempt {
    fn settle(&mut self, failed_at: Option<i64>) {
        if self.settled {
            return;
        }
        self.settled = true;
        let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slots) = map.get_mut(&self.key) {
            slots.in_flight = slots.in_flight.saturating_sub(1);
            if let Some(at) = failed_at {
                slots.failures.push(at);
            }
        }
    }

    /// The password was right. Earlier failures are not forgotten — they age out of the
    /// window — because e-mails are unique per vendor only: a success on one account with
    /// this e-mail (say, one an attacker signed up) must not reset the count that guards
    /// another account with the same e-mail.
    pub fn succeeded(mut self) {
        self.settle(None);
    }

    /// The password was wrong (or the account unknown or inactive): one failure at `now_ms`.
    pub fn failed(mut self, now_ms: i64) {
        self.settle(Some(now_ms));
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.settle(None);
    }
}

/// At most `max` events per key in any 24-hour window, on the injected clock.
pub struct DailyCap {
    max: usize,
    events: Mutex<HashMap<String, Vec<i64>>>,
}

const DAY_MS: i64 = 86_400_000;

impl DailyCap {
    pub fn new(max: u32) -> DailyCap {
        DailyCap { max: max.max(1) as usize, events: Default::default() }
    }

    /// Counts one event for `key`, or `Err(RateLimited)` when the day's quota is used.
    pub fn take(&self, key: &str, now_ms: i64) -> Result<()> {
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, times| times.iter().any(|t| now_ms - t < DAY_MS));
        }
        let times = map.entry(key.to_owned()).or_default();
        times.retain(|t| now_ms - t < DAY_MS);
        if times.len() >= self.max {
            let oldest = times.iter().min().copied().unwrap_or(now_ms);
            let wait_ms = (oldest + DAY_MS - now_ms).max(1000);
            return Err(Error::RateLimited { retry_after: Duration::from_millis(wait_ms.unsigned_abs()) });
        }
        times.push(now_ms);
        Ok(())
    }

    pub fn trim(&self, now_ms: i64) {
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, times| times.iter().any(|t| now_ms - t < DAY_MS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m5_slots_are_reserved_before_verification() {
        let t = LoginThrottle::new(5, Duration::from_secs(900));
        let held: Vec<Attempt> = (0..5).map(|_| t.begin("a", 0).unwrap()).collect();
        assert!(t.begin("a", 0).is_err(), "a sixth attempt while five are in flight is refused");
        assert!(t.begin("b", 0).is_ok(), "other accounts are unaffected");
        for a in held {
            a.failed(0);
        }
        assert!(t.begin("a", 899_999).is_err());
        let ok = t.begin("a", 900_000).unwrap();
        ok.succeeded();
        // A dropped (cancelled) attempt frees its slot without counting as a failure.
        let t = LoginThrottle::new(1, Duration::from_secs(900));
        drop(t.begin("c", 0).unwrap());
        assert!(t.begin("c", 0).is_ok());
    }

    #[test]
    fn daily_cap_slides() {
        let cap = DailyCap::new(2);
        cap.take("ip", 0).unwrap();
        cap.take("ip", 1).unwrap();
        assert!(cap.take("ip", 2).is_err());
        assert!(cap.take("other", 2).is_ok());
        assert!(cap.take("ip", DAY_MS).is_ok());
    }
}
