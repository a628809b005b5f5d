DROP TABLE funnel_templates;
