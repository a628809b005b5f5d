//! Social login (SECURITY R2; RFC 9700, RFC 7636, OIDC Core §3.1.3.7): the authorization-
//! code flow with PKCE S256, a random `state` bound to the review flow and to the browser
//! (a cookie set with the redirect, compared by us), a `nonce` checked in the ID token, the
//! exact redirect URI per provider, and an HTTP client that follows no redirects and talks
//! only to the provider's configured hosts. The ID token is checked by `openidconnect`
//! (signature from the issuer's JWKS, `iss`, `aud`, `exp`, `nonce`) plus `azp` and `iat`
//! here, with the configured leeway; an unknown `kid` refetches the JWKS at most once a
//! minute. The identity is (issuer, subject), kept as an HMAC; the e-mail counts only when
//! the provider verified it, and is kept only as an HMAC too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, JsonWebKeySet, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use crate::core::Core;
use crate::domain::contact::Email;
use crate::domain::maturity::{review_level, Assessment, Identity};
use crate::error::{Error, Result};
use crate::kyc::providers::{EmailTrust, OAuthEndpoints, Protocol, Provider};
use crate::reviews::{flow_step, PublicWrite};
use crate::security::hmac::same;
use crate::security::tokens::sha256_hex;
use crate::store;
use crate::store::oauth_states::OauthState;

/// How long the buyer has at the provider before the authorization is void.
pub const STATE_TTL_MS: i64 = 10 * 60_000;
/// Discovery documents are refetched after an hour.
const DISCOVERY_TTL_MS: i64 = 3_600_000;
/// An unknown `kid` refetches the issuer's keys at most this often.
const JWKS_REFETCH_MS: i64 = 60_000;
/// An ID token issued longer ago than this is refused (it was not issued for this login).
const MAX_TOKEN_AGE_SECS: i64 = 600;
/// The most the service reads of a provider's answer.
const MAX_PROVIDER_BODY: usize = 1024 * 1024;

/// The configured providers and what was learnt from their issuers.
pub struct Providers {
    list: Vec<Provider>,
    discovered: Mutex<HashMap<String, Arc<Discovered>>>,
}

struct Discovered {
    metadata: CoreProviderMetadata,
    fetched_ms: i64,
    jwks_fetched_ms: i64,
}

impl Providers {
    pub fn new(settings: &crate::config::KycSettings) -> Providers {
        Providers { list: crate::kyc::providers::all(settings), discovered: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.name == name)
    }

    pub fn names(&self) -> Vec<String> {
        self.list.iter().map(|p| p.name.clone()).collect()
    }

    /// The providers a vendor's flow offers: its choice, or every configured one.
    pub fn offered(&self, choice: Option<Vec<String>>) -> Vec<&Provider> {
        self.list.iter().filter(|p| choice.as_ref().is_none_or(|c| c.contains(&p.name))).collect()
    }

    fn cached(&self, name: &str) -> Option<Arc<Discovered>> {
        self.discovered.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    fn remember(&self, name: &str, d: Discovered) -> Arc<Discovered> {
        let d = Arc::new(d);
        self.discovered.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), d.clone());
        d
    }
}

/// Why the service would not talk to a provider URL, or what failed when it did.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderHttpError(String);

/// Sends one request for a provider: only to its configured hosts, no redirects followed
/// (`core.http` has none), a timeout, at most [`MAX_PROVIDER_BODY`] read.
async fn send(
    http: &reqwest::Client,
    provider: &Provider,
    request: openidconnect::HttpRequest,
) -> std::result::Result<openidconnect::HttpResponse, ProviderHttpError> {
    let url = url::Url::parse(&request.uri().to_string()).map_err(|e| ProviderHttpError(e.to_string()))?;
    if !provider.may_contact(&url) {
        return Err(ProviderHttpError(format!(
            "{} is not a host configured for provider {}",
            url.host_str().unwrap_or("(none)"),
            provider.name
        )));
    }
    let (parts, body) = request.into_parts();
    let mut res = http
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| ProviderHttpError(format!("request failed: {e}")))?;
    let mut answer = openidconnect::http::Response::builder().status(res.status());
    for (name, value) in res.headers() {
        answer = answer.header(name, value);
    }
    let mut read = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| ProviderHttpError(format!("reading failed: {e}")))? {
        if read.len() + chunk.len() > MAX_PROVIDER_BODY {
            return Err(ProviderHttpError("the answer is larger than 1 MiB".into()));
        }
        read.extend_from_slice(&chunk);
    }
    answer.body(read).map_err(|e| ProviderHttpError(e.to_string()))
}

fn unavailable(provider: &Provider, what: &str, e: impl std::fmt::Display) -> Error {
    tracing::warn!(provider = %provider.name, error = %e, "{what}");
    Error::Unavailable(format!("{} could not be reached to sign you in; try again in a moment", provider.label))
}

fn refused(provider: &Provider, why: impl std::fmt::Display) -> Error {
    tracing::info!(provider = %provider.name, reason = %why, "social login refused");
    Error::Forbidden(format!("the sign-in with {} could not be verified: start again", provider.label))
}

/// The issuer's discovery document (and keys), cached for an hour.
async fn discovered(core: &Core, provider: &Provider) -> Result<Arc<Discovered>> {
    let now = core.now_ms();
    if let Some(d) = core.oauth.cached(&provider.name).filter(|d| now - d.fetched_ms < DISCOVERY_TTL_MS) {
        return Ok(d);
    }
    let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| unavailable(provider, "bad issuer", e))?;
    let http = |req| send(&core.http, provider, req);
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .map_err(|e| unavailable(provider, "OIDC discovery failed", e))?;
    Ok(core.oauth.remember(&provider.name, Discovered { metadata, fetched_ms: now, jwks_fetched_ms: now }))
}

/// The key set again, after a token named a `kid` the cached set lacks (at most once a
/// minute per provider); `None` if it was refetched too recently.
async fn refetch_keys(core: &Core, provider: &Provider, d: &Discovered) -> Result<Option<Arc<Discovered>>> {
    let now = core.now_ms();
    if now - d.jwks_fetched_ms < JWKS_REFETCH_MS {
        return Ok(None);
    }
    let http = |req| send(&core.http, provider, req);
    let jwks = JsonWebKeySet::fetch_async(d.metadata.jwks_uri(), &http)
        .await
        .map_err(|e| unavailable(provider, "JWKS refetch failed", e))?;
    let metadata = d.metadata.clone().set_jwks(jwks);
    Ok(Some(
        core.oauth.remember(&provider.name, Discovered { metadata, fetched_ms: d.fetched_ms, jwks_fetched_ms: now }),
    ))
}

fn oidc_client(provider: &Provider, d: &Discovered, redirect_uri: &str) -> Result<OidcClient> {
    // The token endpoint's client authentication: Basic unless the issuer takes only POST.
    let methods = d.metadata.token_endpoint_auth_methods_supported();
    let post_only = methods.is_some_and(|m| {
        !m.contains(&CoreClientAuthMethod::ClientSecretBasic) && m.contains(&CoreClientAuthMethod::ClientSecretPost)
    });
    Ok(CoreClient::from_provider_metadata(
        d.metadata.clone(),
        ClientId::new(provider.client_id.clone()),
        provider.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(Error::internal)?)
    .set_auth_type(if post_only { AuthType::RequestBody } else { AuthType::BasicAuth }))
}

type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn oauth_client(provider: &Provider, e: &OAuthEndpoints, redirect_uri: &str) -> Result<OAuthClient> {
    let mut client = oauth2::basic::BasicClient::new(oauth2::ClientId::new(provider.client_id.clone()))
        .set_auth_uri(oauth2::AuthUrl::new(e.authorize_url.clone()).map_err(Error::internal)?)
        .set_token_uri(oauth2::TokenUrl::new(e.token_url.clone()).map_err(Error::internal)?)
        .set_redirect_uri(oauth2::RedirectUrl::new(redirect_uri.to_owned()).map_err(Error::internal)?)
        .set_auth_type(if provider.credentials_in_body {
            oauth2::AuthType::RequestBody
        } else {
            oauth2::AuthType::BasicAuth
        });
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(oauth2::ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

type OAuthClient = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// Where to send the buyer, and the cookie that binds the answer to this browser.
#[derive(Debug)]
pub struct Started {
    pub redirect_to: String,
    pub browser_cookie: String,
    /// Apple answers by a cross-site POST: the cookie must be `SameSite=None`.
    pub cross_site_answer: bool,
}

/// The redirect URI registered with a provider: one callback path per provider.
pub fn redirect_uri(base_url: &str, provider: &str) -> String {
    format!("{}/api/v1/public/kyc/oauth/{provider}/callback", base_url.trim_end_matches('/'))
}

/// The providers an open review flow's shop offers, as (name, label).
pub async fn offered(core: &Core, flow_token: &str, from: PublicWrite) -> Result<Vec<(String, String)>> {
    let token_hash = sha256_hex(flow_token.trim());
    let (now, own) = (core.now_ms(), core.own_origin.clone());
    let (_flow, vendor) = core.db.run(move |conn| flow_step(conn, &token_hash, now, true, &from, own.as_ref())).await?;
    Ok(core.oauth.offered(vendor.provider_choice()).into_iter().map(|p| (p.name.clone(), p.label.clone())).collect())
}

/// Starts a social login for a review flow: 404 for a provider this service or this shop
/// does not offer, the flow's own refusals (unknown, expired, used).
pub async fn start(
    core: &Core,
    provider_name: &str,
    flow_token: &str,
    base_url: &str,
    from: PublicWrite,
) -> Result<Started> {
    let provider = core.oauth.get(provider_name).ok_or_else(|| Error::not_found("sign-in provider"))?;
    let token_hash = sha256_hex(flow_token.trim());
    let now = core.now_ms();
    let own = core.own_origin.clone();
    let (flow, vendor) = core.db.run(move |conn| flow_step(conn, &token_hash, now, true, &from, own.as_ref())).await?;
    if !core.oauth.offered(vendor.provider_choice()).iter().any(|p| p.name == provider.name) {
        return Err(Error::not_found("sign-in provider"));
    }
    let random = core.random.as_ref();
    let (state, nonce, verifier, cookie) = (random.token(32), random.token(32), random.token(32), random.token(32));
    let redirect = redirect_uri(base_url, &provider.name);
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
    let url = match &provider.protocol {
        Protocol::Oidc => {
            let d = discovered(core, provider).await?;
            let client = oidc_client(provider, &d, &redirect)?;
            let (state_out, nonce_out) = (state.clone(), nonce.clone());
            let mut request = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state_out),
                    move || Nonce::new(nonce_out),
                )
                .set_pkce_challenge(challenge);
            for scope in provider.scopes.iter().filter(|s| *s != "openid") {
                request = request.add_scope(Scope::new(scope.clone()));
            }
            if provider.form_post {
                request = request.add_extra_param("response_mode", "form_post");
            }
            request.url().0
        }
        Protocol::OAuth(e) => {
            let client = oauth_client(provider, e, &redirect)?;
            let state_out = state.clone();
            let mut request = client.authorize_url(move || oauth2::CsrfToken::new(state_out)).set_pkce_challenge(
                oauth2::PkceCodeChallenge::from_code_verifier_sha256(&oauth2::PkceCodeVerifier::new(verifier.clone())),
            );
            for scope in &provider.scopes {
                request = request.add_scope(oauth2::Scope::new(scope.clone()));
            }
            request.url().0
        }
    };
    let row = OauthState {
        state_hash: sha256_hex(&state),
        flow_id: flow.id,
        vendor_id: vendor.id,
        provider: provider.name.clone(),
        browser_hash: sha256_hex(&cookie),
        nonce,
        pkce_verifier: verifier,
        redirect_uri: redirect,
        expires_at: now + STATE_TTL_MS,
    };
    core.db.write(move |conn| store::oauth_states::insert(conn, &row)).await?;
    Ok(Started { redirect_to: url.to_string(), browser_cookie: cookie, cross_site_answer: provider.form_post })
}

/// What the provider sent back to the callback.
#[derive(Debug, Default)]
pub struct Answer {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's `error` (e.g. `access_denied` when the buyer cancelled).
    pub error: Option<String>,
    /// VK ID sends the device id the token request must repeat.
    pub device_id: Option<String>,
}

/// The verified sign-in, for the page the buyer lands on.
#[derive(Debug)]
pub struct Verified {
    pub provider_label: String,
    pub email_verified: bool,
    pub assessment: Assessment,
}

/// The identity the provider vouched for.
struct Claimed {
    subject: String,
    issuer: String,
    verified_email: Option<String>,
}

/// Completes a social login: the state is taken (deleted) before anything else, so it is
/// compared once; it must belong to this provider's callback and to this browser, and the
/// flow must still be open. The code is exchanged with the stored PKCE verifier at the
/// exact redirect URI used, the ID token (or user info) checked, the identity recorded.
pub async fn callback(
    core: &Core,
    provider_name: &str,
    answer: Answer,
    browser_cookie: Option<&str>,
) -> Result<Verified> {
    let provider = core.oauth.get(provider_name).ok_or_else(|| Error::not_found("sign-in provider"))?;
    let state = answer.state.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| {
        Error::BadRequest(format!("the answer from {} has no state: start the sign-in again", provider.label))
    })?;
    let state_hash = sha256_hex(state);
    let now = core.now_ms();
    let row = core
        .db
        .write(move |conn| store::oauth_states::take(conn, &state_hash))
        .await?
        .ok_or_else(|| refused(provider, "unknown, used or expired state"))?;
    if row.expires_at <= now {
        return Err(refused(provider, "state expired"));
    }
    if row.provider != provider.name {
        return Err(refused(
            provider,
            format!("state issued for {} arrived at {}'s callback", row.provider, provider.name),
        ));
    }
    if !browser_cookie.is_some_and(|c| same(&sha256_hex(c), &row.browser_hash)) {
        return Err(refused(provider, "state bound to another browser"));
    }
    if let Some(error) = answer.error.as_deref() {
        tracing::info!(provider = %provider.name, error, "the provider answered with an error");
        return Err(Error::Forbidden(format!(
            "the sign-in with {} was cancelled or refused: start again",
            provider.label
        )));
    }
    let code = answer.code.filter(|c| !c.is_empty()).ok_or_else(|| refused(provider, "no code"))?;
    let claimed = match &provider.protocol {
        Protocol::Oidc => oidc_identity(core, provider, &row, code).await?,
        Protocol::OAuth(e) => oauth_identity(core, provider, e, &row, code, answer.device_id).await?,
    };
    let identity = Identity::Oauth {
        provider: provider.name.clone(),
        issuer: claimed.issuer.clone(),
        subject_key: Some(core.contacts.subject(&claimed.issuer, &claimed.subject)),
        label: Some(provider.label.clone()),
        email_hmac: claimed.verified_email.as_deref().map(|e| core.contacts.email(e)),
    };
    let email_verified = claimed.verified_email.is_some();
    let assessment = core
        .db
        .write(move |conn| {
            let flow = store::flows::get(conn, &row.flow_id)?.ok_or_else(|| Error::not_found("review flow"))?;
            if flow.expires_at <= now {
                return Err(Error::Conflict("this review flow has expired: start a new review".into()));
            }
            if flow.completed_at.is_some() {
                return Err(Error::Conflict("this review flow has already been used for a review".into()));
            }
            let mut evidence = flow.evidence();
            evidence.identity = Some(identity.clone());
            store::flows::attach_identity(conn, &flow, identity)?;
            Ok(review_level(&evidence))
        })
        .await?;
    Ok(Verified { provider_label: provider.label.clone(), email_verified, assessment })
}

async fn oidc_identity(core: &Core, provider: &Provider, row: &OauthState, code: String) -> Result<Claimed> {
    let mut d = discovered(core, provider).await?;
    let client = oidc_client(provider, &d, &row.redirect_uri)?;
    let http = |req| send(&core.http, provider, req);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| unavailable(provider, "no token endpoint", e))?
        .set_pkce_verifier(PkceCodeVerifier::new(row.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| refused(provider, format!("code exchange failed: {e}")))?;
    let id_token = tokens.id_token().ok_or_else(|| refused(provider, "no ID token in the token response"))?;
    let nonce = Nonce::new(row.nonce.clone());
    let leeway = chrono::Duration::seconds(core.settings.jwt_leeway_secs.max(0));
    let now = core.clock.now();
    let claims: CoreIdTokenClaims = loop {
        let client = oidc_client(provider, &d, &row.redirect_uri)?;
        let verifier = client
            .id_token_verifier()
            // `exp` is compared with "now": giving it the leeway means now minus the leeway.
            .set_time_fn(move || now - leeway)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > now + leeway {
                    Err(format!("issued in the future ({iat})"))
                } else if iat < now - chrono::Duration::seconds(MAX_TOKEN_AGE_SECS) - leeway {
                    Err(format!("issued too long ago ({iat})"))
                } else {
                    Ok(())
                }
            });
        match id_token.claims(&verifier, &nonce) {
            Ok(c) => break c.clone(),
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => match refetch_keys(core, provider, &d).await? {
                Some(newer) => d = newer,
                None => return Err(refused(provider, "ID token signed with an unknown key")),
            },
            Err(e) => return Err(refused(provider, format!("ID token refused: {e}"))),
        }
    };
    // OIDC Core §3.1.3.7 (4, 5): `azp`, when present or when there are several audiences,
    // must be this client (openidconnect leaves this check out).
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != provider.client_id => {
            return Err(refused(provider, format!("azp {} is not this client", azp.as_str())))
        }
        None if claims.audiences().len() > 1 => return Err(refused(provider, "several audiences and no azp")),
        _ => {}
    }
    let verified_email = match (claims.email(), claims.email_verified()) {
        (Some(email), Some(true)) => Email::parse("email", email.as_str()).ok().map(|e| e.as_str().to_owned()),
        _ => None,
    };
    // The access token is not kept: nothing else is asked of the provider.
    let _ = tokens.access_token();
    Ok(Claimed { subject: claims.subject().to_string(), issuer: claims.issuer().to_string(), verified_email })
}

/// A value at a dotted path of a JSON document, as text (numbers too).
fn field(doc: &serde_json::Value, path: &str) -> Option<String> {
    let value = path.split('.').try_fold(doc, |v, key| v.get(key))?;
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn oauth_identity(
    core: &Core,
    provider: &Provider,
    e: &OAuthEndpoints,
    row: &OauthState,
    code: String,
    device_id: Option<String>,
) -> Result<Claimed> {
    let client = oauth_client(provider, e, &row.redirect_uri)?;
    let http = |req| send(&core.http, provider, req);
    let mut exchange = client
        .exchange_code(oauth2::AuthorizationCode::new(code))
        .set_pkce_verifier(oauth2::PkceCodeVerifier::new(row.pkce_verifier.clone()));
    if let Some(device) = device_id.filter(|d| !d.is_empty() && d.len() <= 256) {
        exchange = exchange.add_extra_param("device_id", device);
    }
    let tokens =
        exchange.request_async(&http).await.map_err(|err| refused(provider, format!("code exchange failed: {err}")))?;
    let access = tokens.access_token().secret().clone();
    let url = url::Url::parse(&e.userinfo_url).map_err(Error::internal)?;
    if !provider.may_contact(&url) {
        return Err(refused(provider, "user-info host not configured"));
    }
    let request = if e.userinfo_post {
        core.http.post(url).form(&[("access_token", access.as_str()), ("client_id", provider.client_id.as_str())])
    } else {
        core.http.get(url).bearer_auth(&access)
    };
    let res = request.send().await.map_err(|err| unavailable(provider, "user info failed", err))?;
    if !res.status().is_success() {
        return Err(refused(provider, format!("user info answered {}", res.status())));
    }
    let bytes = res.bytes().await.map_err(|err| unavailable(provider, "user info unreadable", err))?;
    if bytes.len() > MAX_PROVIDER_BODY {
        return Err(refused(provider, "user info larger than 1 MiB"));
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|err| refused(provider, format!("user info is not JSON: {err}")))?;
    let subject = field(&doc, &e.subject_field).ok_or_else(|| refused(provider, "user info has no subject"))?;
    let trusted = match &e.email_trust {
        EmailTrust::Confirmed => true,
        EmailTrust::Field(f) => {
            let value = f.split('.').try_fold(&doc, |v, key| v.get(key));
            value.is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"))
        }
        EmailTrust::Never => false,
    };
    let verified_email = e
        .email_field
        .as_deref()
        .filter(|_| trusted)
        .and_then(|f| field(&doc, f))
        .and_then(|raw| Email::parse("email", &raw).ok())
        .map(|email| email.as_str().to_owned());
    Ok(Claimed { subject, issuer: provider.issuer.clone(), verified_email })
}
