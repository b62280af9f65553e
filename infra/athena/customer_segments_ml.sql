-- Generated from lake_schemas/customer_segments_ml.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `customer_segments_ml` (
  `customer_id` string COMMENT 'Customer identifier.',
  `cluster` int COMMENT 'Cluster number (0 = the cluster with the highest mean monetary value).',
  `segment_name` string COMMENT 'Name derived from the cluster\'s feature profile (Champions, New customers, Lapsed one-timers, ...); unique within a version.',
  `recency_days` int COMMENT 'Days from the customer\'s last invoice to the lake\'s latest invoice date.',
  `frequency` bigint COMMENT 'Distinct invoices.',
  `monetary` double COMMENT 'Revenue (sum of line totals).',
  `tenure_days` int COMMENT 'Days from the first invoice to the lake\'s latest invoice date.',
  `days_between_purchases` double COMMENT 'Mean days between purchase days; NULL for customers who bought on one day only (the model reads their tenure, at least the median gap).',
  `category_breadth` int COMMENT 'Distinct categories bought.',
  `avg_basket` double COMMENT 'monetary / frequency.',
  `distance_to_center` double COMMENT 'Distance to the cluster centre in the scaled feature space (how typical the customer is).',
  `model_version` string COMMENT 'The model version that produced the row (models/segmentation/<version>/), or baseline:<name>@<version>.'
)
COMMENT 'Machine-learned customer segments, one row per customer: the K-means cluster (k chosen by silhouette on a fixed-size sample) on scaled RFM and behaviour features, the segment name derived from the cluster\'s profile, and the feature values used. When the gate rejects a run\'s model and no version was promoted before, the baseline (RFM quantile groups) serves and model_version says so. Written by retail-lake train (retail_lake.models); docs/MODELS.md.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/predictions/customer_segments_ml/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
