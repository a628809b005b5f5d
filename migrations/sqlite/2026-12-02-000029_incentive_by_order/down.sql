CREATE TABLE incentive_grants_old (
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
INSERT INTO incentive_grants_old
SELECT review_id, vendor_id, invitation_id, kind, description, coupon, state, created_at, decided_at
FROM incentive_grants WHERE invitation_id IS NOT NULL;
DROP TABLE incentive_grants;
ALTER TABLE incentive_grants_old RENAME TO incentive_grants;
CREATE INDEX incentive_grants_vendor_state ON incentive_grants (vendor_id, state);
