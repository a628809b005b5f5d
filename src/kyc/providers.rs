//! Social-login providers as configured (`[kyc.providers.NAME]`): presets for the big
//! providers, generic OpenID Connect by discovery, generic OAuth 2.0 with a user-info
//! endpoint. Resolved once at start-up; a bad entry stops the service with its name.

use crate::config::ProviderSettings;

/// Where an identity comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// OpenID Connect: endpoints and keys discovered from the issuer; the identity is the
    /// ID token's (`iss`, `sub`).
    Oidc,
    /// OAuth 2.0 only: the identity is the user-info document's subject field.
    OAuth(OAuthEndpoints),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthEndpoints {
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    /// Dotted paths into the user-info JSON (`user.user_id` for VK ID).
    pub subject_field: String,
    pub email_field: Option<String>,
    pub email_trust: EmailTrust,
    pub name_field: Option<String>,
    /// VK ID takes the access token as a form POST, not a bearer header.
    pub userinfo_post: bool,
}

/// When a user-info e-mail counts as verified (it is then compared with the order's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailTrust {
    /// The provider documents that the e-mail it returns is confirmed.
    Confirmed,
    /// Only when this boolean field is true.
    Field(String),
    /// Never: the provider does not say.
    Never,
}

#[derive(Debug, Clone)]
pub struct Provider {
    /// The configuration name: the URL segment and the check's code.
    pub name: String,
    pub label: String,
    /// The identity's issuer: the OIDC issuer URL, or the provider's site for OAuth-only ones.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub protocol: Protocol,
    /// Hosts the service may contact for this provider: the issuer's and the listed ones.
    pub hosts: Vec<String>,
    /// Apple answers by a cross-site POST (`response_mode=form_post`).
    pub form_post: bool,
    /// Client credentials in the token request's body rather than HTTP Basic.
    pub credentials_in_body: bool,
}

struct Preset {
    label: &'static str,
    issuer: &'static str,
    hosts: &'static [&'static str],
    scopes: &'static [&'static str],
    oauth: Option<OAuthPreset>,
    form_post: bool,
}

struct OAuthPreset {
    authorize: &'static str,
    token: &'static str,
    userinfo: &'static str,
    subject: &'static str,
    email: Option<&'static str>,
    name: Option<&'static str>,
    email_trusted: bool,
    userinfo_post: bool,
}

fn preset(name: &str) -> Option<Preset> {
    let oidc = |label, issuer, hosts, scopes| Preset { label, issuer, hosts, scopes, oauth: None, form_post: false };
    Some(match name {
        "google" => oidc(
            "Google",
            "https://accounts.google.com",
            &["accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com", "openidconnect.googleapis.com"],
            &["openid", "email", "profile"],
        ),
        "apple" => Preset {
            form_post: true,
            ..oidc("Apple", "https://appleid.apple.com", &["appleid.apple.com"], &["openid", "email", "name"])
        },
        // Personal Microsoft accounts; organisations set their tenant's issuer instead.
        "microsoft" => oidc(
            "Microsoft",
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            &["login.microsoftonline.com", "graph.microsoft.com"],
            &["openid", "email", "profile"],
        ),
        "linkedin" => oidc(
            "LinkedIn",
            "https://www.linkedin.com/oauth",
            &["www.linkedin.com", "api.linkedin.com"],
            &["openid", "email", "profile"],
        ),
        "facebook" => Preset {
            oauth: Some(OAuthPreset {
                authorize: "https://www.facebook.com/v19.0/dialog/oauth",
                token: "https://graph.facebook.com/v19.0/oauth/access_token",
                userinfo: "https://graph.facebook.com/me?fields=id,name,email",
                subject: "id",
                email: Some("email"),
                name: Some("name"),
                // Facebook returns only a confirmed primary e-mail.
                email_trusted: true,
                userinfo_post: false,
            }),
            ..oidc("Facebook", "https://www.facebook.com", &["www.facebook.com", "graph.facebook.com"], &["email"])
        },
        "vk" => Preset {
            oauth: Some(OAuthPreset {
                authorize: "https://id.vk.com/authorize",
                token: "https://id.vk.com/oauth2/auth",
                userinfo: "https://id.vk.com/oauth2/user_info",
                subject: "user.user_id",
                email: Some("user.email"),
                name: Some("user.first_name"),
                // VK ID does not say the e-mail was confirmed: it never makes a verified buyer.
                email_trusted: false,
                userinfo_post: true,
            }),
            ..oidc("VK ID", "https://id.vk.com", &["id.vk.com"], &["email"])
        },
        "yandex" => Preset {
            oauth: Some(OAuthPreset {
                authorize: "https://oauth.yandex.ru/authorize",
                token: "https://oauth.yandex.ru/token",
                userinfo: "https://login.yandex.ru/info?format=json",
                subject: "id",
                email: Some("default_email"),
                name: Some("real_name"),
                // The account's own address, confirmed by Yandex.
                email_trusted: true,
                userinfo_post: false,
            }),
            ..oidc(
                "Yandex ID",
                "https://oauth.yandex.ru",
                &["oauth.yandex.ru", "login.yandex.ru"],
                &["login:email", "login:info"],
            )
        },
        _ => return None,
    })
}

fn host_of(url: &str, what: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{what} '{url}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("{what} '{url}' must be an https URL"));
    }
    parsed.host_str().map(str::to_owned).ok_or_else(|| format!("{what} '{url}' has no host"))
}

/// A provider's configuration name: 1–32 lowercase letters, digits or '-' (it is a URL
/// segment and a cookie path).
pub fn is_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Provider {
    pub fn from_settings(name: &str, s: &ProviderSettings) -> Result<Provider, String> {
        if !is_name(name) {
            return Err("the name must be 1–32 lowercase letters, digits or '-'".into());
        }
        if s.client_id.trim().is_empty() {
            return Err("client_id is required".into());
        }
        let kind = s.preset.as_deref().unwrap_or("oidc");
        let mut hosts = s.allowed_hosts.clone();
        let given = |field: &Option<String>, what: &str| {
            field
                .clone()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("{what} is required for preset {kind}"))
        };
        let (label, issuer, scopes, protocol, form_post) = match kind {
            "oidc" => {
                let issuer = given(&s.issuer, "issuer")?;
                (
                    name.to_owned(),
                    issuer,
                    vec!["openid".into(), "email".into(), "profile".into()],
                    Protocol::Oidc,
                    false,
                )
            }
            "oauth2" => {
                let endpoints = OAuthEndpoints {
                    authorize_url: given(&s.authorize_url, "authorize_url")?,
                    token_url: given(&s.token_url, "token_url")?,
                    userinfo_url: given(&s.userinfo_url, "userinfo_url")?,
                    subject_field: s.subject_field.clone().unwrap_or_else(|| "sub".into()),
                    email_field: Some(s.email_field.clone().unwrap_or_else(|| "email".into())),
                    email_trust: EmailTrust::Field(
                        s.email_verified_field.clone().unwrap_or_else(|| "email_verified".into()),
                    ),
                    name_field: Some(s.name_field.clone().unwrap_or_else(|| "name".into())),
                    userinfo_post: false,
                };
                (name.to_owned(), given(&s.issuer, "issuer")?, Vec::new(), Protocol::OAuth(endpoints), false)
            }
            other => {
                let p = preset(other).ok_or_else(|| {
                    format!("unknown preset '{other}' (google, apple, microsoft, linkedin, facebook, vk, yandex, oidc or oauth2)")
                })?;
                hosts.extend(p.hosts.iter().map(|h| (*h).to_owned()));
                let protocol = match p.oauth {
                    None => Protocol::Oidc,
                    Some(o) => Protocol::OAuth(OAuthEndpoints {
                        authorize_url: o.authorize.into(),
                        token_url: o.token.into(),
                        userinfo_url: o.userinfo.into(),
                        subject_field: o.subject.into(),
                        email_field: o.email.map(Into::into),
                        email_trust: if o.email_trusted { EmailTrust::Confirmed } else { EmailTrust::Never },
                        name_field: o.name.map(Into::into),
                        userinfo_post: o.userinfo_post,
                    }),
                };
                let issuer = s.issuer.clone().filter(|i| !i.trim().is_empty()).unwrap_or_else(|| p.issuer.into());
                let scopes = p.scopes.iter().map(|s| (*s).to_owned()).collect();
                (p.label.to_owned(), issuer, scopes, protocol, p.form_post)
            }
        };
        hosts.push(host_of(&issuer, "issuer")?);
        if let Protocol::OAuth(e) = &protocol {
            for (url, what) in
                [(&e.authorize_url, "authorize_url"), (&e.token_url, "token_url"), (&e.userinfo_url, "userinfo_url")]
            {
                let host = host_of(url, what)?;
                if what != "authorize_url" && !hosts.contains(&host) {
                    hosts.push(host);
                }
            }
        }
        let mut all_scopes = scopes;
        for extra in &s.scopes {
            if !all_scopes.contains(extra) {
                all_scopes.push(extra.clone());
            }
        }
        let credentials_in_body = matches!(protocol, Protocol::OAuth(_));
        Ok(Provider {
            name: name.to_owned(),
            label: s.display_name.clone().filter(|d| !d.trim().is_empty()).unwrap_or(label),
            issuer,
            client_id: s.client_id.trim().to_owned(),
            client_secret: s.client_secret.clone().filter(|c| !c.is_empty()),
            scopes: all_scopes,
            protocol,
            hosts,
            form_post,
            credentials_in_body,
        })
    }

    /// Whether the service may send a request for this provider to `url`'s host.
    pub fn may_contact(&self, url: &url::Url) -> bool {
        url.host_str().is_some_and(|h| self.hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(h)))
    }
}

/// Every configured provider, resolved (the configuration was validated at load).
pub fn all(settings: &crate::config::KycSettings) -> Vec<Provider> {
    settings.providers.iter().filter_map(|(name, s)| Provider::from_settings(name, s).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(preset: &str) -> ProviderSettings {
        ProviderSettings { preset: Some(preset.into()), client_id: "id".into(), ..Default::default() }
    }

    #[test]
    fn presets_fill_in_issuer_hosts_and_scopes() {
        let google = Provider::from_settings("google", &settings("google")).unwrap();
        assert_eq!(google.issuer, "https://accounts.google.com");
        assert_eq!(google.label, "Google");
        assert!(google.may_contact(&url::Url::parse("https://www.googleapis.com/oauth2/v3/certs").unwrap()));
        assert!(!google.may_contact(&url::Url::parse("https://169.254.169.254/latest").unwrap()));
        assert_eq!(google.scopes, ["openid", "email", "profile"]);
        let apple = Provider::from_settings("apple", &settings("apple")).unwrap();
        assert!(apple.form_post);
        let yandex = Provider::from_settings("yandex", &settings("yandex")).unwrap();
        let Protocol::OAuth(e) = &yandex.protocol else { panic!("yandex is OAuth-only") };
        assert_eq!(e.subject_field, "id");
        assert_eq!(e.email_trust, EmailTrust::Confirmed);
        assert!(yandex.may_contact(&url::Url::parse("https://login.yandex.ru/info").unwrap()));
        let vk = Provider::from_settings("vk", &settings("vk")).unwrap();
        let Protocol::OAuth(e) = &vk.protocol else { panic!("vk is OAuth-only") };
        assert_eq!(e.email_trust, EmailTrust::Never, "VK ID e-mails never count as verified");
    }

    #[test]
    fn bad_entries_say_what_is_missing() {
        let err = |name: &str, s: ProviderSettings| Provider::from_settings(name, &s).unwrap_err();
        assert_eq!(
            err("corp", ProviderSettings { client_id: "x".into(), ..Default::default() }),
            "issuer is required for preset oidc"
        );
        assert_eq!(
            err("corp", settings("okta")),
            "unknown preset 'okta' (google, apple, microsoft, linkedin, facebook, vk, yandex, oidc or oauth2)"
        );
        assert_eq!(err("Corp", settings("google")), "the name must be 1–32 lowercase letters, digits or '-'");
        assert_eq!(
            err("google", ProviderSettings { preset: Some("google".into()), ..Default::default() }),
            "client_id is required"
        );
        let ftp =
            ProviderSettings { issuer: Some("ftp://idp.example".into()), client_id: "x".into(), ..Default::default() };
        assert_eq!(err("corp", ftp), "issuer 'ftp://idp.example' must be an https URL");
    }
}
