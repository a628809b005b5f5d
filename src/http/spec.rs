//! Makes the OpenAPI document say what the server does for errors, for every operation at
//! once, so a new endpoint cannot forget it: every error is `application/problem+json`
//! (RFC 9457) with the `Problem` schema, and the statuses the shared layers can produce
//! (limits, authentication, body and query parsing, path ids, an exhausted pool) are listed
//! on each operation they apply to. Operation-specific errors (403, 409, …) stay on the
//! handlers' `#[utoipa::path]` with their own descriptions.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};

use crate::http::errors::PROBLEM_JSON;

/// Paths that never touch the database and are not rate limited.
const UNLIMITED: &[&str] = &["/health"];
/// Paths that answer without the database.
const NO_DATABASE: &[&str] = &["/health", "/metrics", "/api-spec/openapi.json"];

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))))
        .build()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(problem(description)));
}

fn has_params(op: &Operation, place: ParameterIn) -> bool {
    op.parameters.iter().flatten().any(|p| p.parameter_in == place)
}

/// Applies the shared error responses to one operation of `path`.
fn document_errors(path: &str, op: &mut Operation) {
    if !UNLIMITED.contains(&path) {
        add(op, "429", "Too many requests from this client, key or account: retry after `Retry-After` seconds.");
        if let Some(RefOr::T(res)) = op.responses.responses.get_mut("429") {
            let seconds = utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .minimum(Some(1));
            res.headers.entry("Retry-After".into()).or_insert_with(|| {
                HeaderBuilder::new().schema(seconds).description(Some("Seconds to wait before retrying.")).build()
            });
        }
    }
    if !NO_DATABASE.contains(&path) {
        add(op, "503", "The database is unavailable or busy; retry later.");
    }
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if secured || path.contains("{pk}") {
        add(op, "401", "Missing, malformed, expired or revoked credentials.");
    }
    if secured {
        add(op, "403", "The credentials are valid but not allowed to do this (role or key kind).");
    }
    if op.request_body.is_some() {
        add(op, "400", "The body is not valid JSON for this operation.");
        add(op, "413", "The body is larger than this operation accepts.");
        add(op, "415", "The body's Content-Type is not one this operation accepts.");
        add(op, "422", "A field is missing or invalid; `field` names it.");
    }
    if has_params(op, ParameterIn::Query) {
        add(op, "400", "A query parameter is invalid.");
    }
    if has_params(op, ParameterIn::Path) {
        add(op, "400", "A path segment is not a valid identifier.");
        add(op, "404", "Nothing with this identifier exists for the caller's vendor.");
    }
    // Errors written on the handlers are problem documents too.
    for (status, res) in op.responses.responses.iter_mut() {
        let RefOr::T(res) = res else { continue };
        if status.starts_with('4') || status.starts_with('5') {
            let schema = res.content.swap_remove("application/json").and_then(|c| c.schema);
            let schema = schema.unwrap_or_else(|| RefOr::Ref(Ref::from_schema_name("Problem")));
            res.content.entry(PROBLEM_JSON.to_owned()).or_insert_with(|| Content::new(Some(schema)));
        }
    }
}

/// Documents the shared error responses on every operation of the document.
pub fn document_shared_errors(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            document_errors(path, op);
        }
    }
}
