-- store_map (shared intermediate): ONE ROW PER STORE (shopping_mall) of `stores`, with its district
-- and region (MAX: should `stores` list a mall twice, one answer). The tables that report a store's
-- region or district join to it; a mall missing from `stores` finds no row here, and the tables put
-- its sales in the region 'Unassigned'.
-- Reads: stores.
SELECT shopping_mall, MAX(district) AS district, MAX(region) AS region
FROM stores
GROUP BY shopping_mall
