-- Generated from lake_schemas/customer_profile.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `customer_profile` (
  `customer_id` string COMMENT 'Customer identifier.',
  `recency_days` int COMMENT 'Days from the last invoice to the reference date (customer_rfm).',
  `frequency` bigint COMMENT 'Distinct invoices up to the reference date (customer_rfm).',
  `monetary` double COMMENT 'Revenue up to the reference date (customer_rfm).',
  `r_score` int COMMENT 'Recency quintile score 1-5 (customer_rfm).',
  `f_score` int COMMENT 'Frequency quintile score 1-5 (customer_rfm).',
  `m_score` int COMMENT 'Monetary quintile score 1-5 (customer_rfm).',
  `segment` string COMMENT 'Named RFM segment (customer_rfm).',
  `rfm_score` string COMMENT 'The three scores as text, e.g. \'545\' (customer_rfm).',
  `revenue` double COMMENT 'Sum of the customer\'s line totals, all of sales (customer_value).',
  `transactions` bigint COMMENT 'Distinct invoices, all of sales (customer_value).',
  `avg_transaction_value` double COMMENT 'revenue / transactions.',
  `spend_tier` string COMMENT '\'high\' (top 20 %), \'medium\' (next 30 %) or \'low\' (customer_value).',
  `is_top_10_pct` boolean COMMENT 'In the top 10 % of customers by spend (customer_value).',
  `revenue_rank` bigint COMMENT 'Position by revenue, 1 = highest (customer_value).',
  `revenue_percentile` double COMMENT 'revenue_rank / customers (0-1; small = top).',
  `first_invoice_date` date COMMENT 'First purchase (invoice date).',
  `last_invoice_date` date COMMENT 'Last purchase (invoice date).',
  `reference_date` date COMMENT 'The date recency is measured from (customer_rfm).',
  `favourite_category` string COMMENT 'Category with the most purchases (lines), then revenue, then name.',
  `favourite_category_purchases` bigint COMMENT 'Lines the customer bought in the favourite category.',
  `favourite_category_revenue_share` double COMMENT 'Share of the customer\'s revenue spent in the favourite category (0-1).',
  `favourite_store` string COMMENT 'Store (mall) with the most invoices, then revenue, then name.',
  `favourite_store_region` string COMMENT 'Region of the favourite store from `stores`; \'Unassigned\' when missing there.',
  `favourite_store_transactions` bigint COMMENT 'Invoices at the favourite store.',
  `favourite_payment_method` string COMMENT 'Payment method of the most invoices, then revenue, then name.',
  `favourite_payment_method_transactions` bigint COMMENT 'Invoices paid with the favourite payment method.',
  `categories` bigint COMMENT 'Distinct categories the customer bought.',
  `stores` bigint COMMENT 'Distinct stores the customer bought in.',
  `payment_methods` bigint COMMENT 'Distinct payment methods the customer used.',
  `lines` bigint COMMENT 'Sales lines of the customer.',
  `units` bigint COMMENT 'Units (sum of quantity) the customer bought.'
)
COMMENT 'One row per customer with everything the API\'s customers/insights/{customer_id} answers, so a customer is found with one lookup: the RFM fields (customer_rfm), revenue rank and spend tier (customer_value), and the favourite category, store and payment method. Favourite = the most purchases (lines for a category, invoices for a store or payment method), then the most revenue, then the alphabetically first name. RFM fields are NULL for a customer with no invoice on or before an earlier reference date. Written by analytics/sql/customer_profile.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/customer_profile/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
