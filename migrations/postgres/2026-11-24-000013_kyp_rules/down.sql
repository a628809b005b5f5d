DROP TABLE kyp_rules;
