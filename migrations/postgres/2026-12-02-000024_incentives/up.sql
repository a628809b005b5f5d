-- Incentives (SPEC §4.4): the vendor's coupon pool, and one grant per review written through
-- an invitation that offered an incentive. A grant is pending until the review is moderated:
-- published (or rejected for any reason but spam or abuse) → granted, with a coupon when the
-- incentive is a coupon (owed while the pool is empty); rejected as spam or abuse → withheld.
-- The rating plays no part (FTC 16 CFR 465).
CREATE TABLE coupons (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    review_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, code)
);
CREATE INDEX coupons_free ON coupons (vendor_id, review_id);
CREATE TABLE incentive_grants (
    review_id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    invitation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    coupon TEXT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX incentive_grants_vendor_state ON incentive_grants (vendor_id, state);
