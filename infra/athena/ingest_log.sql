-- Generated from lake_schemas/ingest_log.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `ingest_log` (
  `upload_id` string COMMENT 'Deterministic id of the upload (file name of every output).',
  `source` string COMMENT 's3://bucket/key or the local path.',
  `etag` string COMMENT 'The S3 ETag of the object (NULL for local files).',
  `content_hash` string COMMENT 'sha256 of the bytes (local files; S3 objects when computed).',
  `file_format` string COMMENT 'csv, csv.gz, parquet or NULL when unreadable.',
  `rows_in` bigint COMMENT 'Data rows in the file (excluding the header).',
  `rows_accepted` bigint COMMENT 'Rows written to curated/sales.',
  `rows_quarantined` bigint COMMENT 'Rows written to quarantine/sales.',
  `rows_flagged` bigint COMMENT 'Accepted rows that carry a data-quality flag.',
  `partitions_written` int COMMENT 'Number of year/month partitions that received a file.',
  `status` string COMMENT '\'succeeded\' (processed, possibly with quarantined rows), \'rejected\' (the file can never be used: no header, binary, missing columns, over a limit; not tried again unless forced) or \'failed\' (a retry may fix it: out of memory, disk, storage; the next in...',
  `message` string COMMENT 'One-line summary or the reason the file was rejected.',
  `uploaded_at` timestamp COMMENT 'The upload\'s own time (UTC).',
  `started_at` timestamp COMMENT 'When processing started (UTC).',
  `duration_ms` bigint COMMENT 'Processing time in milliseconds.',
  `version_id` string COMMENT 'The S3 object\'s versionId, part of the upload\'s identity on a versioned bucket (NULL locally).',
  `sequencer` string COMMENT 'The S3 event\'s sequencer (orders writes to one key), part of the identity when the bucket is not versioned.',
  `encoding` string COMMENT 'Text encoding the file was read in (utf-8, cp1254, cp1252, latin-1, utf-16), detected or given with --encoding.',
  `date_order` string COMMENT 'day/month/year or month/day/year as decided for the file, or \'ambiguous\' when its dates contradict each other.',
  `number_format` string COMMENT '\'decimal point\' (1,234.50) or \'decimal comma\' (1.234,50), decided for the file from its values.',
  `invoices_replaced` bigint COMMENT 'Invoices of this upload that replace an earlier upload\'s version (counted in the partitions it writes).'
)
COMMENT 'One row per upload (bucket/key#etag, or content hash for local files): counts, status and timing. rows_in = rows_accepted + rows_quarantined always holds. A redelivery of the same upload rewrites its own row instead of adding one.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/audit/ingest_log/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
