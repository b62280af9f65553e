-- Generated from lake_schemas/seasonality_monthly.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `seasonality_monthly` (
  `month` date COMMENT 'First day of the month.',
  `year` int COMMENT 'Calendar year.',
  `month_of_year` int COMMENT '1-12.',
  `revenue` double COMMENT 'Sum of line totals.',
  `transactions` bigint COMMENT 'Distinct invoices.',
  `customers` bigint COMMENT 'Distinct customers.',
  `units` bigint COMMENT 'Sum of quantity.',
  `days_with_sales` bigint COMMENT 'Distinct invoice dates (shows partly covered periods).',
  `avg_transaction_value` double COMMENT 'revenue / transactions.',
  `seasonality_index` double COMMENT 'revenue / mean monthly revenue over the months present.',
  `transactions_index` double COMMENT 'transactions / mean monthly transactions.',
  `month_of_year_index` double COMMENT 'Mean revenue of this calendar month across years / mean monthly revenue.',
  `is_peak` boolean COMMENT 'The month with the highest revenue.',
  `is_low` boolean COMMENT 'The month with the lowest revenue.',
  `revenue_mom_growth` double COMMENT 'revenue / previous month\'s revenue - 1.',
  `revenue_yoy_growth` double COMMENT 'revenue / same month a year earlier - 1.',
  `transactions_yoy_growth` double COMMENT 'transactions / same month a year earlier - 1.'
)
COMMENT 'One row per calendar month with sales. seasonality_index = month revenue / mean monthly revenue (1 = average); peak/low flags; month-over-month and year-over-year growth (NULL without the earlier month). Written by analytics/sql/seasonality_monthly.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/seasonality_monthly/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
