DROP TABLE invitations;
DROP TABLE funnel_settings;
