//! T13 rows and fixtures for the reviews area (kept apart so each area adds its own).

use serde_json::Value;

use crate::helpers::{TestApp, Vendor};
use crate::tenancy::{Fixture, Row};

pub fn rows() -> Vec<Row> {
    vec![]
}

/// Per-vendor resources the reviews rows need.
pub struct Extra {}

impl Extra {
    pub async fn new(_app: &TestApp, _vendor: &Vendor) -> Extra {
        Extra {}
    }

    pub fn resource_id(&self, template: &str) -> String {
        panic!("no resource id for {template}")
    }
}

pub async fn check_listings(_app: &TestApp, _a: &Fixture, _b: &Fixture) {}

#[allow(dead_code)]
fn _unused(_: Value) {}
