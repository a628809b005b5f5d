DROP TABLE webhook_orders;
DROP TABLE integrations;
