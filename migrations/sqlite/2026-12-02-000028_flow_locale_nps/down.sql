DROP INDEX flows_vendor_nps;
ALTER TABLE flows DROP COLUMN nps_at;
ALTER TABLE flows DROP COLUMN nps_score;
ALTER TABLE flows DROP COLUMN locale;
