-- Syndication (SPEC §11): the vendor's secret feed URL (only its SHA-256 is kept) and when a
-- review last changed after it was written (a moderation decision or an erasure; 0 = never),
-- so that feeds can be fetched incrementally with `since` and carry deletions.
ALTER TABLE vendors ADD COLUMN feed_token_hash TEXT;
CREATE UNIQUE INDEX vendors_feed_token_hash ON vendors (feed_token_hash);
ALTER TABLE reviews ADD COLUMN changed_at BIGINT NOT NULL DEFAULT 0;
UPDATE reviews SET changed_at = COALESCE(decided_at, 0);
CREATE INDEX reviews_vendor_changed ON reviews (vendor_id, changed_at);
