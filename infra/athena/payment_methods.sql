-- Generated from lake_schemas/payment_methods.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `payment_methods` (
  `breakdown` string COMMENT '\'overall\', \'age_band\', \'gender\', \'store\' or \'region\'.',
  `breakdown_value` string COMMENT 'The group: \'all\' for overall, else the age band (reference/age_bands.yaml), gender, store or region (\'Unknown\' / \'Unassigned\' when missing).',
  `payment_method` string COMMENT 'Cash, Credit Card, Debit Card, other values as sent, or \'Unknown\'.',
  `transactions` bigint COMMENT 'Distinct invoices paid with the method in the group.',
  `revenue` double COMMENT 'Their revenue.',
  `share` double COMMENT 'Share of the group\'s transactions (0-1).',
  `revenue_share` double COMMENT 'Share of the group\'s revenue (0-1).',
  `avg_transaction_value` double COMMENT 'revenue / transactions.',
  `rank_in_group` int COMMENT 'Rank of the method by transactions within the group.'
)
COMMENT 'Payment mix overall and within each age band, gender, store and region. share = the method\'s transactions / all transactions of its group, so a group\'s shares sum to 1. No distinct-customer count per group: five of them over every invoice cost more than the rest of the table together (docs/ANALYTICS.md); customers per store and region are in store_performance and region_performance. Written by analytics/sql/payment_methods.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/payment_methods/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
