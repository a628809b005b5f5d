//! In-process rate limits (GCRA via `governor`): per client, per API key, and for logins
//! per account and per client. Each node limits its own traffic; behind a load balancer the
//! effective limit is the per-node limit times the number of nodes.
//!
//! A *client* is an IPv4 address, or an IPv6 /64 (one subscriber's usual allocation), in
//! every per-client limiter.
//!
//! Publishable keys (`pk_…`) are public, so no single client may spend a key's budget for
//! everyone: their budget is per (key, client), with a much higher per-vendor ceiling over
//! all clients. Secret keys are held by one party and have one budget per key. Both are
//! keyed by the *resolved* key id (after the lookup), so presented strings never become
//! limiter keys.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::config::Settings;
use crate::error::{Error, Result};

/// A client's bucket: an IPv4 address, or the /64 of an IPv6 address (IPv4-mapped IPv6
/// addresses count as their IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(ip: IpAddr) -> ClientKey {
        ClientKey(crate::domain::client::bucket(ip))
    }
}

/// A limiter over client buckets, checked with the client's address.
pub struct ClientLimiter(DefaultKeyedRateLimiter<ClientKey>);

/// Something `check` can ask: how long `key` must wait, if it must.
pub trait Limit {
    type Key: ?Sized;
    fn wait(&self, key: &Self::Key) -> Option<Duration>;
}

impl<K: Hash + Eq + Clone> Limit for DefaultKeyedRateLimiter<K> {
    type Key = K;
    fn wait(&self, key: &K) -> Option<Duration> {
        // The limiter's own clock: `DefaultClock::default()` would calibrate a new quanta
        // clock (CPUID and a timing loop) for every refused request, which made refusing a
        // flood cost more CPU than serving it.
        self.check_key(key).err().map(|not_until| not_until.wait_time_from(self.clock().now()))
    }
}

impl Limit for ClientLimiter {
    type Key = IpAddr;
    fn wait(&self, ip: &IpAddr) -> Option<Duration> {
        self.0.wait(&ClientKey::of(*ip))
    }
}

/// Maps a limiter verdict to `Error::RateLimited` with the wait until the next cell.
pub fn check<L: Limit>(limiter: &L, key: &L::Key) -> Result<()> {
    match limiter.wait(key) {
        None => Ok(()),
        Some(wait) => Err(Error::RateLimited { retry_after: wait.max(Duration::from_secs(1)) }),
    }
}

/// The budgets of API keys; shared (`Arc`) so a database closure can check them right
/// after the key lookup, before any further work.
pub struct KeyLimits {
    /// Publishable keys: (key id, client). Secret keys: (key id, None).
    per_key: DefaultKeyedRateLimiter<(String, Option<ClientKey>)>,
    /// All clients of one vendor's publishable keys together (a high ceiling).
    per_vendor: DefaultKeyedRateLimiter<String>,
}

impl KeyLimits {
    /// Spends one request of a resolved key's budget. `client` is the caller's address
    /// (`None` for work no client waits for, such as a background cache refresh, which
    /// only counts against the vendor's ceiling).
    pub fn check(&self, key_id: &str, vendor_id: &str, publishable: bool, client: Option<IpAddr>) -> Result<()> {
        if !publishable {
            return check(&self.per_key, &(key_id.to_owned(), None));
        }
        if let Some(client) = client {
            check(&self.per_key, &(key_id.to_owned(), Some(ClientKey::of(client))))?;
        }
        check(&self.per_vendor, &vendor_id.to_owned())
    }

    fn trim(&self) -> usize {
        self.per_key.retain_recent();
        self.per_vendor.retain_recent();
        self.per_key.shrink_to_fit();
        self.per_vendor.shrink_to_fit();
        self.per_key.len() + self.per_vendor.len()
    }
}

pub struct Limiters {
    pub per_ip: ClientLimiter,
    pub login_ip: ClientLimiter,
    pub keys: Arc<KeyLimits>,
    trusted_proxies: Vec<IpNet>,
    trim_passes: AtomicU64,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

fn per_quarter_hour(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_secs(15 * 60) / n.get()).unwrap_or_else(|| Quota::per_minute(n)).allow_burst(n)
}

/// The most bytes of an unparsable `X-Forwarded-For` hop that identify its client.
const OPAQUE_HOP_MAX: usize = 64;

impl Limiters {
    pub fn new(settings: &Settings) -> anyhow::Result<Limiters> {
        Ok(Limiters {
            per_ip: ClientLimiter(RateLimiter::keyed(per_minute(settings.rate_limit_per_ip))),
            login_ip: ClientLimiter(RateLimiter::keyed(per_quarter_hour(settings.login_attempts_per_ip))),
            keys: Arc::new(KeyLimits {
                per_key: RateLimiter::keyed(per_minute(settings.rate_limit_per_key)),
                per_vendor: RateLimiter::keyed(per_minute(settings.rate_limit_per_vendor_public)),
            }),
            trusted_proxies: settings.trusted_proxy_nets()?,
            trim_passes: AtomicU64::new(0),
        })
    }

    /// The client address: the peer, or — only when the peer is a trusted proxy — the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. `forwarded_for`
    /// yields the header's lines in order; they are read as one comma-separated list (a
    /// proxy that adds its own line instead of extending the client's must not leave the
    /// client's line in charge).
    ///
    /// Hops are read as `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`. Only hops written by a
    /// trusted proxy are ever read (the walk stops at the first untrusted address), so a hop
    /// that is none of these (`unknown`, garbage) was still written for one client: that
    /// client gets an address of its own, derived from the hop's text, in the unique-local
    /// range `fd00::/8` — never the proxy's address, which would put every such client in
    /// one bucket.
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let peer = peer?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for line in forwarded_for.rev() {
            for hop in line.rsplit(',').map(str::trim).filter(|h| !h.is_empty()) {
                client = parse_hop(hop).unwrap_or_else(|| opaque_client(hop));
                if !self.is_trusted(client) {
                    return Some(client);
                }
            }
        }
        // Every hop was a trusted proxy (or there were none): the left-most one is it.
        Some(client)
    }

    /// Whether any proxy is trusted (otherwise `X-Forwarded-For` is never read).
    pub fn trusts_some_proxy(&self) -> bool {
        !self.trusted_proxies.is_empty()
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// Forgets the buckets that have refilled (they are indistinguishable from new ones),
    /// so memory stays bounded; returns how many keys remain.
    pub fn trim(&self) -> usize {
        self.per_ip.0.retain_recent();
        self.login_ip.0.retain_recent();
        self.per_ip.0.shrink_to_fit();
        self.login_ip.0.shrink_to_fit();
        self.trim_passes.fetch_add(1, Ordering::Relaxed);
        self.per_ip.0.len() + self.login_ip.0.len() + self.keys.trim()
    }

    /// Keys currently held by all limiters.
    pub fn tracked(&self) -> usize {
        self.per_ip.0.len() + self.login_ip.0.len() + self.keys.per_key.len() + self.keys.per_vendor.len()
    }

    /// How many times `trim` has run in this process.
    pub fn trim_passes(&self) -> u64 {
        self.trim_passes.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    /// The client of the request being served (set once by the HTTP edge).
    static CLIENT: Option<IpAddr>;
}

/// Runs `f` (one request's handling) with `client` as its client, for `current_client`.
pub async fn serving<F: std::future::Future>(client: Option<IpAddr>, f: F) -> F::Output {
    CLIENT.scope(client, f).await
}

/// The client of the request being served, if this runs inside one (not in background
/// tasks, the worker or the CLI).
pub fn current_client() -> Option<IpAddr> {
    CLIENT.try_with(|c| *c).ok().flatten()
}

/// `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (v6, tail) = rest.split_once(']')?;
        let port_ok = tail.is_empty() || tail.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok());
        return if port_ok { v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6) } else { None };
    }
    hop.parse::<std::net::SocketAddrV4>().ok().map(|a| IpAddr::V4(*a.ip()))
}

/// A stable address in `fd00::/8` for a hop that names no address; distinct texts get
/// distinct /64s (the bucket granularity), up to hash collisions.
fn opaque_client(hop: &str) -> IpAddr {
    let text = &hop.as_bytes()[..hop.len().min(OPAQUE_HOP_MAX)];
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    let bits = hasher.finish() >> 8; // 56 bits below the fd prefix, all in the /64 part
    IpAddr::V6(Ipv6Addr::from((0xfdu128 << 120) | (u128::from(bits) << 64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiters(trusted: &str) -> Limiters {
        Limiters::new(&Settings { trusted_proxies: trusted.into(), ..Settings::default() }).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_keyed_by_64_and_mapped_ipv4_by_address() {
        assert_eq!(ClientKey::of(ip("2001:db8:1:2:aaaa::1")), ClientKey::of(ip("2001:db8:1:2:ffff:1:2:3")));
        assert_ne!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(ClientKey::of(ip("::ffff:192.0.2.1")), ClientKey::of(ip("192.0.2.1")));
        assert_ne!(ClientKey::of(ip("192.0.2.1")), ClientKey::of(ip("192.0.2.2")));
    }

    #[test]
    fn forwarded_lines_are_joined_and_walked_from_the_right() {
        let l = limiters("10.0.0.0/8");
        let proxy = Some(ip("10.0.0.1"));
        // The client's own line comes first; the proxy's appended line decides.
        assert_eq!(l.client_ip(proxy, ["6.6.6.6", "192.0.2.7"].into_iter()), Some(ip("192.0.2.7")));
        assert_eq!(l.client_ip(proxy, ["6.6.6.6, 192.0.2.7", "10.0.0.2"].into_iter()), Some(ip("192.0.2.7")));
        assert_eq!(l.client_ip(proxy, std::iter::empty()), proxy);
        assert_eq!(l.client_ip(proxy, ["10.0.0.3"].into_iter()), Some(ip("10.0.0.3")));
        // An untrusted peer's header is ignored.
        assert_eq!(l.client_ip(Some(ip("192.0.2.1")), ["6.6.6.6"].into_iter()), Some(ip("192.0.2.1")));
    }

    #[test]
    fn hops_with_ports_parse_and_garbage_gets_its_own_bucket() {
        let l = limiters("10.0.0.0/8");
        let proxy = Some(ip("10.0.0.1"));
        assert_eq!(l.client_ip(proxy, ["192.0.2.7:4711"].into_iter()), Some(ip("192.0.2.7")));
        assert_eq!(l.client_ip(proxy, ["[2001:db8::7]:4711"].into_iter()), Some(ip("2001:db8::7")));
        assert_eq!(l.client_ip(proxy, ["[2001:db8::7]"].into_iter()), Some(ip("2001:db8::7")));
        let a = l.client_ip(proxy, ["unknown"].into_iter()).unwrap();
        let b = l.client_ip(proxy, ["garbage"].into_iter()).unwrap();
        assert_ne!(Some(a), proxy, "not the proxy's bucket");
        assert_ne!(ClientKey::of(a), ClientKey::of(b));
        assert_eq!(Some(a), l.client_ip(proxy, ["unknown"].into_iter()), "stable");
    }

    #[test]
    fn a_refusal_says_when_the_next_request_may_come() {
        // 4 a minute: a burst of 4, then one more every 15 s.
        let l = Limiters::new(&Settings { rate_limit_per_ip: 4, ..Settings::default() }).unwrap();
        let client = ip("192.0.2.9");
        for _ in 0..4 {
            check(&l.per_ip, &client).unwrap();
        }
        match check(&l.per_ip, &client) {
            Err(Error::RateLimited { retry_after }) => {
                assert!((Duration::from_secs(14)..=Duration::from_secs(15)).contains(&retry_after), "{retry_after:?}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        check(&l.per_ip, &ip("192.0.2.10")).expect("another client is not limited");
    }

    #[test]
    fn a_flood_on_one_client_leaves_the_key_to_others() {
        let l =
            Limiters::new(&Settings { rate_limit_per_key: 3, rate_limit_per_vendor_public: 5, ..Settings::default() })
                .unwrap();
        let (a, b) = (Some(ip("192.0.2.1")), Some(ip("192.0.2.2")));
        for _ in 0..3 {
            l.keys.check("k", "v", true, a).unwrap();
        }
        assert!(l.keys.check("k", "v", true, a).is_err(), "a's own budget is spent");
        l.keys.check("k", "v", true, b).unwrap();
        l.keys.check("k", "v", true, b).unwrap();
        assert!(l.keys.check("k", "v", true, Some(ip("192.0.2.3"))).is_err(), "the vendor ceiling holds");
        assert!(l.keys.check("k2", "v", true, Some(ip("192.0.2.3"))).is_err(), "over all the vendor's keys");
        for _ in 0..3 {
            l.keys.check("sk", "v", false, None).unwrap();
        }
        assert!(l.keys.check("sk", "v", false, None).is_err(), "a secret key has one budget");
    }
}
