-- Generated from lake_schemas/model_registry.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `model_registry` (
  `model` string COMMENT '\'segmentation\', \'clv\' or \'forecast\'.',
  `version` string COMMENT 'Version id (the training run id: UTC time + random suffix; sorts by time).',
  `status` string COMMENT '\'current\', \'rejected\' or \'retired\'.',
  `metric_name` string COMMENT 'Gate metric: silhouette (higher is better), rmse or wape (lower is better).',
  `metric_value` double COMMENT 'The candidate\'s metric on validation (NULL when it could not be trained or validated).',
  `baseline_name` string COMMENT 'The best baseline on the same validation (rfm_quantiles, historical_rate, bgnbd_gg, mbgnbd_gg, seasonal_naive).',
  `baseline_value` double COMMENT 'The baseline\'s metric on the same validation.',
  `trained_at` timestamp COMMENT 'When the version was trained (UTC).',
  `reason` string COMMENT 'Why it was promoted, rejected or retired.',
  `candidate` string COMMENT 'What the version proposed: kmeans, xgboost or blend.',
  `compared_with` string COMMENT 'The version that was current when this one was gated.',
  `compared_value` double COMMENT 'That version\'s recorded metric.',
  `serving` string COMMENT 'model_version of the predictions served after this version\'s run.',
  `drift_max_psi` double COMMENT 'Largest population stability index of a feature against the current version\'s snapshot.',
  `drift_feature` string COMMENT 'The feature with that PSI.',
  `drift_against` string COMMENT 'The version the drift was measured against.',
  `snapshot_id` string COMMENT 'sha256 (first 16 hex) of the curated sales files the version was trained on.',
  `code_version` string COMMENT 'Package version + hash of the training code.',
  `rows_trained` bigint COMMENT 'Training rows (customers x windows, or series x weeks).',
  `duration_ms` bigint COMMENT 'Training time of the model.',
  `artefacts` string COMMENT 'Lake prefix of the version\'s files (models/<model>/<version>/).'
)
COMMENT 'Every trained model version (segmentation, clv, forecast): its validation metric against its baseline, the promotion gate\'s decision and reason, feature drift (PSI) against the version that was current, and where its artefacts live (models/<model>/<version>/). status: \'current\' (serving), \'rejected\' (failed the gate; the current version or the baseline kept serving) or \'retired\' (replaced by a later promoted version). Rebuilt from the artefacts on every training run.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/predictions/model_registry/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
