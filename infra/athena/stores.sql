-- Generated from lake_schemas/stores.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `stores` (
  `shopping_mall` string COMMENT 'Mall name as it appears in sales.shopping_mall.',
  `district` string COMMENT 'District of Istanbul the mall is in.',
  `region` string COMMENT 'Region (European Side / Asian Side for the reference malls).',
  `opened_year` int COMMENT 'Year the mall opened (informational).',
  `source` string COMMENT 'The upload the row came from (NULL for the shipped defaults).',
  `upload_id` string COMMENT 'Deterministic id of that upload.',
  `uploaded_at` timestamp COMMENT 'The upload\'s own time; an older upload never replaces a newer one.'
)
COMMENT 'Reference table mapping each shopping mall to its district and region (side of the city). Defaults for the ten reference malls ship with the library; an upload to raw/stores/ replaces it (one file, curated/stores/stores.parquet; an older upload delivered late never replaces a newer one). Malls missing here land in the region \'Unassigned\' in the analytics tables.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/curated/stores/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
