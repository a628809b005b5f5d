DROP INDEX incentive_grants_widget_order;
DROP INDEX incentive_grants_order;
DELETE FROM incentive_grants WHERE invitation_id IS NULL;
ALTER TABLE incentive_grants DROP COLUMN order_id;
ALTER TABLE incentive_grants ALTER COLUMN invitation_id SET NOT NULL;
