-- A thank-you belongs to a purchase: a grant names its order, and its invitation when the
-- review came through one. A review written from the shop's widget whose order number and
-- contact matched an order gets the same thank-you, once per order (no invitation).
ALTER TABLE incentive_grants ALTER COLUMN invitation_id DROP NOT NULL;
ALTER TABLE incentive_grants ADD COLUMN order_id TEXT;
UPDATE incentive_grants g SET order_id = i.order_id FROM invitations i WHERE i.id = g.invitation_id;
CREATE INDEX incentive_grants_order ON incentive_grants (vendor_id, order_id);
CREATE UNIQUE INDEX incentive_grants_widget_order ON incentive_grants (vendor_id, order_id) WHERE invitation_id IS NULL;
