DROP INDEX reviews_vendor_changed;
ALTER TABLE reviews DROP COLUMN changed_at;
DROP INDEX vendors_feed_token_hash;
ALTER TABLE vendors DROP COLUMN feed_token_hash;
