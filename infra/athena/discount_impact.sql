-- Generated from lake_schemas/discount_impact.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `discount_impact` (
  `category` string COMMENT 'Category, or \'All\'.',
  `discount_band` string COMMENT '\'none\', \'0-10%\', \'10-20%\', \'20-30%\' or \'30%+\'.',
  `band_order` int COMMENT 'Sort order of the band (0 = none).',
  `lines` bigint COMMENT 'Invoice lines in the band.',
  `transactions` bigint COMMENT 'Distinct invoices with a line in the band.',
  `units` bigint COMMENT 'Sum of quantity.',
  `revenue` double COMMENT 'Net revenue.',
  `gross_revenue` double COMMENT 'revenue + discount.',
  `discount` double COMMENT 'Discount given.',
  `discount_rate` double COMMENT 'discount / gross_revenue.',
  `avg_units_per_line` double COMMENT 'units / lines.',
  `avg_line_revenue` double COMMENT 'revenue / lines.',
  `cost` double COMMENT 'Cost of goods.',
  `margin` double COMMENT 'revenue - cost.',
  `margin_pct` double COMMENT 'margin / revenue.',
  `revenue_share` double COMMENT 'Share of the category\'s revenue in this band (0-1).',
  `cost_basis` string COMMENT '\'actual\' when every line in the row had unit_cost, else \'assumed\' (reference/cost_assumptions.yaml).',
  `discount_basis` string COMMENT '\'actual\' when every line in the row had a discount value, else \'assumed\'.'
)
COMMENT 'Volume, revenue and margin by discount band (discount / gross line value: none, 0-10%, 10-20%, 20-30%, 30%+), per category and overall (category \'All\'). With assumed discounts (no discount column uploaded) a category has one band: the assumption, not an observed effect (discount_basis says so). Written by analytics/sql/discount_impact.sql.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/analytics/discount_impact/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
