DROP INDEX invitations_nps;
ALTER TABLE invitations DROP COLUMN nps_at;
ALTER TABLE invitations DROP COLUMN nps_score;
DROP TABLE review_revisions;
DROP TABLE cases;
