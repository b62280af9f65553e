-- Generated from lake_schemas/sales_forecast.yaml by `python -m retail_lake.catalog write-ddl`.
-- Do not edit: change the YAML and regenerate. Replace ${LAKE_BUCKET} with the lake bucket.
CREATE EXTERNAL TABLE IF NOT EXISTS `sales_forecast` (
  `store` string COMMENT 'Store (shopping mall) name, or \'ALL\' for the total.',
  `period_start` date COMMENT 'Monday of the forecast week.',
  `forecast` double COMMENT 'Forecast revenue (sum of line totals) of the week; never negative.',
  `lower` double COMMENT 'Lower bound of the prediction interval (interval_level); NULL when the backtest was too short to calibrate intervals.',
  `upper` double COMMENT 'Upper bound of the prediction interval; NULL when lower is.',
  `model_version` string COMMENT 'The model version that produced the row (models/forecast/<version>/), or baseline:<name>@<version>.',
  `horizon_weeks` int COMMENT 'Weeks ahead of the last complete week (1 = the next week).',
  `interval_level` double COMMENT 'Nominal coverage of [lower, upper] (e.g. 0.8).',
  `method` string COMMENT 'xgboost, seasonal_naive (52 weeks back) or mean_last_4_weeks.'
)
COMMENT 'Weekly revenue forecast per store and in total (store \'ALL\') for the next weeks after the lake\'s last complete week (weeks start on Monday; a partial last week is forecast whole). XGBoost on calendar and lag features of the detrended series; lower/upper bound a prediction interval from conformal backtest residuals (NULL when the backtest had too few windows to calibrate one). Never negative, lower <= forecast <= upper. Written by retail-lake train; docs/MODELS.md.'
STORED AS PARQUET
LOCATION 's3://${LAKE_BUCKET}/predictions/sales_forecast/'
TBLPROPERTIES (
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD'
);
