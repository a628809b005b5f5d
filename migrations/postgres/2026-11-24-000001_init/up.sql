-- TruView initial data model: vendors, staff, keys, sessions, catalogue, orders,
-- review flows, reviews, replies, votes, aggregates and the hash-chained audit log.
-- Instants are BIGINT Unix milliseconds (UTC); ids are TEXT (UUIDv7) so both backends agree.

CREATE TABLE vendors (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    origins TEXT NOT NULL DEFAULT '[]',
    auto_publish_min_level INTEGER,
    widget_served_at BIGINT,
    audit_seq BIGINT NOT NULL DEFAULT 0,
    audit_head TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE staff (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX staff_vendor ON staff(vendor_id);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_vendor ON api_keys(vendor_id);

CREATE TABLE products (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT,
    gtin TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, sku)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    order_ref TEXT NOT NULL,
    email_hmac TEXT,
    phone_hmac TEXT,
    customer_name TEXT,
    total_minor BIGINT,
    currency TEXT,
    purchased_at BIGINT NOT NULL,
    delivered_at BIGINT,
    locale TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (vendor_id, order_ref)
);
CREATE INDEX orders_email ON orders(vendor_id, email_hmac);
CREATE INDEX orders_phone ON orders(vendor_id, phone_hmac);

CREATE TABLE order_items (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    name TEXT,
    price_minor BIGINT
);
CREATE INDEX order_items_order ON order_items(order_id);

CREATE TABLE flows (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    sku TEXT,
    order_id TEXT REFERENCES orders(id) ON DELETE SET NULL,
    evidence TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX flows_expiry ON flows(expires_at);

CREATE TABLE reviews (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    flow_id TEXT,
    order_id TEXT REFERENCES orders(id) ON DELETE SET NULL,
    sku TEXT NOT NULL,
    rating INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    pros TEXT,
    cons TEXT,
    locale TEXT NOT NULL,
    display_name TEXT NOT NULL,
    author_email_hmac TEXT,
    author_phone_hmac TEXT,
    evidence TEXT NOT NULL,
    maturity_level INTEGER NOT NULL,
    checks TEXT NOT NULL,
    insider BOOLEAN NOT NULL,
    incentivised BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    reject_reason TEXT,
    helpful_count BIGINT NOT NULL DEFAULT 0,
    erased BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT,
    decided_at BIGINT,
    -- R7: one review per (vendor, order, product); NULL orders are distinct.
    UNIQUE (vendor_id, order_id, sku)
);
CREATE INDEX reviews_public ON reviews(vendor_id, sku, status, published_at, id);
CREATE INDEX reviews_queue ON reviews(vendor_id, status, created_at, id);
CREATE INDEX reviews_published ON reviews(vendor_id, status, published_at, id);
CREATE INDEX reviews_order ON reviews(order_id);
CREATE INDEX reviews_email ON reviews(vendor_id, author_email_hmac);
CREATE INDEX reviews_phone ON reviews(vendor_id, author_phone_hmac);

CREATE TABLE replies (
    review_id TEXT PRIMARY KEY NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    staff_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE helpful_votes (
    review_id TEXT NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
    voter_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (review_id, voter_key)
);

CREATE TABLE quick_ratings (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    rating INTEGER NOT NULL,
    voter_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (vendor_id, sku, voter_key)
);

-- Published-review counters per (vendor, scope) where scope is a SKU or '*' (whole vendor);
-- kind 'rating' buckets 1..5, kind 'level' buckets 0..5. Kept in the publishing transaction.
CREATE TABLE review_aggregates (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    kind TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, scope, kind, bucket)
);

-- Append-only; hash = SHA-256(prev_hash || canonical row). vendors.audit_seq/audit_head
-- hold the chain's end so a deleted last row is detected too.
CREATE TABLE audit_log (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (vendor_id, seq)
);
