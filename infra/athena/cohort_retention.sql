-- Generated from lake_schemas/cohort_retention.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `cohort_retention` (
  `cohort_month` date COMMENT 'First day of the cohort\'s first-purchase month.',
  `months_since_first` int COMMENT '0 for the cohort month, 1 for the next, ...',
  `activity_month` date COMMENT 'First day of the month measured.',
  `cohort_size` bigint COMMENT 'Customers whose first invoice is in cohort_month.',
  `customers` bigint COMMENT 'Cohort customers with an invoice in activity_month.',
  `retention_rate` double COMMENT 'customers / cohort_size (1 at month 0).',
  `transactions` bigint COMMENT 'The cohort\'s distinct invoices in activity_month.',
  `revenue` double COMMENT 'The cohort\'s revenue in activity_month.',
  `revenue_per_cohort_customer` double COMMENT 'revenue / cohort_size.',
  `cumulative_revenue_per_customer` double COMMENT 'The cohort\'s revenue up to activity_month / cohort_size.'
)
COMMENT 'Monthly acquisition cohorts: cohort_month = month of a customer\'s first invoice; for every later month with sales in the lake, the cohort\'s active customers (0 when none bought), retention rate and revenue. Written by analytics/sql/cohort_retention.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/cohort_retention/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
