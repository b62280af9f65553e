-- Generated from lake_schemas/seasonality_weekday.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `seasonality_weekday` (
  `day_of_week` int COMMENT '1 = Monday ... 7 = Sunday.',
  `day_name` string COMMENT 'Monday ... Sunday.',
  `revenue` double COMMENT 'Sum of line totals.',
  `transactions` bigint COMMENT 'Distinct invoices.',
  `units` bigint COMMENT 'Sum of quantity.',
  `days_with_sales` bigint COMMENT 'Dates with sales that fall on this weekday.',
  `avg_daily_revenue` double COMMENT 'revenue / days_with_sales.',
  `avg_daily_transactions` double COMMENT 'transactions / days_with_sales.',
  `revenue_share` double COMMENT 'Share of all revenue (0-1).',
  `seasonality_index` double COMMENT 'avg_daily_revenue / revenue per day with sales over all days.',
  `is_peak` boolean COMMENT 'The weekday with the highest avg_daily_revenue.',
  `is_low` boolean COMMENT 'The weekday with the lowest avg_daily_revenue.'
)
COMMENT 'Day-of-week pattern (ISO: 1 = Monday ... 7 = Sunday). Weekdays occur unequally often, so the index compares revenue per day with sales. Written by analytics/sql/seasonality_weekday.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/seasonality_weekday/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
