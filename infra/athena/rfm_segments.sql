-- Generated from lake_schemas/rfm_segments.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `rfm_segments` (
  `segment` string COMMENT 'Segment name.',
  `customers` bigint COMMENT 'Customers in the segment (the column sums to all customers).',
  `customer_share` double COMMENT 'Share of customers (0-1).',
  `revenue` double COMMENT 'Revenue of the segment\'s customers.',
  `revenue_share` double COMMENT 'Share of revenue (0-1).',
  `avg_recency_days` double COMMENT 'Mean recency_days (NULL without customers).',
  `avg_frequency` double COMMENT 'Mean frequency.',
  `avg_monetary` double COMMENT 'Mean monetary.',
  `segment_order` int COMMENT 'Display order (1 = Champions).',
  `r_min` int COMMENT 'Rule: lowest r_score of the segment.',
  `r_max` int COMMENT 'Rule: highest r_score.',
  `fm_min` int COMMENT 'Rule: lowest fm_score.',
  `fm_max` int COMMENT 'Rule: highest fm_score.',
  `description` string COMMENT 'Who is in the segment.',
  `action` string COMMENT 'Suggested marketing action.'
)
COMMENT 'Summary of customer_rfm per named segment; every segment appears, also with 0 customers. Written by analytics/sql/rfm_segments.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/rfm_segments/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
