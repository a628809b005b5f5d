DROP TABLE demo_site;
