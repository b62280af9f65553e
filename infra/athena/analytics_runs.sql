-- Generated from lake_schemas/analytics_runs.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `analytics_runs` (
  `run_id` string COMMENT 'Run id (UTC start time + random suffix; sorts by time).',
  `table_name` string COMMENT 'Analytics table computed.',
  `status` string COMMENT '\'succeeded\', \'failed\' or \'skipped\' (a table it depends on failed).',
  `rows` bigint COMMENT 'Rows written (NULL when not written).',
  `duration_ms` bigint COMMENT 'Time to compute and write the table.',
  `started_at` timestamp COMMENT 'When the table started (UTC).',
  `finished_at` timestamp COMMENT 'When the table finished (UTC).',
  `engine` string COMMENT '\'duckdb\' (or \'athena\' on the scale-out path).',
  `version_key` string COMMENT 'Key of the Parquet file written (analytics/<table>/run=<run_id>/part-0.parquet).',
  `reference_date` date COMMENT 'Reference date used for recency (the lake\'s latest invoice date unless overridden).',
  `source_files` bigint COMMENT 'Curated sales files the run read (after compaction).',
  `source_snapshot` string COMMENT 'sha256 (first 16 hex) of the curated sales keys and etags the run read.',
  `source_rows` bigint COMMENT 'Rows in the `sales` view (invoice lines after the business key).',
  `source_max_uploaded_at` timestamp COMMENT 'Latest uploaded_at in the curated sales read.',
  `message` string COMMENT 'The error for a failed table, else NULL.'
)
COMMENT 'One row per table per analytics run: what was computed from which curated files, how many rows, how long it took and whether it succeeded. Appended (one file per run) under analytics/analytics_runs/; `table_name` rather than `table`, which is a reserved word in SQL.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/analytics_runs/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
