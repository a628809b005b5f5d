//! Typed settings: defaults → optional `truview.toml` → `TRUVIEW_*` environment
//! (and plain `DATABASE_URL`). Secrets are not settings: they live in the key file
//! (see `security::keys`) and are never logged.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::db::{sqlite_path, Backend};
use crate::domain::maturity::VendorThresholds;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// An SMS gateway: `twilio` (Twilio or any Twilio-compatible API: `base_url`,
/// `account_sid`, `auth_token`, `from`), `smsru` (`base_url`, `api_id`), or `http` (any
/// HTTP API: `url`, `method`, `headers`, `body` template with `{to}`, `{from}`, `{text}`,
/// escaped as `body_format` says — `json` or `form`). Empty `gateway`: codes go to the
/// local development outbox and are never sent.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsSettings {
    pub gateway: String,
    pub base_url: Option<String>,
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub from: Option<String>,
    pub api_id: Option<String>,
    /// `http` gateway: the URL (placeholders are URL-encoded), `GET` or `POST`, headers
    /// (e.g. an API key), the body template and how values are escaped in it.
    pub url: Option<String>,
    pub method: Option<String>,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Option<String>,
    pub body_format: Option<String>,
    /// The shared secret an `http` gateway presents (Bearer) when it posts buyers' text
    /// replies to `POST /api/v1/inbound/sms/http`; empty: that endpoint is off. Twilio's
    /// replies are verified by their `X-Twilio-Signature` with `auth_token` instead.
    pub inbound_secret: String,
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSettings")
            .field("gateway", &self.gateway)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Outgoing e-mail: `smtp_url` as lettre reads it (`smtp://user:pass@host:587?tls=required`,
/// `smtps://…`); empty (the default): messages go to the development outbox.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    pub smtp_url: String,
    /// The sender, e.g. `Reviews <reviews@shop.example>`.
    pub from: String,
    /// The domain buyers' replies go to (`Reply-To: reply+TAG@DOMAIN`), whose mail an
    /// inbound-mail service posts to `POST /api/v1/inbound/email`; empty = no reply address.
    pub inbound_domain: String,
    /// The shared secret that service sends (HTTP Basic password, or Bearer); empty = the
    /// inbound endpoint is off (404).
    pub inbound_secret: String,
    /// DKIM key records pinned by name (`sel._domainkey.example.com` → `v=DKIM1; k=…; p=…`),
    /// used instead of DNS (air-gapped set-ups, tests); others are looked up in DNS.
    pub dkim_records: std::collections::BTreeMap<String, String>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: String::new(),
            from: "TruView <no-reply@truview.invalid>".into(),
            inbound_domain: String::new(),
            inbound_secret: String::new(),
            dkim_records: Default::default(),
        }
    }
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("from", &self.from)
            .field("inbound_domain", &self.inbound_domain)
            .finish_non_exhaustive()
    }
}

/// One social-login provider under `[kyc.providers.NAME]` (see `kyc::providers`): a
/// `preset` (google, apple, microsoft, linkedin, facebook, vk, yandex) fills in the
/// endpoints; `oidc` (the default) discovers them from `issuer`; `oauth2` takes them
/// as given, with the user-info fields to read.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderSettings {
    pub preset: Option<String>,
    /// Shown to buyers and readers ("Identity checked with …"); the preset's name otherwise.
    pub display_name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Extra scopes beyond the preset's (`openid email profile` for OIDC).
    pub scopes: Vec<String>,
    /// OAuth-only providers (`oauth2`): endpoints and user-info fields.
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub subject_field: Option<String>,
    pub email_field: Option<String>,
    pub email_verified_field: Option<String>,
    pub name_field: Option<String>,
    /// Hosts the provider's documents may point at besides the issuer's (its JWKS or
    /// token endpoint on another host); no other host is ever contacted.
    pub allowed_hosts: Vec<String>,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("preset", &self.preset)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Know-your-customer settings: the social-login providers by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KycSettings {
    pub providers: std::collections::BTreeMap<String, ProviderSettings>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Listening address; port 0 picks a free port (the chosen one is logged).
    pub bind: String,
    /// `truview.db`, `sqlite://path` or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Base URL used in links sent to buyers.
    pub public_url: Option<String>,
    /// Connections per node.
    pub pool_size: u32,
    /// Connections opened at start and kept open while idle (at most `pool_size`); the
    /// rest are opened on demand and closed after ten idle minutes.
    pub pool_min_idle: u32,
    /// Secrets file (JWT signing keys, contact pepper); default beside the SQLite file,
    /// `./truview.keys.json` for PostgreSQL. Every node of a deployment shares it.
    pub key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    /// `tracing` filter, e.g. `info` or `truview=debug,info`.
    pub log_level: String,
    /// Whether `POST /api/v1/vendors` accepts self-service sign-ups.
    pub signup_enabled: bool,
    /// Seed a demo vendor when `serve` starts on an empty database.
    pub demo: bool,
    /// Comma-separated IPs/CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: String,
    /// Requests per minute per client IP.
    pub rate_limit_per_ip: u32,
    /// Requests per minute per API key: per (key, client) for publishable keys, per key
    /// for secret keys.
    pub rate_limit_per_key: u32,
    /// Failed logins per account per 15 minutes before it is throttled.
    pub login_failures_per_account: u32,
    /// Login attempts per IP per 15 minutes.
    pub login_attempts_per_ip: u32,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    /// Clock skew tolerated when checking JWT `exp`/`iat`.
    pub jwt_leeway_secs: i64,
    /// How long a buyer's review flow stays open.
    pub flow_ttl_minutes: i64,
    /// Days a receipt file is kept after the staff's decision (then the worker deletes it).
    pub receipt_retention_days: i64,
    /// Days the raw e-mail and phone of an imported order are kept (sealed) for
    /// invitations; then only their HMACs remain. 0 keeps none.
    pub contact_retention_days: i64,
    /// HTTP worker threads (default: one per core).
    pub http_workers: Option<usize>,
    /// Seconds a node serves a widget read from memory (0 = off); a node's own writes
    /// refresh at once, other nodes' within this time.
    pub public_cache_ttl_secs: u64,
    /// Seconds between maintenance passes of the worker.
    pub worker_interval_secs: u64,
    /// Milliseconds between the worker's checks for due jobs (a cheap read).
    pub job_poll_ms: u64,
    /// On SIGTERM, seconds `serve` keeps serving with `/ready` answering 503 (so a load
    /// balancer takes the node out of rotation) before it stops accepting connections and
    /// finishes the requests in flight. Ctrl-C (SIGINT) stops at once.
    pub shutdown_drain_secs: u64,
    /// Seconds a worker's claim on a job lasts: a worker that dies leaves its jobs to be
    /// claimed again after this long (a job may run for at most three quarters of it).
    pub job_lease_secs: u64,
    /// Vendor maturity thresholds (SPEC §3).
    pub maturity: VendorThresholds,
    /// The SMS gateway for phone codes (`[sms]`); none = the local development outbox.
    pub sms: SmsSettings,
    /// Phone codes sent per client address per vendor per day.
    pub otp_sends_per_ip_per_day: i64,
    /// Phone codes a vendor's flows may send per day (SMS pumping ceiling).
    pub otp_sends_per_vendor_per_day: i64,
    /// Self-service sign-ups per client IP in any 24 hours.
    pub signups_per_ip_per_day: u32,
    /// Concurrent argon2 hashes/verifications per process (0 = one per core).
    pub hashing_threads: usize,
    /// Bytes the widget-read cache may hold per node (bodies, keys and overhead); one
    /// vendor may use at most a quarter of it.
    pub public_cache_max_bytes: usize,
    /// Requests per minute through one vendor's publishable keys from all clients together
    /// on a node: a high ceiling above the per-(key, client) `rate_limit_per_key`.
    pub rate_limit_per_vendor_public: u32,
    /// Seconds between passes that forget refilled rate-limit buckets in each serving process.
    pub limiter_trim_interval_secs: u64,
    /// Social-login providers (`[kyc.providers.NAME]`).
    pub kyc: KycSettings,
    /// Outgoing e-mail (`[mail]`).
    pub mail: MailSettings,
}

/// Debug masks the database password (L3), so a stray `{:?}` cannot leak it.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        shown["database_url"] = serde_json::Value::String(self.database_url_for_logs());
        for secret in ["auth_token", "api_id"] {
            if shown["sms"][secret].is_string() {
                shown["sms"][secret] = serde_json::Value::String("(redacted)".into());
            }
        }
        // Gateway headers usually carry the API key.
        if let Some(headers) = shown["sms"]["headers"].as_object_mut() {
            for value in headers.values_mut() {
                *value = serde_json::Value::String("(redacted)".into());
            }
        }
        if let Some(providers) = shown["kyc"]["providers"].as_object_mut() {
            for provider in providers.values_mut() {
                if provider["client_secret"].is_string() {
                    provider["client_secret"] = serde_json::Value::String("(redacted)".into());
                }
            }
        }
        if shown["mail"]["smtp_url"].as_str().is_some_and(|u| !u.is_empty()) {
            shown["mail"]["smtp_url"] = serde_json::Value::String("(redacted)".into());
        }
        write!(f, "Settings {shown}")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: "truview.db".into(),
            public_url: None,
            pool_size: 8,
            pool_min_idle: 1,
            key_file: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            signup_enabled: true,
            demo: true,
            trusted_proxies: String::new(),
            rate_limit_per_ip: 600,
            rate_limit_per_key: 1200,
            login_failures_per_account: 5,
            login_attempts_per_ip: 30,
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            jwt_leeway_secs: 30,
            flow_ttl_minutes: 24 * 60,
            receipt_retention_days: 30,
            contact_retention_days: 30,
            http_workers: None,
            public_cache_ttl_secs: 30,
            worker_interval_secs: 60,
            job_poll_ms: 1000,
            shutdown_drain_secs: 5,
            job_lease_secs: 300,
            maturity: VendorThresholds::default(),
            sms: SmsSettings::default(),
            otp_sends_per_ip_per_day: 10,
            otp_sends_per_vendor_per_day: 1000,
            signups_per_ip_per_day: 20,
            hashing_threads: 0,
            public_cache_max_bytes: 64 * 1024 * 1024,
            rate_limit_per_vendor_public: 20 * 1200,
            limiter_trim_interval_secs: 60,
            kyc: KycSettings::default(),
            mail: MailSettings::default(),
        }
    }
}

impl Settings {
    /// Loads defaults, then `truview.toml` (or `config_file`), then the environment.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Settings> {
        let file = config_file.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("truview.toml"));
        if config_file.is_some() && !file.exists() {
            anyhow::bail!("configuration file {} does not exist", file.display());
        }
        unknown_keys(&Figment::from(Toml::file(&file)))
            .map_err(|e| anyhow::anyhow!("invalid configuration in {}: {e}", file.display()))?;
        let given = Figment::new()
            .merge(Toml::file(&file))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Env::prefixed("TRUVIEW_").split("__"));
        let mut settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(given.clone())
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        // L3: the demo vendor (an owner password and keys printed to stdout) is for trying
        // TruView out; on PostgreSQL, i.e. a real deployment, it needs an explicit `demo = true`.
        if given.find_value("demo").is_err() {
            settings.demo = Settings::default_demo(settings.backend());
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.trusted_proxy_nets()?;
        Backend::from_url(&self.database_url).map_err(|e| anyhow::anyhow!("database_url: {e}"))?;
        if self.pool_size == 0 {
            anyhow::bail!("pool_size must be at least 1");
        }
        crate::notify::sms::request_for(&self.sms, "+447400123456", "check").map_err(|e| anyhow::anyhow!(e))?;
        crate::notify::mail::Mailer::check(&self.mail).map_err(|e| anyhow::anyhow!(e))?;
        crate::funnel::replies::Dkim::new(&self.mail).map_err(|e| anyhow::anyhow!(e))?;
        for (name, provider) in &self.kyc.providers {
            crate::kyc::providers::Provider::from_settings(name, provider)
                .map_err(|e| anyhow::anyhow!("kyc.providers.{name}: {e}"))?;
        }
        Ok(())
    }

    /// Whether the demo vendor is seeded when `demo` is not configured: on SQLite only.
    pub fn default_demo(backend: Backend) -> bool {
        backend == Backend::Sqlite
    }

    /// The backend `database_url` names (`load` has refused unknown schemes; SQLite otherwise).
    pub fn backend(&self) -> Backend {
        Backend::from_url(&self.database_url).unwrap_or(Backend::Sqlite)
    }

    /// Where the secrets file lives.
    pub fn key_file_path(&self) -> PathBuf {
        if let Some(p) = &self.key_file {
            return p.clone();
        }
        match self.backend() {
            Backend::Sqlite => {
                let db = PathBuf::from(sqlite_path(&self.database_url));
                let stem = db.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "truview".into());
                db.with_file_name(format!("{stem}.keys.json"))
            }
            Backend::Postgres => PathBuf::from("truview.keys.json"),
        }
    }

    pub fn trusted_proxy_nets(&self) -> anyhow::Result<Vec<IpNet>> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| anyhow::anyhow!("trusted_proxies: '{s}' is not an IP address or CIDR"))
            })
            .collect()
    }

    /// The database URL with any password masked, for logs.
    pub fn database_url_for_logs(&self) -> String {
        match url::Url::parse(&self.database_url) {
            Ok(mut u) if u.password().is_some() || u.query_pairs().any(|(k, _)| k == "password") => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                // libpq also takes the password as a query parameter.
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| (k.to_string(), if k == "password" { "***".to_owned() } else { v.to_string() }))
                    .collect();
                if u.query().is_some() {
                    u.query_pairs_mut().clear().extend_pairs(pairs);
                }
                u.to_string()
            }
            _ => self.database_url.clone(),
        }
    }
}

/// Refuses a configuration file with a setting the service does not know (a misspelt
/// `signup_enabled` would otherwise leave sign-up on without a word). Keys are checked
/// against the defaults' shape, as deep as those are tables with named fields; inside maps
/// of the operator's own naming (`kyc.providers`, a gateway's `headers`) or optional tables
/// without a default, anything goes.
fn unknown_keys(file: &Figment) -> anyhow::Result<()> {
    let known = serde_json::to_value(Settings::default())?;
    let given: serde_json::Value = file.extract().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut unknown = Vec::new();
    fn walk(known: &serde_json::Value, given: &serde_json::Value, path: &str, unknown: &mut Vec<String>) {
        let (Some(known), Some(given)) = (known.as_object(), given.as_object()) else { return };
        if known.is_empty() {
            return;
        }
        for (key, value) in given {
            let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            match known.get(key) {
                Some(default) => walk(default, value, &at, unknown),
                None => unknown.push(at),
            }
        }
    }
    walk(&known, &given, "", &mut unknown);
    if unknown.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "unknown setting(s) {}: check the spelling against the configuration table in the README",
            unknown.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )
    }
}
