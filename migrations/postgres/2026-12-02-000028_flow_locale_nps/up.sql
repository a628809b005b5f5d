-- The language a review flow's pages speak (the widget's, `en` or `ru`; none = the
-- browser's), and the NPS answer of a flow that started on the shop's site (invitations
-- keep theirs on the invitation).
ALTER TABLE flows ADD COLUMN locale TEXT;
ALTER TABLE flows ADD COLUMN nps_score INTEGER;
ALTER TABLE flows ADD COLUMN nps_at BIGINT;
CREATE INDEX flows_vendor_nps ON flows (vendor_id, nps_at) WHERE nps_at IS NOT NULL;
