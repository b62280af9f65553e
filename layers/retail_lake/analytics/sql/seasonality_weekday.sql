-- seasonality_weekday: the day-of-week pattern (1 = Monday ... 7 = Sunday, ISO).
-- Weekdays occur a different number of times in a date range, so the index compares average
-- revenue per trading day: seasonality_index = the weekday's revenue per day with sales / the
-- revenue per day with sales over all days. is_peak / is_low flag the best and worst weekday.
-- Reads: daily_sales (shared intermediate: one row per day with sales).
WITH daily AS (
    SELECT invoice_date, isodow(invoice_date) AS day_of_week, revenue, transactions, units
    FROM daily_sales
),
per_weekday AS (
    SELECT
        day_of_week,
        COUNT(*) AS days_with_sales,
        SUM(revenue) AS revenue,
        SUM(transactions) AS transactions,
        SUM(units) AS units
    FROM daily
    GROUP BY day_of_week
),
stats AS (
    SELECT
        w.*,
        CAST(w.revenue AS DOUBLE) / w.days_with_sales AS avg_daily_revenue,
        CAST(SUM(w.revenue) OVER () AS DOUBLE) / SUM(w.days_with_sales) OVER () AS overall_daily_revenue,
        CAST(w.revenue AS DOUBLE) / NULLIF(SUM(w.revenue) OVER (), 0) AS revenue_share
    FROM per_weekday w
)
SELECT
    day_of_week,
    CASE day_of_week
        WHEN 1 THEN 'Monday' WHEN 2 THEN 'Tuesday' WHEN 3 THEN 'Wednesday' WHEN 4 THEN 'Thursday'
        WHEN 5 THEN 'Friday' WHEN 6 THEN 'Saturday' ELSE 'Sunday'
    END AS day_name,
    revenue,
    transactions,
    units,
    days_with_sales,
    avg_daily_revenue,
    CAST(transactions AS DOUBLE) / days_with_sales AS avg_daily_transactions,
    revenue_share,
    avg_daily_revenue / NULLIF(overall_daily_revenue, 0) AS seasonality_index,
    avg_daily_revenue = MAX(avg_daily_revenue) OVER () AS is_peak,
    avg_daily_revenue = MIN(avg_daily_revenue) OVER () AS is_low
FROM stats
ORDER BY day_of_week
