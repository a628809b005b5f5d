//! The use cases' context: database, clock, randomness, contact hasher, key ring, audit
//! chain, settings and the per-node caches. No HTTP: `serve`, `worker`, the CLI, the demo
//! and the tests build it the same way, and `http::State` wraps it.

use std::sync::Arc;

use crate::cache::{PublicCache, VendorLevelCache};
use crate::clock::{Clock, Random, SystemClock, SystemRandom};
use crate::config::Settings;
use crate::db::Db;
use crate::domain::account::Origin;
use crate::security::hmac::ContactHasher;
use crate::security::jwt::KeyRing;
use crate::security::keys::SecretsFile;
use crate::security::lockout::{DailyCap, LoginThrottle};
use crate::security::password::HashPool;
use crate::store::audit::AuditLog;

/// Time and randomness, injected so tests can drive them.
#[derive(Clone)]
pub struct Deps {
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
}

impl Default for Deps {
    fn default() -> Self {
        Deps { clock: Arc::new(SystemClock), random: Arc::new(SystemRandom) }
    }
}

pub struct Core {
    pub db: Db,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub keys: KeyRing,
    pub contacts: ContactHasher,
    /// Appends to the vendors' audit chains (cloned into write closures).
    pub audit: AuditLog,
    /// Password attempts per account (the lockout is account policy, so it lives here).
    pub login_failures: LoginThrottle,
    /// Self-service sign-ups per client IP and day.
    pub signups: DailyCap,
    /// The bounded argon2 pool.
    pub passwords: HashPool,
    pub public_cache: PublicCache,
    pub vendor_levels: VendorLevelCache,
    /// The service's own origin (from `public_url`): its pages may write to the public API.
    pub own_origin: Option<Origin>,
    /// What each kind of queued job does.
    pub jobs: crate::funnel::queue::Registry,
    /// Seals secrets the service must read back (webhook signing secrets).
    pub sealer: std::sync::Arc<crate::security::seal::Sealer>,
    /// Outbound HTTP to gateways (SMS) and sign-in providers: a timeout, no redirects.
    pub http: reqwest::Client,
    /// Social-login providers and their discovered issuers.
    pub oauth: crate::kyc::oauth::Providers,
    /// SMTP (one pooled transport) or the development outbox.
    pub mailer: crate::notify::mail::Mailer,
    /// DKIM verification of buyers' replies.
    pub dkim: crate::funnel::replies::Dkim,
}

impl Core {
    /// Opens (and migrates) the database and loads or creates the key file.
    pub fn new(settings: Settings, deps: Deps) -> anyhow::Result<Core> {
        let db = Db::connect(&settings.database_url, settings.pool_size, settings.pool_min_idle)?;
        let secrets =
            SecretsFile::load_or_create(&settings.key_file_path(), deps.clock.as_ref(), deps.random.as_ref())?;
        let keys = KeyRing::from_secrets(&secrets, settings.jwt_leeway_secs)?;
        let contacts = ContactHasher::new(secrets.pepper()?);
        let sealer = std::sync::Arc::new(crate::security::seal::Sealer::new(&secrets.pepper()?));
        let audit = AuditLog::new(&secrets)?;
        let own_origin = settings.public_url.as_deref().and_then(|u| Origin::parse(u).ok());
        let core = Core {
            db,
            clock: deps.clock,
            random: deps.random,
            keys,
            contacts,
            audit,
            login_failures: LoginThrottle::new(
                settings.login_failures_per_account,
                std::time::Duration::from_secs(15 * 60),
            ),
            signups: DailyCap::new(settings.signups_per_ip_per_day),
            passwords: HashPool::new(settings.hashing_threads),
            public_cache: PublicCache::new(settings.public_cache_ttl_secs, settings.public_cache_max_bytes),
            vendor_levels: VendorLevelCache::default(),
            own_origin,
            jobs: Default::default(),
            sealer,
            oauth: crate::kyc::oauth::Providers::new(&settings.kyc),
            mailer: crate::notify::mail::Mailer::new(&settings.mail).map_err(anyhow::Error::msg)?,
            dkim: crate::funnel::replies::Dkim::new(&settings.mail).map_err(anyhow::Error::msg)?,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            settings,
        };
        crate::funnel::invitations::register(&core);
        crate::funnel::incentives::register(&core);
        crate::funnel::resolution::register(&core);
        Ok(core)
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A new time-ordered id.
    pub fn new_id(&self) -> String {
        crate::store::new_id(self.clock.as_ref(), self.random.as_ref())
    }
}
