-- The widget version (000031) moves when the transaction commits, not when the row is
-- written. The statement triggers of 000031 upserted the vendor's `widget_versions` row at
-- the write and held its lock until the commit, so a transaction that wrote a review and
-- then appended to the audit chain (moderation: version row, then vendor row) and one that
-- changed the vendor's origins (vendor row, then version row) could deadlock, and one of
-- them failed. Deferred constraint triggers take the version row last, inside the commit,
-- when the transaction takes no other lock: whatever order a transaction takes its other
-- locks in, a version row cannot close a cycle with them. (A transaction that writes
-- several vendors' rows still takes their version rows in the order it wrote them, so two
-- such transactions can wait on each other, as they could before.) The version row is also
-- held for the commit alone, instead of from a vendor's first widget write to its commit.
--
-- Constraint triggers fire per row; a transaction-local setting lists the vendors already
-- moved, so the version moves once per vendor per transaction however many rows it wrote.
-- Each row searches that list: cheap for the one vendor a request writes (50,000 rows in
-- 62 ms), quadratic in the vendors of one transaction (none of the service's writes spans
-- vendors; a bulk data fix over 10,000 vendors would spend seconds here).
DROP TRIGGER reviews_widget_insert ON reviews;
DROP TRIGGER reviews_widget_update ON reviews;
DROP TRIGGER reviews_widget_delete ON reviews;
DROP TRIGGER replies_widget_insert ON replies;
DROP TRIGGER replies_widget_update ON replies;
DROP TRIGGER replies_widget_delete ON replies;
DROP TRIGGER review_revisions_widget_insert ON review_revisions;
DROP TRIGGER review_revisions_widget_update ON review_revisions;
DROP TRIGGER review_revisions_widget_delete ON review_revisions;
DROP TRIGGER review_aggregates_widget_insert ON review_aggregates;
DROP TRIGGER review_aggregates_widget_update ON review_aggregates;
DROP TRIGGER review_aggregates_widget_delete ON review_aggregates;
DROP TRIGGER quick_ratings_widget_insert ON quick_ratings;
DROP TRIGGER quick_ratings_widget_update ON quick_ratings;
DROP TRIGGER quick_ratings_widget_delete ON quick_ratings;
DROP TRIGGER products_widget_insert ON products;
DROP TRIGGER products_widget_update ON products;
DROP TRIGGER products_widget_delete ON products;
DROP TRIGGER vendors_widget_origins ON vendors;
DROP FUNCTION widget_changed();
DROP FUNCTION widget_origins_changed();

CREATE FUNCTION widget_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    vendor TEXT;
    moved TEXT := coalesce(current_setting('truview.widget_moved', true), '');
BEGIN
    IF TG_TABLE_NAME = 'vendors' THEN
        vendor := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        vendor := OLD.vendor_id;
    ELSE
        vendor := NEW.vendor_id;
    END IF;
    IF strpos(moved, ',' || vendor || ',') > 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO widget_versions (vendor_id, version) VALUES (vendor, 1)
        ON CONFLICT (vendor_id) DO UPDATE SET version = widget_versions.version + 1;
    PERFORM set_config('truview.widget_moved', moved || ',' || vendor || ',', true);
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER reviews_widget AFTER INSERT OR UPDATE OR DELETE ON reviews
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION widget_changed();
CREATE CONSTRAINT TRIGGER replies_widget AFTER INSERT OR UPDATE OR DELETE ON replies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION widget_changed();
CREATE CONSTRAINT TRIGGER review_revisions_widget AFTER INSERT OR UPDATE OR DELETE ON review_revisions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION widget_changed();
CREATE CONSTRAINT TRIGGER review_aggregates_widget AFTER INSERT OR UPDATE OR DELETE ON review_aggregates
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION widget_changed();
CREATE CONSTRAINT TRIGGER quick_ratings_widget AFTER INSERT OR UPDATE OR DELETE ON quick_ratings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION widget_changed();
CREATE CONSTRAINT TRIGGER products_widget AFTER INSERT OR UPDATE OR DELETE ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION widget_changed();
CREATE CONSTRAINT TRIGGER vendors_widget_origins AFTER UPDATE OF origins ON vendors
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.origins IS DISTINCT FROM NEW.origins) EXECUTE FUNCTION widget_changed();
