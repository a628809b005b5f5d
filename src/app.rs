//! Builds the HTTP application; used by `main` and by the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt;

use crate::config::Settings;
use crate::core::Core;
use crate::http;
use crate::http::metrics::Metrics;
use crate::security::ratelimit::Limiters;

pub use crate::core::Deps;

/// What an HTTP node adds to `Core`: the edge limits, metrics, the route table and the
/// served OpenAPI document. Derefs to `Core`, so handlers pass `&state` to use cases.
pub struct AppState {
    pub core: Arc<Core>,
    pub limits: Limiters,
    pub metrics: Metrics,
    /// The OpenAPI document and the route table read from it, built on first use (the
    /// document's JSON, a 405's `Allow`): building it runs every handler's documentation
    /// code, which an idle node need not keep resident.
    api: std::sync::OnceLock<(String, http::RouteTable)>,
    /// Shutting down: `/ready` answers 503 while requests are still served.
    pub draining: std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

pub type State = web::Data<AppState>;

impl AppState {
    /// Opens (and migrates) the database and loads or creates the key file.
    pub fn new(settings: Settings, deps: Deps) -> anyhow::Result<AppState> {
        AppState::from_core(Arc::new(Core::new(settings, deps)?))
    }

    pub fn from_core(core: Arc<Core>) -> anyhow::Result<AppState> {
        let limits = Limiters::new(&core.settings)?;
        Ok(AppState {
            core,
            limits,
            metrics: Metrics::new()?,
            api: std::sync::OnceLock::new(),
            draining: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

impl AppState {
    fn api(&self) -> &(String, http::RouteTable) {
        self.api.get_or_init(|| {
            let api = openapi();
            let json = api.to_pretty_json().unwrap_or_else(|e| {
                tracing::error!(error = %e, "the OpenAPI document could not be written");
                "{}".to_owned()
            });
            (json, http::RouteTable::from_openapi(&api))
        })
    }

    /// This API's OpenAPI document (JSON).
    pub fn openapi_json(&self) -> &str {
        &self.api().0
    }

    /// The routes and their methods (for 405 answers).
    pub fn routes(&self) -> &http::RouteTable {
        &self.api().1
    }
}

/// The OpenAPI document, collected from the same registrations that serve the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(http::ApiDoc::openapi())
        .configure(|cfg| http::routes(&mut http::ServiceConfig::Documented(cfg)))
        .split_for_parts();
    http::spec::document_shared_errors(&mut api);
    api
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: State,
    trimmer: actix_web::rt::task::JoinHandle<()>,
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
        // Signals are handled by `run_until_stopped` (a drain phase first on SIGTERM).
        let mut server = HttpServer::new(move || http::app(app_state.clone()))
            .listen(listener)?
            .shutdown_timeout(30)
            .disable_signals();
        if let Some(workers) = state.settings.http_workers {
            server = server.workers(workers.max(1));
        }
        tracing::info!(%address, backend = state.db.backend().name(), "listening");
        // Every serving process trims its own limiter memory, whether or not it runs the
        // worker (`serve --no-worker`, tests).
        let every = std::time::Duration::from_secs(state.settings.limiter_trim_interval_secs.max(1));
        let trimmer =
            actix_web::rt::spawn(http::trim_limiters(std::sync::Arc::downgrade(&state.clone().into_inner()), every));
        Ok(Application { port: address.port(), server: server.run(), state, trimmer })
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

    /// Runs until SIGINT or SIGTERM. On SIGTERM it first drains: for `shutdown_drain_secs`
    /// it keeps serving while `/ready` answers 503, so a load balancer stops sending new
    /// requests; then it stops accepting connections and finishes the requests in flight
    /// (30 s at most). SIGINT (Ctrl-C) skips the drain.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let mut server = std::pin::pin!(self.server);
        let stopped = tokio::select! {
            stopped = &mut server => stopped,
            graceful = stop_signal() => {
                if graceful {
                    let drain = std::time::Duration::from_secs(self.state.settings.shutdown_drain_secs);
                    self.state.draining.store(true, std::sync::atomic::Ordering::SeqCst);
                    tracing::info!(drain_secs = drain.as_secs(), "SIGTERM: draining (/ready answers 503), then stopping");
                    tokio::time::sleep(drain).await;
                }
                // The server future must keep running for the stop to complete.
                let ((), stopped) = tokio::join!(handle.stop(true), &mut server);
                stopped
            }
        };
        self.trimmer.abort();
        stopped
    }
}

/// Waits for SIGTERM (true: drain first) or SIGINT (false).
async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return false;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => false,
            _ = term.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        false
    }
}
