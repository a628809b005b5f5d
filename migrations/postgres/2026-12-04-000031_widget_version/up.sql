-- What a vendor's widget shows, versioned: `widget_versions.version` goes up with every change
-- to the rows the widget's reads are made of (reviews with their aggregates, replies and
-- earlier versions, quick ratings, products, the vendor's origins); no row means 0. A node
-- whose cached read has expired reads this number (one point query per key and moment) and,
-- when it has not moved since the read, keeps serving the read instead of computing it
-- again (`cache::PublicCache`). Kept by triggers, so that no write path, on any node or
-- worker, can change what a widget shows without moving it. A table of its own rather than
-- a column of `vendors`: the triggers lock only this row, never the vendor row the audit
-- chain and staff changes lock in their own order (`db::lock_staff_row`).
CREATE TABLE widget_versions (
    vendor_id TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);

-- One upsert per vendor per statement, however many rows the statement wrote.
CREATE FUNCTION widget_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO widget_versions (vendor_id, version)
        SELECT DISTINCT vendor_id, 1 FROM changed
        ON CONFLICT (vendor_id) DO UPDATE SET version = widget_versions.version + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER reviews_widget_insert AFTER INSERT ON reviews REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER reviews_widget_update AFTER UPDATE ON reviews REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER reviews_widget_delete AFTER DELETE ON reviews REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER replies_widget_insert AFTER INSERT ON replies REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER replies_widget_update AFTER UPDATE ON replies REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER replies_widget_delete AFTER DELETE ON replies REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER review_revisions_widget_insert AFTER INSERT ON review_revisions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER review_revisions_widget_update AFTER UPDATE ON review_revisions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER review_revisions_widget_delete AFTER DELETE ON review_revisions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER review_aggregates_widget_insert AFTER INSERT ON review_aggregates REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER review_aggregates_widget_update AFTER UPDATE ON review_aggregates REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER review_aggregates_widget_delete AFTER DELETE ON review_aggregates REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER quick_ratings_widget_insert AFTER INSERT ON quick_ratings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER quick_ratings_widget_update AFTER UPDATE ON quick_ratings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER quick_ratings_widget_delete AFTER DELETE ON quick_ratings REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER products_widget_insert AFTER INSERT ON products REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER products_widget_update AFTER UPDATE ON products REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();
CREATE TRIGGER products_widget_delete AFTER DELETE ON products REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION widget_changed();

CREATE FUNCTION widget_origins_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO widget_versions (vendor_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (vendor_id) DO UPDATE SET version = widget_versions.version + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER vendors_widget_origins AFTER UPDATE OF origins ON vendors FOR EACH ROW
    WHEN (OLD.origins IS DISTINCT FROM NEW.origins) EXECUTE FUNCTION widget_origins_changed();
