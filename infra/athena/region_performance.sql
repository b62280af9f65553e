-- Generated from lake_schemas/region_performance.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `region_performance` (
  `region` string COMMENT 'Region from `stores`; \'Unassigned\' for unknown malls.',
  `stores` bigint COMMENT 'Malls in the region that have sales.',
  `revenue` double COMMENT 'Sum of line totals.',
  `transactions` bigint COMMENT 'Distinct invoices.',
  `customers` bigint COMMENT 'Distinct customers who bought in the region.',
  `units` bigint COMMENT 'Sum of quantity.',
  `avg_transaction_value` double COMMENT 'revenue / transactions.',
  `revenue_per_customer` double COMMENT 'revenue / customers.',
  `revenue_per_store` double COMMENT 'revenue / stores.',
  `revenue_share` double COMMENT 'Share of all revenue (0-1).',
  `rank` int COMMENT 'Rank by revenue, 1 = highest.',
  `top_store` string COMMENT 'The region\'s store with the most revenue (alphabetically first on a tie).'
)
COMMENT 'One row per region (side of the city), \'Unassigned\' for malls missing from `stores`. Customers and transactions are distinct within a region. Written by analytics/sql/region_performance.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/region_performance/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
