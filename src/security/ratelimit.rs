//! In-process rate limits (GCRA via `governor`): per client IP, per API key, and for
//! logins per account and per IP. Each node limits its own traffic; behind a load balancer
//! the effective limit is the per-node limit times the number of nodes.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::config::Settings;
use crate::error::{Error, Result};

pub struct Limiters {
    pub per_ip: DefaultKeyedRateLimiter<IpAddr>,
    pub per_key: DefaultKeyedRateLimiter<String>,
    pub login_ip: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxies: Vec<IpNet>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

fn per_quarter_hour(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_secs(15 * 60) / n.get()).unwrap_or_else(|| Quota::per_minute(n)).allow_burst(n)
}

impl Limiters {
    pub fn new(settings: &Settings) -> anyhow::Result<Limiters> {
        Ok(Limiters {
            per_ip: RateLimiter::keyed(per_minute(settings.rate_limit_per_ip)),
            per_key: RateLimiter::keyed(per_minute(settings.rate_limit_per_key)),
            login_ip: RateLimiter::keyed(per_quarter_hour(settings.login_attempts_per_ip)),
            trusted_proxies: settings.trusted_proxy_nets()?,
        })
    }

    /// The client address: the peer, or — only when the peer is a trusted proxy — the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let Some(header) = forwarded_for else { return Some(peer) };
        let mut client = peer;
        for hop in header.rsplit(',').map(str::trim) {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.is_trusted(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        Some(client)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// Forgets stale keys so memory stays bounded.
    pub fn shrink(&self) {
        self.per_ip.retain_recent();
        self.per_key.retain_recent();
        self.login_ip.retain_recent();
    }
}

/// Maps a limiter verdict to `Error::RateLimited` with the wait until the next cell.
pub fn check<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<()> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        Error::RateLimited { retry_after: wait.max(Duration::from_secs(1)) }
    })
}

/// Counts failed logins per account over a sliding window, on the injected clock.
/// Only failures count, so a locked account is locked for everyone alike — whether or
/// not it exists — and the answer reveals nothing.
pub struct FailureThrottle {
    window_ms: i64,
    max_failures: usize,
    failures: std::sync::Mutex<std::collections::HashMap<String, Vec<i64>>>,
}

impl FailureThrottle {
    pub fn new(max_failures: u32, window: Duration) -> FailureThrottle {
        FailureThrottle {
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            max_failures: max_failures.max(1) as usize,
            failures: Default::default(),
        }
    }

    /// `Err(RateLimited)` while the account has too many recent failures.
    pub fn check(&self, key: &str, now_ms: i64) -> Result<()> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = map.get_mut(key) else { return Ok(()) };
        times.retain(|t| now_ms - t < self.window_ms);
        if times.len() >= self.max_failures {
            let oldest = times.iter().min().copied().unwrap_or(now_ms);
            let wait_ms = (oldest + self.window_ms - now_ms).max(1000);
            return Err(Error::RateLimited { retry_after: Duration::from_millis(wait_ms.unsigned_abs()) });
        }
        Ok(())
    }

    pub fn record_failure(&self, key: &str, now_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, times| times.iter().any(|t| now_ms - t < self.window_ms));
        }
        map.entry(key.to_owned()).or_default().push(now_ms);
    }

    /// Forgets accounts whose failures are all older than the window.
    pub fn trim(&self, now_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, times| times.iter().any(|t| now_ms - t < self.window_ms));
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}
