-- Generated from lake_schemas/quarantine_sales.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `quarantine_sales` (
  `invoice_no` string COMMENT 'As received.',
  `customer_id` string COMMENT 'As received.',
  `gender` string COMMENT 'As received.',
  `age` string COMMENT 'As received.',
  `category` string COMMENT 'As received.',
  `quantity` string COMMENT 'As received.',
  `price` string COMMENT 'As received.',
  `unit_price` string COMMENT 'As received.',
  `payment_method` string COMMENT 'As received.',
  `invoice_date` string COMMENT 'As received.',
  `shopping_mall` string COMMENT 'As received.',
  `discount` string COMMENT 'As received.',
  `unit_cost` string COMMENT 'As received.',
  `raw_line` string COMMENT 'The raw text line, when the row could not be split into fields (bad quoting, wrong column count, too long, invalid bytes); bytes that are not text are kept as \\xNN escapes, never replaced by \'?\'.',
  `rule` string COMMENT 'Machine-readable name of the first rule the row broke (missing_invoice_no, bad_date, ...).',
  `reason` string COMMENT 'Human-readable reason naming the file, row and rule.',
  `source` string COMMENT 'Where the row came from.',
  `upload_id` string COMMENT 'Deterministic id of the upload.',
  `uploaded_at` timestamp COMMENT 'The upload\'s own time (UTC).',
  `row_number` bigint COMMENT '1-based data row in the uploaded file (the header is row 0).'
)
COMMENT 'Every row that was not accepted, with its fields exactly as received (text) under the sales column names, the rule it broke and where it came from, so a fixed file can be re-uploaded and nothing is ever lost. One Parquet file per upload. A text cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return, and not a plain number like -2) is stored with a leading apostrophe (\'=HYPERLINK(...)), so an export opened in Excel shows it as text.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/quarantine/sales/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
