-- The catalogue (issue 15): image, brand and manufacturer part number, for the product
-- page and the Google product-reviews feed.
ALTER TABLE products ADD COLUMN image_url TEXT;
ALTER TABLE products ADD COLUMN brand TEXT;
ALTER TABLE products ADD COLUMN mpn TEXT;
