-- seasonality_quarterly: one row per calendar quarter that has sales, with the same measures as
-- seasonality_monthly (index = quarter revenue / mean quarterly revenue; peak/low flags; growth
-- against the previous quarter and the same quarter a year earlier).
-- Reads: daily_sales (shared intermediate: one row per day with sales) and invoices (one row per
-- invoice, for the distinct customers of each period).
WITH quarterly_customers AS (
    SELECT CAST(date_trunc('quarter', invoice_date) AS DATE) AS quarter_start,
           COUNT(DISTINCT customer_key) AS customers
    FROM invoices
    GROUP BY CAST(date_trunc('quarter', invoice_date) AS DATE)
),
quarterly AS (
    SELECT
        d.quarter_start,
        year(d.quarter_start) AS "year",
        quarter(d.quarter_start) AS "quarter",
        year(d.quarter_start) * 4 + quarter(d.quarter_start) - 1 AS quarter_index,
        d.revenue,
        d.transactions,
        c.customers,
        d.units,
        d.days_with_sales
    FROM (
        SELECT
            CAST(date_trunc('quarter', invoice_date) AS DATE) AS quarter_start,
            SUM(revenue) AS revenue,
            SUM(transactions) AS transactions,
            SUM(units) AS units,
            COUNT(*) AS days_with_sales
        FROM daily_sales
        GROUP BY CAST(date_trunc('quarter', invoice_date) AS DATE)
    ) d
    JOIN quarterly_customers c ON c.quarter_start = d.quarter_start
),
stats AS (
    SELECT
        q.*,
        AVG(q.revenue) OVER () AS mean_revenue,
        AVG(CAST(q.transactions AS DOUBLE)) OVER () AS mean_transactions,
        AVG(q.revenue) OVER (PARTITION BY q."quarter") AS quarter_of_year_mean_revenue,
        MAX(q.revenue) OVER () AS max_revenue,
        MIN(q.revenue) OVER () AS min_revenue
    FROM quarterly q
)
SELECT
    s.quarter_start,
    s."year",
    s."quarter",
    CAST(s."year" AS VARCHAR) || '-Q' || CAST(s."quarter" AS VARCHAR) AS quarter_label,
    s.revenue,
    s.transactions,
    s.customers,
    s.units,
    s.days_with_sales,
    CAST(s.revenue AS DOUBLE) / s.transactions AS avg_transaction_value,
    s.revenue / NULLIF(s.mean_revenue, 0) AS seasonality_index,
    s.transactions / NULLIF(s.mean_transactions, 0) AS transactions_index,
    s.quarter_of_year_mean_revenue / NULLIF(s.mean_revenue, 0) AS quarter_of_year_index,
    s.revenue = s.max_revenue AS is_peak,
    s.revenue = s.min_revenue AS is_low,
    s.revenue / NULLIF(prev_quarter.revenue, 0) - 1 AS revenue_qoq_growth,
    s.revenue / NULLIF(prev_year.revenue, 0) - 1 AS revenue_yoy_growth,
    CAST(s.transactions AS DOUBLE) / NULLIF(prev_year.transactions, 0) - 1 AS transactions_yoy_growth
FROM stats s
LEFT JOIN quarterly prev_quarter ON prev_quarter.quarter_index = s.quarter_index - 1
LEFT JOIN quarterly prev_year ON prev_year.quarter_index = s.quarter_index - 4
ORDER BY s."year", s."quarter"
