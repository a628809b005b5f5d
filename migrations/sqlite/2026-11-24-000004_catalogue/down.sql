ALTER TABLE products DROP COLUMN mpn;
ALTER TABLE products DROP COLUMN brand;
ALTER TABLE products DROP COLUMN image_url;
