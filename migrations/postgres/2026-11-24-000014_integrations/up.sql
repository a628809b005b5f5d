-- Live order intake from shop platforms: the vendor's webhook signing secret per platform
-- (sealed with a key from the key file), and per platform order the newest `updated_at`
-- applied, so replayed or out-of-order deliveries change nothing.
CREATE TABLE integrations (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_delivery_at BIGINT,
    PRIMARY KEY (vendor_id, platform)
);
CREATE TABLE webhook_orders (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    platform_order_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, platform, platform_order_id)
);
