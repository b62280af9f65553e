-- daily_sales (shared intermediate): ONE ROW PER DAY with sales (a few hundred rows) and its
-- additive measures: revenue, transactions (invoices) and units. The seasonality tables roll these
-- days up into months, quarters and weekdays, and count the days with sales, instead of each
-- grouping every invoice again. units is a BIGINT (the SUM of INTEGER quantities is a HUGEINT,
-- which Parquet cannot hold as an integer).
-- Reads: invoices.
SELECT
    invoice_date,
    SUM(revenue) AS revenue,
    COUNT(*) AS transactions,
    CAST(SUM(units) AS BIGINT) AS units
FROM invoices
GROUP BY invoice_date
