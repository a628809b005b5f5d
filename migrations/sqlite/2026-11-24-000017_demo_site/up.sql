-- The demo shop `/demo` shows: its vendor, the publishable key its page embeds (publishable
-- keys are public by design: every shop page carries one) and the product it shows.
CREATE TABLE demo_site (
    vendor_id TEXT PRIMARY KEY NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    publishable_key TEXT NOT NULL,
    sku TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
