-- Generated from lake_schemas/repeat_vs_onetime.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `repeat_vs_onetime` (
  `customer_type` string COMMENT '\'repeat\' or \'one_time\'.',
  `customers` bigint COMMENT 'Customers of this type.',
  `customer_share` double COMMENT 'Share of customers (0-1).',
  `revenue` double COMMENT 'Their revenue.',
  `revenue_share` double COMMENT 'Share of revenue (0-1).',
  `transactions` bigint COMMENT 'Their distinct invoices.',
  `avg_transactions_per_customer` double COMMENT 'transactions / customers.',
  `avg_revenue_per_customer` double COMMENT 'revenue / customers.',
  `avg_transaction_value` double COMMENT 'revenue / transactions.'
)
COMMENT 'Repeat customers (2+ distinct invoices) against one-time customers (exactly 1). Always two rows. Written by analytics/sql/repeat_vs_onetime.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/repeat_vs_onetime/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
