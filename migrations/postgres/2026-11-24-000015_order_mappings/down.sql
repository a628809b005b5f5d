DROP TABLE order_mappings;
