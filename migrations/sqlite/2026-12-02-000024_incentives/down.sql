DROP TABLE incentive_grants;
DROP TABLE coupons;
