-- A thank-you belongs to a purchase: a grant names its order, and its invitation when the
-- review came through one. A review written from the shop's widget whose order number and
-- contact matched an order gets the same thank-you, once per order (no invitation).
-- SQLite cannot drop NOT NULL in place: the table is rebuilt.
CREATE TABLE incentive_grants_new (
    review_id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    invitation_id TEXT,
    order_id TEXT,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    coupon TEXT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
INSERT INTO incentive_grants_new
    (review_id, vendor_id, invitation_id, order_id, kind, description, coupon, state, created_at, decided_at)
SELECT g.review_id, g.vendor_id, g.invitation_id,
       (SELECT i.order_id FROM invitations i WHERE i.id = g.invitation_id),
       g.kind, g.description, g.coupon, g.state, g.created_at, g.decided_at
FROM incentive_grants g;
DROP TABLE incentive_grants;
ALTER TABLE incentive_grants_new RENAME TO incentive_grants;
CREATE INDEX incentive_grants_vendor_state ON incentive_grants (vendor_id, state);
CREATE INDEX incentive_grants_order ON incentive_grants (vendor_id, order_id);
CREATE UNIQUE INDEX incentive_grants_widget_order ON incentive_grants (vendor_id, order_id) WHERE invitation_id IS NULL;
