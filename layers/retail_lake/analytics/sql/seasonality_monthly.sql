-- seasonality_monthly: one row per calendar month that has sales.
-- seasonality_index = the month's revenue / the mean monthly revenue over all months present
-- (1.0 = an average month); month_of_year_index does the same for the calendar month averaged
-- over years. is_peak / is_low flag the month(s) with the highest / lowest revenue. Growth is
-- NULL when the earlier month has no sales. Months without sales have no row; a partly covered
-- first or last month counts as it is (days_with_sales shows it).
-- Reads: daily_sales (shared intermediate: one row per day with sales) and invoices (one row per
-- invoice, for the distinct customers of each period).
WITH monthly_customers AS (
    SELECT CAST(date_trunc('month', invoice_date) AS DATE) AS "month", COUNT(DISTINCT customer_key) AS customers
    FROM invoices
    GROUP BY CAST(date_trunc('month', invoice_date) AS DATE)
),
monthly AS (
    SELECT
        d."month",
        year(d."month") * 12 + month(d."month") - 1 AS month_index,
        d.revenue,
        d.transactions,
        c.customers,
        d.units,
        d.days_with_sales
    FROM (
        SELECT
            CAST(date_trunc('month', invoice_date) AS DATE) AS "month",
            SUM(revenue) AS revenue,
            SUM(transactions) AS transactions,
            SUM(units) AS units,
            COUNT(*) AS days_with_sales
        FROM daily_sales
        GROUP BY CAST(date_trunc('month', invoice_date) AS DATE)
    ) d
    JOIN monthly_customers c ON c."month" = d."month"
),
stats AS (
    SELECT
        m.*,
        AVG(m.revenue) OVER () AS mean_revenue,
        AVG(CAST(m.transactions AS DOUBLE)) OVER () AS mean_transactions,
        AVG(m.revenue) OVER (PARTITION BY month(m."month")) AS month_of_year_mean_revenue,
        MAX(m.revenue) OVER () AS max_revenue,
        MIN(m.revenue) OVER () AS min_revenue
    FROM monthly m
)
SELECT
    s."month",
    year(s."month") AS "year",
    month(s."month") AS month_of_year,
    s.revenue,
    s.transactions,
    s.customers,
    s.units,
    s.days_with_sales,
    CAST(s.revenue AS DOUBLE) / s.transactions AS avg_transaction_value,
    s.revenue / NULLIF(s.mean_revenue, 0) AS seasonality_index,
    s.transactions / NULLIF(s.mean_transactions, 0) AS transactions_index,
    s.month_of_year_mean_revenue / NULLIF(s.mean_revenue, 0) AS month_of_year_index,
    s.revenue = s.max_revenue AS is_peak,
    s.revenue = s.min_revenue AS is_low,
    s.revenue / NULLIF(prev_month.revenue, 0) - 1 AS revenue_mom_growth,
    s.revenue / NULLIF(prev_year.revenue, 0) - 1 AS revenue_yoy_growth,
    CAST(s.transactions AS DOUBLE) / NULLIF(prev_year.transactions, 0) - 1 AS transactions_yoy_growth
FROM stats s
LEFT JOIN monthly prev_month ON prev_month.month_index = s.month_index - 1
LEFT JOIN monthly prev_year ON prev_year.month_index = s.month_index - 12
ORDER BY s."month"
