-- Generated from lake_schemas/store_performance.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `store_performance` (
  `store` string COMMENT 'Shopping mall name as in sales.shopping_mall.',
  `district` string COMMENT 'District of the mall from `stores` (NULL for malls missing there).',
  `region` string COMMENT 'Region from `stores`; \'Unassigned\' for malls missing there.',
  `revenue` double COMMENT 'Sum of line totals (price).',
  `transactions` bigint COMMENT 'Distinct invoices.',
  `customers` bigint COMMENT 'Distinct customers who bought in the store.',
  `units` bigint COMMENT 'Sum of quantity.',
  `avg_transaction_value` double COMMENT 'revenue / transactions.',
  `revenue_per_customer` double COMMENT 'revenue / customers.',
  `avg_units_per_transaction` double COMMENT 'units / transactions.',
  `revenue_share` double COMMENT 'The store\'s share of all revenue (0-1; the column sums to 1).',
  `rank` int COMMENT 'Rank by revenue, 1 = highest (ties share a rank).',
  `region_rank` int COMMENT 'Rank by revenue within the region.',
  `first_invoice_date` date COMMENT 'First invoice date in the store.',
  `last_invoice_date` date COMMENT 'Last invoice date in the store.'
)
COMMENT 'One row per store (shopping mall): revenue, transactions, customers, averages, share and rank, with the mall\'s district and region from `stores` (malls missing there are in region \'Unassigned\'). Shares are fractions (0-1). Written by analytics/sql/store_performance.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/store_performance/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
