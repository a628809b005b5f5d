-- Trigger moments (SPEC §4.2): what prompted an invitation (NULL = the order itself), kept on
-- the invitation and on its events for the funnel report per trigger.
ALTER TABLE invitations ADD COLUMN prompt TEXT;
ALTER TABLE funnel_events ADD COLUMN prompt TEXT;
