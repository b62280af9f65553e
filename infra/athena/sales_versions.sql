-- Generated from lake_schemas/sales.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `sales_versions` (
  `invoice_no` string COMMENT 'Business key. One invoice is one transaction; it may have several lines.',
  `customer_id` string COMMENT 'Customer identifier as sent by the store system (trimmed).',
  `gender` string COMMENT '\'Female\' or \'Male\'; other values are kept as NULL with the flag unknown_gender.',
  `age` int COMMENT 'Age in years (0-120); anything else is kept as NULL with the flag bad_age.',
  `category` string COMMENT 'Canonical category (Clothing, Shoes, Books, Cosmetics, Food & Beverage, Toys, Technology, Souvenir). Unknown values are kept as sent (trimmed) with the flag unknown_category; a missing value becomes \'Unknown\'.',
  `quantity` int COMMENT 'Units on the line; must be a whole number > 0 that fits the int type (at most 2,147,483,647): a larger one is quarantined, never stored as NULL.',
  `price` double COMMENT 'Line total charged (unit price x quantity, after any discount). 0 is valid (free items), a negative value is not. When a file carries only unit_price, price = unit_price x quantity. Money bounds (price, unit_price, discount, unit_cost): 0 <= value <= 1...',
  `unit_price` double COMMENT 'Price of one unit (price / quantity when the file carries only the line total).',
  `payment_method` string COMMENT 'Cash, Credit Card or Debit Card; other values are kept as sent with the flag unknown_payment_method.',
  `invoice_date` date COMMENT 'Invoice date. Accepted as day/month/year (5/8/2022, the reference format), ISO (2022-08-05), with an English month name (5-Aug-2022, 5 August 2022, Aug 5, 2022), or month/day/year when the file\'s dates read that way; an optional time is dropped. The or...',
  `shopping_mall` string COMMENT 'Store (mall) name, trimmed; a missing value becomes \'Unknown\' with the flag missing_store.',
  `discount` double COMMENT 'Discount given on the line, in currency (price is after it); 0 <= discount <= 1,000,000,000.',
  `unit_cost` double COMMENT 'Cost of one unit to the retailer; 0 <= unit_cost <= 1,000,000,000, and the line\'s cost (unit_cost x quantity, what profitability sums) at most 1,000,000,000 too.',
  `flags` string COMMENT 'Semicolon-separated data-quality flags of an accepted row (unknown_category, unknown_payment_method, unknown_gender, bad_age, missing_store, formula_like_text: a category, store or payment name that starts like a spreadsheet formula (= + - @)); NULL wh...',
  `source` string COMMENT 'Where the row came from (s3://bucket/key or the local path).',
  `upload_id` string COMMENT 'Deterministic id of the upload (hash of bucket/key#etag, or of the content for local files).',
  `uploaded_at` timestamp COMMENT 'The upload\'s own time in UTC (S3 event time / LastModified, or the local ingest moment).',
  `row_number` bigint COMMENT '1-based data row in the uploaded file (the header is row 0).'
)
COMMENT 'One row per invoice line, cleaned and normalised. Physically every upload appends its own files (table `sales_versions`, partitioned by invoice year and month); `sales` is the view that keeps, per invoice_no, the rows of the latest upload (by uploaded_at, then source, then upload_id).'
PARTITIONED BY (
  `year` int COMMENT 'Year of invoice_date (partition key).',
  `month` int COMMENT 'Month of invoice_date, 1-12 (partition key; folders are zero-padded, month=08).'
)
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/curated/sales/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.year.type' = 'integer',
  'projection.year.range' = '2015,2035',
  'projection.month.type' = 'integer',
  'projection.month.range' = '1,12',
  'projection.month.digits' = '2',
  'storage.location.template' = 's3://${LAKE_BUCKET}/curated/sales/year=${year}/month=${month}'
);
