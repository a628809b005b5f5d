//! Contacts, parsed once at the edge.

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};

/// A normalised e-mail address (trimmed, lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Email> {
        let email = raw.trim().to_lowercase();
        let invalid = || Error::validation(field, "is not a valid e-mail address");
        // L6: control characters (NUL would also be a 500 on PostgreSQL), whitespace and
        // invisible format characters (bidi overrides, zero-width) are refused.
        let hidden = |c: char| c.is_whitespace() || c.is_control() || crate::domain::text::is_format_char(c);
        if email.is_empty() || email.len() > 254 || email.chars().any(hidden) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(invalid());
        }
        // IDNA: an internationalised domain is kept in its ASCII (punycode) form, so
        // `ann@bücher.example` and `ann@xn--bcher-kva.example` are one contact.
        let domain = match url::Host::parse(domain) {
            Ok(url::Host::Domain(d)) => d,
            _ => return Err(invalid()),
        };
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
            return Err(invalid());
        }
        Ok(Email(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

/// A phone number in E.164 form, checked against libphonenumber's numbering plan
/// (`rlibphonenumber` crate): written forms with `+` or `00` and separators are accepted,
/// numbers outside any assigned range are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    e164: String,
    kind: PhoneKind,
    country: Option<Region>,
}

/// What kind of line a number is, as far as the numbering plan tells.
pub use rlibphonenumber::PhoneNumberType as PhoneKind;
use rlibphonenumber::{PhoneNumberFormat, PhoneNumberUtil, Region};

/// libphonenumber's numbering plan, decoded with its patterns compiled: about 5.6 MiB of
/// heap that most of a node's life has no use for (phones arrive with order imports and
/// phone codes). It is loaded on first use and released by [`release_unused_plan`] once a
/// whole trim interval passed without a phone number (P6: an idle node's memory).
struct Plan(Mutex<PlanState>);

struct PlanState {
    loaded: Option<Arc<PhoneNumberUtil>>,
    used: bool,
}

impl Plan {
    const fn new() -> Plan {
        Plan(Mutex::new(PlanState { loaded: None, used: false }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self) -> Arc<PhoneNumberUtil> {
        let mut state = self.state();
        state.used = true;
        state.loaded.get_or_insert_with(build_plan).clone()
    }

    fn release_unused(&self) -> bool {
        let mut state = self.state();
        let used = std::mem::replace(&mut state.used, false);
        !used && state.loaded.take().is_some()
    }

    fn release(&self) {
        self.state().loaded = None;
    }
}

static PLAN: Plan = Plan::new();

/// Builds the plan on a short-lived thread of its own: mimalloc serves each thread from its
/// own pages, so the plan's many small allocations fill pages of their own instead of
/// sharing them with the asking thread's long-lived data, and releasing the plan frees
/// those pages whole (P6). Built in place if no thread can be started.
fn build_plan() -> Arc<PhoneNumberUtil> {
    let build = || Arc::new(PhoneNumberUtil::new().expect("the built-in numbering plan loads"));
    std::thread::scope(|s| match std::thread::Builder::new().name("phone-plan".into()).spawn_scoped(s, build) {
        Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        Err(_) => build(),
    })
}

fn plan() -> Arc<PhoneNumberUtil> {
    PLAN.get()
}

/// Releases the numbering plan if nothing used it since the previous call (called every
/// limiter-trim interval); true when it was loaded and is now released.
pub fn release_unused_plan() -> bool {
    PLAN.release_unused()
}

/// Releases the numbering plan now (the next phone number loads it again).
pub fn release_plan() {
    PLAN.release();
}

impl Phone {
    /// `+` and 8–15 digits from a written international form (separators dropped).
    fn international_digits(field: &str, raw: &str) -> Result<String> {
        let trimmed = raw.trim();
        let invalid = || Error::validation(field, "is not a phone number in international form (+ country code)");
        // Written forms may carry separators, but not without bound.
        if trimmed.chars().count() > 64 {
            return Err(invalid());
        }
        let rest = trimmed.strip_prefix('+').or_else(|| trimmed.strip_prefix("00")).ok_or_else(invalid)?;
        let mut digits = String::with_capacity(16);
        digits.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(invalid()),
            }
        }
        if !(9..=16).contains(&digits.len()) || digits.starts_with("+0") {
            return Err(invalid());
        }
        Ok(digits)
    }

    /// The form a phone is looked up by (privacy requests, purchase matching): E.164 when
    /// the numbering plan knows the number, else `+` and its digits — which no stored
    /// contact has (imports keep only numbers the plan knows), so it simply finds nothing.
    pub fn lookup_form(field: &str, raw: &str) -> Result<String> {
        match Phone::parse(field, raw) {
            Ok(p) => Ok(p.e164),
            Err(_) => Phone::international_digits(field, raw),
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Phone> {
        let invalid = || Error::validation(field, "is not a phone number in international form (+ country code)");
        let digits = Phone::international_digits(field, raw)?;
        let plan = plan();
        let number = plan.parse(&digits, None).map_err(|_| invalid())?;
        if !plan.is_valid_number(&number) {
            return Err(Error::validation(
                field,
                "is not an assigned phone number (checked against the numbering plan)",
            ));
        }
        let e164 = plan.format(&number, PhoneNumberFormat::E164).into_owned();
        // Non-geographic numbers (+800 …) belong to no country ("001" in the plan).
        let country = plan.get_region_for_number(&number).filter(|r| *r != Region::World);
        Ok(Phone { e164, kind: plan.get_number_type(&number), country })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// Mobile, fixed line, premium rate, …
    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// ISO 3166-1 alpha-2 code of the number's country (`GB`), if the plan names one.
    pub fn country(&self) -> Option<String> {
        self.country.map(|c| c.to_string())
    }
}

/// Is `code` (upper case) a country of the numbering plan: `GB` yes, `XX` and `gb` no?
pub fn is_plan_country(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && Region::from_code(code).is_ok_and(|r| plan().get_supported_regions().any(|known| known == r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("e", "  Ann@Shop.Example ").unwrap().as_str(), "ann@shop.example");
        assert_eq!(Email::parse("e", "ann@shop.example").unwrap().domain(), "shop.example");
        assert_eq!(Email::parse("e", "Ann@Bücher.Example").unwrap().as_str(), "ann@xn--bcher-kva.example");
        for bad in
            ["", "ann", "ann@", "@shop.example", "ann@shop", "a b@shop.example", "ann@-x.example", "ann@shop..example"]
        {
            assert!(Email::parse("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn l6_emails_refuse_control_and_format_characters() {
        for bad in [
            "a\u{0000}@b.example",
            "ann\u{202E}@shop.example",
            "an\u{200B}n@shop.example",
            "ann@shop\u{2066}.example",
            "ann\u{00AD}@shop.example",
            "a\u{0007}@b.example",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(Phone::parse("p", "+44 20 7946-0958").unwrap().as_str(), "+442079460958");
        assert_eq!(Phone::parse("p", "0049 (30) 1234567").unwrap().as_str(), "+49301234567");
        let mobile = Phone::parse("p", "+44 7400 123123").unwrap();
        assert_eq!(
            (mobile.as_str(), mobile.kind(), mobile.country().as_deref()),
            ("+447400123123", PhoneKind::Mobile, Some("GB"))
        );
        assert_eq!(Phone::parse("p", "+44 909 879 0000").unwrap().kind(), PhoneKind::PremiumRate);
        for bad in
            ["", "2079460958", "+12", "+0123456789", "+44 20 7946 0958 ext 1", "+4420794609581234", "+449999999999"]
        {
            assert!(Phone::parse("p", bad).is_err(), "{bad}");
        }
        assert_eq!(Phone::lookup_form("p", "+44 999 999 9999").unwrap(), "+449999999999");
        assert_eq!(Phone::lookup_form("p", "0044 7400 123456").unwrap(), "+447400123456");
        assert!(Phone::lookup_form("p", "07400 123456").is_err());
        // A non-geographic number (international freephone) has no country.
        let freephone = Phone::parse("p", "+800 1234 5678").unwrap();
        assert_eq!((freephone.kind(), freephone.country()), (PhoneKind::TollFree, None));
        let (us, ru) = (Phone::parse("p", "+1 201 555 0123").unwrap(), Phone::parse("p", "+7 916 123-45-67").unwrap());
        assert_eq!((us.kind(), us.country().as_deref()), (PhoneKind::FixedLineOrMobile, Some("US")));
        assert_eq!((ru.as_str(), ru.kind(), ru.country().as_deref()), ("+79161234567", PhoneKind::Mobile, Some("RU")));
    }

    /// On a plan of its own (the node's is shared with every test running at once): kept
    /// through a trim after a use, released by the next trim without one, loaded again.
    #[test]
    fn a_plan_unused_for_a_whole_interval_is_released() {
        let plan = Plan::new();
        assert!(!plan.release_unused(), "nothing loaded, nothing released");
        let first = plan.get();
        assert!(!plan.release_unused(), "used since the last trim: kept");
        assert!(plan.state().loaded.as_ref().is_some_and(|p| Arc::ptr_eq(p, &first)));
        assert!(plan.release_unused(), "unused for a whole interval: released");
        assert!(plan.state().loaded.is_none());
        assert!(!plan.release_unused(), "released once");
        let again = plan.get();
        assert!(!Arc::ptr_eq(&first, &again), "loaded afresh");
        plan.release();
        assert!(plan.state().loaded.is_none());
    }

    #[test]
    fn the_plan_is_kept_while_used_and_loads_again_once_released() {
        Phone::parse("p", "+44 7400 123123").unwrap();
        assert!(!release_unused_plan(), "used since the last trim: kept");
        release_plan();
        assert_eq!(Phone::parse("p", "+1 201 555 0123").unwrap().country().as_deref(), Some("US"));
        assert!(is_plan_country("DE"));
    }

    #[test]
    fn plan_countries() {
        assert!(is_plan_country("GB") && is_plan_country("US") && is_plan_country("RU"));
        for bad in ["XX", "gb", "G", "GBR", "001", ""] {
            assert!(!is_plan_country(bad), "{bad}");
        }
    }
}
