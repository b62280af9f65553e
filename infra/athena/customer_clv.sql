-- Generated from lake_schemas/customer_clv.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `customer_clv` (
  `customer_id` string COMMENT 'Customer identifier.',
  `horizon_days` int COMMENT 'Days ahead the prediction covers (from the day after the lake\'s latest invoice date).',
  `predicted_spend` double COMMENT 'Expected spend (sum of line totals) over the horizon; never negative.',
  `probability_alive` double COMMENT 'Probability (0-1) that the customer is still active at the lake\'s latest invoice date (MBG/NBD).',
  `model_version` string COMMENT 'The model version that produced the row (models/clv/<version>/), or baseline:<name>@<version>.',
  `expected_purchases` double COMMENT 'Expected purchase days over the horizon (MBG/NBD).',
  `expected_avg_spend` double COMMENT 'Expected spend per purchase day (Gamma-Gamma, shrunk towards the population mean for short histories).',
  `historical_spend` double COMMENT 'Spend so far (sum of line totals).',
  `purchases` bigint COMMENT 'Purchase days so far (invoices of one day count once).',
  `recency_days` int COMMENT 'Days since the last purchase.',
  `tenure_days` int COMMENT 'Days since the first purchase.',
  `method` string COMMENT 'What produced predicted_spend: xgboost, blend, bgnbd_gg, mbgnbd_gg or historical_rate.'
)
COMMENT 'Predicted customer lifetime value: each customer\'s spend over the next horizon_days from the lake\'s latest invoice date, for every customer in the lake, with the probability that the customer is still active (MBG/NBD: a one-time buyer is not certainly alive). The served model is the best of XGBoost (and its blend with BG/NBD + Gamma-Gamma) on a time-based validation window, if it beats the baselines (historical spend rate, BG/NBD + Gamma-Gamma). Written by retail-lake train; docs/MODELS.md.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/predictions/customer_clv/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
