-- Generated from lake_schemas/customer_value.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `customer_value` (
  `customer_id` string COMMENT 'Customer identifier.',
  `revenue` double COMMENT 'Sum of the customer\'s line totals.',
  `transactions` bigint COMMENT 'Distinct invoices.',
  `avg_transaction_value` double COMMENT 'revenue / transactions.',
  `revenue_share` double COMMENT 'The customer\'s share of all revenue (0-1).',
  `revenue_rank` bigint COMMENT 'Position by revenue, 1 = highest (unique; customer_id breaks ties).',
  `revenue_percentile` double COMMENT 'revenue_rank / customers (0-1; small = top).',
  `cumulative_revenue_share` double COMMENT 'Share of revenue held by customers ranked up to this one (Pareto curve).',
  `is_top_10_pct` boolean COMMENT 'In the top 10 % of customers by spend.',
  `spend_tier` string COMMENT '\'high\' (top 20 %), \'medium\' (next 30 %) or \'low\' (bottom 50 %).',
  `tier_customers` bigint COMMENT 'Customers in the same spend tier.',
  `tier_revenue_share` double COMMENT 'Share of all revenue held by the customer\'s tier.',
  `first_invoice_date` date COMMENT 'First invoice date.',
  `last_invoice_date` date COMMENT 'Last invoice date.'
)
COMMENT 'Per customer: spend, rank, top-10 % flag and spend tier. Customers are ordered by revenue (customer_id breaks ties): top 10 % = the first ceil(10 %), tiers high = first ceil(20 %), medium = up to ceil(50 %), low = the rest. Written by analytics/sql/customer_value.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/customer_value/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
