-- Generated from lake_schemas/profitability.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `profitability` (
  `breakdown` string COMMENT '\'overall\', \'category\', \'store\' or \'category_store\'.',
  `category` string COMMENT 'Category, or \'All\' when the row is not split by category.',
  `store` string COMMENT 'Store, or \'All\'.',
  `region` string COMMENT 'The store\'s region (\'Unassigned\' for unknown malls), or \'All\'.',
  `transactions` bigint COMMENT 'Distinct invoices.',
  `units` bigint COMMENT 'Sum of quantity.',
  `revenue` double COMMENT 'Net revenue: sum of line totals (after discount).',
  `gross_revenue` double COMMENT 'revenue + discount.',
  `discount` double COMMENT 'Discount given (actual or assumed).',
  `cost` double COMMENT 'Cost of goods (unit_cost x quantity, or cost_ratio x gross line value).',
  `margin` double COMMENT 'revenue - cost.',
  `margin_pct` double COMMENT 'margin / revenue.',
  `discount_pct` double COMMENT 'discount / gross_revenue.',
  `revenue_share` double COMMENT 'Share of revenue within the breakdown (0-1).',
  `cost_basis` string COMMENT '\'actual\' when every line in the row had unit_cost, else \'assumed\' (reference/cost_assumptions.yaml).',
  `discount_basis` string COMMENT '\'actual\' when every line in the row had a discount value, else \'assumed\'.',
  `actual_cost_share` double COMMENT 'Share of the row\'s revenue whose cost is actual (0-1).'
)
COMMENT 'Revenue, discount, cost and margin overall, per category, per store and per category x store. Uses the uploaded unit_cost/discount when present, else the per-category assumptions in reference/cost_assumptions.yaml; cost_basis/discount_basis say which. Written by analytics/sql/profitability.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/profitability/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
