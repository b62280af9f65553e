-- Generated from lake_schemas/seasonality_quarterly.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `seasonality_quarterly` (
  `quarter_start` date COMMENT 'First day of the quarter.',
  `year` int COMMENT 'Calendar year.',
  `quarter` int COMMENT '1-4.',
  `quarter_label` string COMMENT 'e.g. \'2022-Q3\'.',
  `revenue` double COMMENT 'Sum of line totals.',
  `transactions` bigint COMMENT 'Distinct invoices.',
  `customers` bigint COMMENT 'Distinct customers.',
  `units` bigint COMMENT 'Sum of quantity.',
  `days_with_sales` bigint COMMENT 'Distinct invoice dates (shows partly covered periods).',
  `avg_transaction_value` double COMMENT 'revenue / transactions.',
  `seasonality_index` double COMMENT 'revenue / mean quarterly revenue over the quarters present.',
  `transactions_index` double COMMENT 'transactions / mean quarterly transactions.',
  `quarter_of_year_index` double COMMENT 'Mean revenue of this quarter-of-year across years / mean quarterly revenue.',
  `is_peak` boolean COMMENT 'The quarter with the highest revenue.',
  `is_low` boolean COMMENT 'The quarter with the lowest revenue.',
  `revenue_qoq_growth` double COMMENT 'revenue / previous quarter\'s revenue - 1.',
  `revenue_yoy_growth` double COMMENT 'revenue / same quarter a year earlier - 1.',
  `transactions_yoy_growth` double COMMENT 'transactions / same quarter a year earlier - 1.'
)
COMMENT 'One row per calendar quarter with sales; measures as seasonality_monthly. Written by analytics/sql/seasonality_quarterly.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/seasonality_quarterly/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
