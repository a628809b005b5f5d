ALTER TABLE funnel_events DROP COLUMN prompt;
ALTER TABLE invitations DROP COLUMN prompt;
