-- Generated from lake_schemas/customer_rfm.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `customer_rfm` (
  `customer_id` string COMMENT 'Customer identifier.',
  `recency_days` int COMMENT 'Days from the last invoice to the reference date.',
  `frequency` bigint COMMENT 'Distinct invoices.',
  `monetary` double COMMENT 'Revenue (sum of line totals).',
  `r_score` int COMMENT 'Recency quintile score 1-5 (5 = most recent).',
  `f_score` int COMMENT 'Frequency quintile score 1-5 (5 = most invoices).',
  `m_score` int COMMENT 'Monetary quintile score 1-5 (5 = highest spend).',
  `segment` string COMMENT 'Named segment (Champions, Loyal Customers, ..., Lost) from the rules in reference/rfm_segments.yaml.',
  `fm_score` int COMMENT 'floor((f_score + m_score + 1) / 2): the axis the segment rules use with r_score.',
  `rfm_score` string COMMENT 'The three scores as text, e.g. \'545\'.',
  `avg_transaction_value` double COMMENT 'monetary / frequency.',
  `first_invoice_date` date COMMENT 'First invoice date.',
  `last_invoice_date` date COMMENT 'Last invoice date (on or before the reference date).',
  `reference_date` date COMMENT 'The date recency is measured from.'
)
COMMENT 'Per customer: recency, frequency, monetary, 1-5 quintile scores and the named segment. recency_days = reference date - last invoice_date (reference date = latest invoice_date in the lake unless a run gives one); frequency = distinct invoices; monetary = revenue. Scores: 5 = best; ties share the quintile of the middle of their tie group. Segments: reference/rfm_segments.yaml. Written by analytics/sql/customer_rfm.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/customer_rfm/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
