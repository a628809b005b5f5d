//! One-time codes for KYC (phone and work e-mail): pure rules, no I/O. The clock is
//! passed in as Unix ms and randomness as `&dyn Random`, so tests drive both.
//!
//! Rules (issue 16, SECURITY T1–T3): 6 digits, 10-minute TTL, single use, at most 5
//! wrong tries and then the code is dead (a new start is needed), a 60-s resend
//! cooldown and at most 3 sends per destination per 10 minutes.

use crate::clock::Random;
use crate::domain::contact::{Phone, PhoneKind};

pub const CODE_DIGITS: usize = 6;
pub const TTL_MS: i64 = 10 * 60 * 1000;
pub const MAX_TRIES: u32 = 5;
pub const RESEND_COOLDOWN_MS: i64 = 60 * 1000;
pub const SEND_WINDOW_MS: i64 = 10 * 60 * 1000;
pub const MAX_SENDS_PER_WINDOW: usize = 3;

/// A uniform 6-digit code (leading zeros kept) from the injected CSPRNG, by rejection
/// sampling so no code is likelier than another.
pub fn generate_code(random: &dyn Random) -> String {
    const SPACE: u32 = 1_000_000;
    // Largest multiple of SPACE that fits in u32: values at or above it are redrawn.
    const LIMIT: u32 = u32::MAX - (u32::MAX % SPACE);
    loop {
        let mut buf = [0u8; 4];
        random.fill(&mut buf);
        let n = u32::from_le_bytes(buf);
        if n < LIMIT {
            return format!("{:06}", n % SPACE);
        }
    }
}

/// Whether a submitted code has the expected shape (exactly 6 ASCII digits).
pub fn well_formed(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// The state of one flow's current code, as stored (the code itself only as an HMAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub issued_ms: i64,
    pub wrong_tries: u32,
    pub used: bool,
}

impl Challenge {
    pub fn issued(now_ms: i64) -> Challenge {
        Challenge { issued_ms: now_ms, wrong_tries: 0, used: false }
    }
}

/// What a verification attempt does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right code, in time, first use: mark used.
    Accepted,
    /// Wrong code: count it; `left` tries remain (0 = the code is now dead).
    Wrong { left: u32 },
    /// Past the TTL.
    Expired,
    /// Already used once.
    Used,
    /// Too many wrong tries: nothing is compared any more, a new start is needed.
    Dead,
}

/// Judge an attempt. `matches` is the constant-time comparison of the HMACs
/// (`security::hmac::same`); it is ignored once the code is dead, used or expired, so a
/// guess after the fifth wrong one can never succeed.
pub fn judge(c: &Challenge, now_ms: i64, matches: bool) -> Verdict {
    if c.used {
        Verdict::Used
    } else if c.wrong_tries >= MAX_TRIES {
        Verdict::Dead
    } else if now_ms >= c.issued_ms.saturating_add(TTL_MS) || now_ms < c.issued_ms {
        Verdict::Expired
    } else if matches {
        Verdict::Accepted
    } else {
        Verdict::Wrong { left: MAX_TRIES - (c.wrong_tries + 1) }
    }
}

/// Apply a verdict to the stored state.
pub fn apply(c: &Challenge, v: Verdict) -> Challenge {
    let mut next = c.clone();
    match v {
        Verdict::Accepted => next.used = true,
        Verdict::Wrong { .. } => next.wrong_tries += 1,
        Verdict::Expired | Verdict::Used | Verdict::Dead => {}
    }
    next
}

/// Why a send is refused now, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefusal {
    /// Inside the 60-s cooldown after the last send.
    Cooldown { retry_after_ms: i64 },
    /// 3 sends to this destination in the last 10 minutes.
    WindowFull { retry_after_ms: i64 },
}

/// May a code be sent to a destination that received codes at `previous_sends_ms`
/// (any order, any age)? Per-IP and per-vendor daily caps are counted by the caller.
pub fn may_send(previous_sends_ms: &[i64], now_ms: i64) -> Result<(), SendRefusal> {
    if let Some(last) = previous_sends_ms.iter().copied().max() {
        let next = last.saturating_add(RESEND_COOLDOWN_MS);
        if now_ms < next {
            return Err(SendRefusal::Cooldown { retry_after_ms: next - now_ms });
        }
    }
    let mut recent: Vec<i64> =
        previous_sends_ms.iter().copied().filter(|&t| t > now_ms - SEND_WINDOW_MS && t <= now_ms).collect();
    if recent.len() >= MAX_SENDS_PER_WINDOW {
        recent.sort_unstable();
        // The window frees a slot when the oldest counted send leaves it.
        let oldest = recent[recent.len() - MAX_SENDS_PER_WINDOW];
        return Err(SendRefusal::WindowFull { retry_after_ms: oldest + SEND_WINDOW_MS - now_ms });
    }
    Ok(())
}

/// Why a phone number may not receive a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneRefusal {
    /// Not a line an SMS reaches for the price of an SMS (premium rate, shared cost,
    /// UAN, toll free, VoIP, pager, unknown …). Fixed lines are refused too: SMS can't
    /// reach them.
    Kind(PhoneKind),
    /// The vendor's allow-list of countries does not name the number's country.
    Country(Option<String>),
}

/// Only mobile lines (and ranges the plan can't tell from fixed, such as the USA's).
pub fn sms_reachable(kind: PhoneKind) -> bool {
    matches!(kind, PhoneKind::Mobile | PhoneKind::FixedLineOrMobile)
}

/// The phone rules: reachable kind, and the country on the vendor's allow-list
/// (ISO alpha-2, upper case; empty = all countries).
pub fn phone_allowed(phone: &Phone, allowed_countries: &[String]) -> Result<(), PhoneRefusal> {
    if !sms_reachable(phone.kind()) {
        return Err(PhoneRefusal::Kind(phone.kind()));
    }
    if allowed_countries.is_empty() {
        return Ok(());
    }
    match phone.country() {
        Some(c) if allowed_countries.iter().any(|a| a.eq_ignore_ascii_case(&c)) => Ok(()),
        other => Err(PhoneRefusal::Country(other)),
    }
}

const FREE_MAIL: &str = include_str!("free-mail-domains.txt");

/// Is this (normalised, lower-case) e-mail domain a free-mail provider? Such an address
/// never verifies a company. `yahoo.*` entries match the name under any TLD, and
/// subdomains of a listed domain match too.
pub fn is_free_mail(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    FREE_MAIL.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).any(|entry| {
        if let Some(name) = entry.strip_suffix(".*") {
            // name.<tld> or name.<co|com|net|org|ac>.<tld> (yahoo.co.uk), also as a subdomain.
            let labels: Vec<&str> = domain.split('.').collect();
            labels.iter().enumerate().any(|(i, l)| {
                let rest = &labels[i + 1..];
                *l == name
                    && match rest {
                        [_tld] => true,
                        [sld, _tld] => matches!(*sld, "co" | "com" | "net" | "org" | "ac"),
                        _ => false,
                    }
            })
        } else {
            domain == entry || domain.ends_with(&format!(".{entry}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Random that yields a fixed sequence of u32 values.
    struct Seq(Vec<u32>, AtomicU32);
    impl Random for Seq {
        fn fill(&self, buf: &mut [u8]) {
            let i = self.1.fetch_add(1, Ordering::SeqCst) as usize;
            let v = self.0[i % self.0.len()].to_le_bytes();
            for (b, x) in buf.iter_mut().zip(v.iter().cycle()) {
                *b = *x;
            }
        }
    }

    #[test]
    fn codes_are_six_digits_with_leading_zeros_and_unbiased_draws_are_redrawn() {
        assert_eq!(generate_code(&Seq(vec![42], AtomicU32::new(0))), "000042");
        assert_eq!(generate_code(&Seq(vec![1_234_567], AtomicU32::new(0))), "234567");
        // u32::MAX is in the biased tail: redrawn, the next value is used.
        assert_eq!(generate_code(&Seq(vec![u32::MAX, 7], AtomicU32::new(0))), "000007");
        let os = crate::clock::SystemRandom;
        for _ in 0..100 {
            assert!(well_formed(&generate_code(&os)));
        }
        assert!(!well_formed("12345"));
        assert!(!well_formed("1234567"));
        assert!(!well_formed("12345a"));
        assert!(!well_formed("１２３４５６"));
    }

    #[test]
    fn five_wrong_tries_kill_the_code_even_for_the_right_one() {
        let mut c = Challenge::issued(0);
        for left in (0..MAX_TRIES).rev() {
            let v = judge(&c, 1, false);
            assert_eq!(v, Verdict::Wrong { left });
            c = apply(&c, v);
        }
        assert_eq!(judge(&c, 2, true), Verdict::Dead);
        assert_eq!(apply(&c, Verdict::Dead), c);
    }

    #[test]
    fn codes_expire_and_are_single_use() {
        let c = Challenge::issued(1_000);
        assert_eq!(judge(&c, 1_000 + TTL_MS - 1, true), Verdict::Accepted);
        assert_eq!(judge(&c, 1_000 + TTL_MS, true), Verdict::Expired);
        assert_eq!(judge(&c, 999, true), Verdict::Expired);
        let used = apply(&c, Verdict::Accepted);
        assert_eq!(judge(&used, 2_000, true), Verdict::Used);
    }

    #[test]
    fn sends_respect_cooldown_and_window() {
        assert_eq!(may_send(&[], 0), Ok(()));
        assert_eq!(may_send(&[0], 59_999), Err(SendRefusal::Cooldown { retry_after_ms: 1 }));
        assert_eq!(may_send(&[0], 60_000), Ok(()));
        let sends = [0, 60_000, 120_000];
        assert_eq!(may_send(&sends, 180_000), Err(SendRefusal::WindowFull { retry_after_ms: 420_000 }));
        assert_eq!(may_send(&sends, SEND_WINDOW_MS), Ok(()));
    }

    #[test]
    fn only_mobile_numbers_in_allowed_countries_get_codes() {
        let mobile = Phone::parse("phone", "+44 7400 123456").unwrap();
        let fixed = Phone::parse("phone", "+44 20 7946 0000").unwrap();
        let premium = Phone::parse("phone", "+44 909 8790000").unwrap();
        assert_eq!(phone_allowed(&mobile, &[]), Ok(()));
        assert_eq!(phone_allowed(&mobile, &["gb".into()]), Ok(()));
        assert_eq!(phone_allowed(&mobile, &["DE".into()]), Err(PhoneRefusal::Country(Some("GB".into()))));
        assert_eq!(phone_allowed(&fixed, &[]), Err(PhoneRefusal::Kind(PhoneKind::FixedLine)));
        assert_eq!(phone_allowed(&premium, &[]), Err(PhoneRefusal::Kind(PhoneKind::PremiumRate)));
    }

    #[test]
    fn free_mail_domains_are_recognised() {
        for d in ["gmail.com", "yahoo.com", "yahoo.co.uk", "mail.ru", "yandex.ru", "gmx.de", "gmx.net", "outlook.com"] {
            assert!(is_free_mail(d), "{d}");
        }
        for d in [
            "example.com",
            "acme.co.uk",
            "notgmail.com",
            "yahoofinance.example",
            "gmail.com.example.org",
            "yahoo.acme.example",
        ] {
            assert!(!is_free_mail(d), "{d}");
        }
    }

    #[test]
    fn enumerating_codes_never_reaches_the_right_one() {
        // One live code inside the enumerated range; the attacker tries 000000..009999 in
        // order. Only the first 5 guesses are ever compared, so the right code (guess
        // 4321) is refused as dead.
        let code = 4_321;
        let mut c = Challenge::issued(0);
        let (mut guesses, mut successes) = (0, 0);
        for g in 0..10_000 {
            guesses += 1;
            let v = judge(&c, 1, g == code);
            if v == Verdict::Accepted {
                successes += 1;
            }
            c = apply(&c, v);
        }
        println!("domain_otp_bruteforce: {guesses} guesses, {successes} successes");
        assert_eq!((guesses, successes, c.wrong_tries), (10_000, 0, MAX_TRIES));
    }
}
