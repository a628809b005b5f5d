DROP TABLE funnel_events;
DROP TABLE funnel_daily;
DROP TABLE opt_outs;
ALTER TABLE invitations DROP COLUMN stopped;
ALTER TABLE invitations DROP COLUMN reminders_sent;
