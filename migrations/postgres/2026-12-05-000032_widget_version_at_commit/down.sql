DROP TRIGGER reviews_widget ON reviews;
DROP TRIGGER replies_widget ON replies;
DROP TRIGGER review_revisions_widget ON review_revisions;
DROP TRIGGER review_aggregates_widget ON review_aggregates;
DROP TRIGGER quick_ratings_widget ON quick_ratings;
DROP TRIGGER products_widget ON products;
DROP TRIGGER vendors_widget_origins ON vendors;
DROP FUNCTION widget_changed();

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
