//! Who counts as one client for per-IP limits and caps: an IPv4 address, or an IPv6 /64
//! (one subscriber's usual allocation, so rotating addresses inside it gains nothing);
//! an IPv4-mapped IPv6 address counts as its IPv4 address.

use std::net::{IpAddr, Ipv6Addr};

/// The client's bucket as an address (an IPv6 address with its interface bits zeroed).
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// The bucket as text, for keys of counters and caps (`2001:db8:1:2::/64`); one shared
/// bucket when the address is unknown.
pub fn bucket_label(ip: Option<IpAddr>) -> String {
    match ip.map(bucket) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(bucket_label(Some(ip("2001:db8:1:2:aaaa::1"))), "2001:db8:1:2::/64");
        assert_eq!(bucket(ip("2001:db8:1:2:aaaa::1")), bucket(ip("2001:db8:1:2:ffff:1:2:3")));
        assert_eq!(bucket_label(Some(ip("::ffff:192.0.2.1"))), "192.0.2.1");
        assert_eq!(bucket_label(None), "unknown");
    }
}
