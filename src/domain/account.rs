//! Vendor accounts: staff roles and website origins.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including staff, keys, settings and privacy requests.
    Owner,
    /// Moderates and replies.
    Moderator,
    /// Reads only.
    Analyst,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Moderator => "moderator",
            Role::Analyst => "analyst",
        }
    }

    pub fn parse(raw: &str) -> Result<Role> {
        match raw {
            "owner" => Ok(Role::Owner),
            "moderator" => Ok(Role::Moderator),
            "analyst" => Ok(Role::Analyst),
            _ => Err(Error::validation("role", "must be owner, moderator or analyst")),
        }
    }

    pub fn can_moderate(self) -> bool {
        matches!(self, Role::Owner | Role::Moderator)
    }
}

/// A member's standing: what the last-owner rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub active: bool,
}

impl Standing {
    pub fn is_active_owner(self) -> bool {
        self.active && self.role == Role::Owner
    }
}

/// The last-owner rule: a change that takes an active owner out of that standing is
/// allowed only while another active owner remains (`active_owners` counts the member).
pub fn owner_change_allowed(current: Standing, next: Standing, active_owners: i64) -> Result<()> {
    if current.is_active_owner() && !next.is_active_owner() && active_owners <= 1 {
        return Err(Error::Conflict("the vendor must keep at least one active owner".into()));
    }
    Ok(())
}

/// What an API key is for: `pk_…` publishable (the widget, public) or `sk_…` secret (the
/// vendor's server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    Publishable,
    Secret,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Publishable => "publishable",
            KeyKind::Secret => "secret",
        }
    }

    pub fn parse(raw: &str) -> Result<KeyKind> {
        match raw {
            "publishable" => Ok(KeyKind::Publishable),
            "secret" => Ok(KeyKind::Secret),
            _ => Err(Error::validation("kind", "must be publishable or secret")),
        }
    }

    /// The token prefix, without the underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Publishable => "pk",
            KeyKind::Secret => "sk",
        }
    }
}

/// A website origin allowed to embed the widget: `scheme://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn parse(raw: &str) -> Result<Origin> {
        let invalid = |why: &str| Error::validation("origins", format!("'{raw}' {why}"));
        let url = url::Url::parse(raw.trim()).map_err(|_| invalid("is not a URL"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid("must use https (or http)"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(invalid("must be an origin only: scheme://host[:port]"));
        }
        let host = url.host_str().ok_or_else(|| invalid("has no host"))?;
        // What a browser sends as `Origin`: an ASCII DNS name (IDNs in their xn-- form) or
        // an IPv4 address. The URL parser alone would also take `*`, empty labels or a
        // Unicode host, none of which can match a browser's Origin header.
        let dns_name = |h: &str| {
            let labels: Vec<&str> = h.split('.').collect();
            labels.iter().all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
                && labels.last().is_some_and(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        };
        let ipv4 = matches!(url.host(), Some(url::Host::Ipv4(_)));
        if !raw.trim().is_ascii() || !(ipv4 || dns_name(host)) {
            return Err(invalid("must name a host by its DNS name or IPv4 address"));
        }
        Ok(Origin(match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host without a leading `www.`, used to spot insiders by e-mail domain.
    pub fn site_domain(&self) -> &str {
        let host = self.0.split("://").nth(1).unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default();
        host.strip_prefix("www.").unwrap_or(host)
    }
}

/// Parses a list of origins (at most 20, no duplicates after normalisation).
pub fn parse_origins(raw: &[String]) -> Result<Vec<String>> {
    if raw.len() > 20 {
        return Err(Error::validation("origins", "may list at most 20 origins"));
    }
    let mut out: Vec<String> = Vec::new();
    for r in raw {
        let o = Origin::parse(r)?.0;
        if !out.contains(&o) {
            out.push(o);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_strict() {
        assert_eq!(Origin::parse("https://Shop.Example").unwrap().as_str(), "https://shop.example");
        assert_eq!(Origin::parse("http://localhost:8080/").unwrap().as_str(), "http://localhost:8080");
        assert_eq!(Origin::parse("https://www.shop.example").unwrap().site_domain(), "shop.example");
        assert_eq!(Origin::parse("http://127.0.0.1:8080").unwrap().as_str(), "http://127.0.0.1:8080");
        for bad in [
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/path",
            "https://shop.example/?q=1",
            "javascript:alert(1)",
            "http://t.a*",
            "https://shop..example",
            "https://shop.example.",
            "https://tést.example",
            "http://[::1]:8080",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles() {
        assert_eq!(Role::parse("moderator").unwrap(), Role::Moderator);
        assert!(Role::parse("admin").is_err());
        assert!(Role::Owner.can_moderate() && Role::Moderator.can_moderate() && !Role::Analyst.can_moderate());
    }

    #[test]
    fn key_kinds() {
        assert_eq!(KeyKind::parse("secret").unwrap(), KeyKind::Secret);
        assert_eq!(KeyKind::Publishable.prefix(), "pk");
        assert!(KeyKind::parse("sk").is_err());
    }

    #[test]
    fn m9_last_owner_rule() {
        let owner = Standing { role: Role::Owner, active: true };
        let demoted = Standing { role: Role::Analyst, active: true };
        let gone = Standing { role: Role::Owner, active: false };
        assert!(owner_change_allowed(owner, demoted, 1).is_err());
        assert!(owner_change_allowed(owner, gone, 1).is_err());
        assert!(owner_change_allowed(owner, demoted, 2).is_ok());
        assert!(owner_change_allowed(owner, owner, 1).is_ok());
        assert!(owner_change_allowed(demoted, owner, 0).is_ok());
        assert!(owner_change_allowed(gone, demoted, 1).is_ok());
    }
}

/// Insider (SPEC §2): the author is one of the vendor's staff, or writes from an e-mail
/// on one of the vendor's own site domains (or a subdomain of one).
pub fn is_insider(author_email: Option<&str>, site_domains: &[String], staff_emails: &[String]) -> bool {
    let Some(email) = author_email else { return false };
    if staff_emails.iter().any(|s| s == email) {
        return true;
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    site_domains.iter().any(|site| !site.is_empty() && (domain == site || domain.ends_with(&format!(".{site}"))))
}

#[cfg(test)]
mod insider_tests {
    use super::is_insider;

    #[test]
    fn insiders_are_staff_or_site_domains() {
        let sites = vec!["shop.example".to_owned()];
        let staff = vec!["mod@agency.example".to_owned()];
        assert!(is_insider(Some("ceo@shop.example"), &sites, &staff));
        assert!(is_insider(Some("x@mail.shop.example"), &sites, &staff));
        assert!(is_insider(Some("mod@agency.example"), &sites, &staff));
        assert!(!is_insider(Some("buyer@gmail.example"), &sites, &staff));
        assert!(!is_insider(Some("x@notshop.example"), &sites, &staff));
        assert!(!is_insider(None, &sites, &staff));
    }
}
