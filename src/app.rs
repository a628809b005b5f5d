//! Builds the HTTP application; used by `main` and by the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt;

use crate::clock::{Clock, OsRandom, Random, SystemClock};
use crate::config::Settings;
use crate::db::Db;
use crate::http;
use crate::http::metrics::Metrics;
use crate::security::hmac::ContactHasher;
use crate::security::jwt::KeyRing;
use crate::security::keys::SecretsFile;
use crate::security::ratelimit::Limiters;

/// Time and randomness, injected so tests can drive them.
#[derive(Clone)]
pub struct Deps {
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
}

impl Default for Deps {
    fn default() -> Self {
        Deps { clock: Arc::new(SystemClock), random: Arc::new(OsRandom) }
    }
}

/// Everything a handler may need; shared by all workers of a node.
pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub keys: KeyRing,
    pub contacts: ContactHasher,
    pub limits: Limiters,
    pub metrics: Metrics,
    pub routes: http::RouteTable,
    pub vendor_levels: crate::reviews::VendorLevelCache,
    pub public_cache: http::cache::PublicCache,
    /// The service's own origin (from `public_url`): its pages may write to the public API.
    pub own_origin: Option<crate::domain::account::Origin>,
    pub openapi_json: String,
}

pub type State = web::Data<AppState>;

impl AppState {
    /// Opens (and migrates) the database and loads or creates the key file.
    pub fn new(settings: Settings, deps: Deps) -> anyhow::Result<AppState> {
        let db = Db::connect(&settings.database_url, settings.pool_size)?;
        let secrets =
            SecretsFile::load_or_create(&settings.key_file_path(), deps.clock.as_ref(), deps.random.as_ref())?;
        let keys = KeyRing::from_secrets(&secrets, settings.jwt_leeway_secs)?;
        let contacts = ContactHasher::new(secrets.pepper()?);
        let limits = Limiters::new(&settings)?;
        let public_cache = http::cache::PublicCache::new(settings.public_cache_ttl_secs, 50_000);
        let own_origin = settings.public_url.as_deref().and_then(|u| crate::domain::account::Origin::parse(u).ok());
        let api = openapi();
        let routes = http::RouteTable::from_openapi(&api);
        let openapi_json = api.to_pretty_json()?;
        Ok(AppState {
            db,
            settings,
            clock: deps.clock,
            random: deps.random,
            keys,
            contacts,
            limits,
            metrics: Metrics::new()?,
            routes,
            vendor_levels: Default::default(),
            public_cache,
            own_origin,
            openapi_json,
        })
    }
}

/// The OpenAPI document, collected from the same registrations that serve the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) =
        App::new().into_utoipa_app().openapi(http::ApiDoc::openapi()).configure(http::routes).split_for_parts();
    api
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: State,
}

impl Application {
    pub fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
        let state = web::Data::new(AppState::new(settings, deps)?);
        Self::build_with_state(state)
    }

    pub fn build_with_state(state: State) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&state.settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", state.settings.bind))?;
        let address = listener.local_addr()?;
        let app_state = state.clone();
        let mut server = HttpServer::new(move || http::app(app_state.clone())).listen(listener)?.shutdown_timeout(30);
        if let Some(workers) = state.settings.http_workers {
            server = server.workers(workers.max(1));
        }
        tracing::info!(%address, backend = state.db.backend().name(), "listening");
        Ok(Application { port: address.port(), server: server.run(), state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> State {
        self.state.clone()
    }

    /// The running server (for embedding: benches, custom runtimes).
    pub fn into_server(self) -> Server {
        self.server
    }

    /// Runs until SIGINT/SIGTERM; in-flight requests are drained first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
