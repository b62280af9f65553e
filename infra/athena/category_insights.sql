-- Generated from lake_schemas/category_insights.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `category_insights` (
  `category` string COMMENT 'Product category.',
  `revenue` double COMMENT 'Sum of line totals.',
  `revenue_share` double COMMENT 'Share of all revenue (0-1).',
  `rank` int COMMENT 'Rank by revenue, 1 = highest.',
  `transactions` bigint COMMENT 'Distinct invoices with a line in the category.',
  `units` bigint COMMENT 'Sum of quantity.',
  `customers` bigint COMMENT 'Distinct customers.',
  `avg_unit_price` double COMMENT 'revenue / units.',
  `avg_units_per_line` double COMMENT 'units / invoice lines.',
  `avg_transaction_value` double COMMENT 'Category revenue / its transactions.',
  `margin` double COMMENT 'revenue - cost (profitability, breakdown \'category\').',
  `margin_pct` double COMMENT 'margin / revenue.',
  `cost_basis` string COMMENT '\'actual\' or \'assumed\' (see profitability).',
  `top_segment` string COMMENT 'RFM segment with the most revenue in the category.',
  `top_segment_revenue_share` double COMMENT 'That segment\'s share of the category\'s revenue.',
  `top_age_band` string COMMENT 'Age band with the most revenue in the category.',
  `top_age_band_revenue_share` double COMMENT 'Its share of the category\'s revenue.',
  `avg_age` double COMMENT 'Mean age over the category\'s lines with a known age.',
  `female_revenue_share` double COMMENT 'Share of the category\'s revenue from lines with gender Female.',
  `male_revenue_share` double COMMENT 'Share from lines with gender Male (the rest is unknown).'
)
COMMENT 'Per category: revenue, units, margin (from profitability), the RFM segment bringing the most revenue, and the age band and gender mix (shares of the category\'s revenue). Written by analytics/sql/category_insights.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/category_insights/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
