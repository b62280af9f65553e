-- cohort_retention: monthly acquisition cohorts. A customer's cohort is the month of their first
-- invoice; for every later month the lake has sales in, `customers` counts the cohort's customers
-- who bought that month (0 when none did), retention_rate = customers / cohort_size, and revenue
-- is what the cohort spent that month. Month 0 holds the whole cohort (retention_rate 1).
-- Reads: invoices and customer_totals (shared intermediates).
WITH invoice_months AS (
    -- Every invoice, in the month it was made and the cohort of the customer it is attributed to.
    SELECT
        i.customer_key,
        i.revenue,
        CAST(date_trunc('month', i.invoice_date) AS DATE) AS activity_month,
        CAST(date_trunc('month', t.first_invoice_date) AS DATE) AS cohort_month
    FROM invoices i
    JOIN customer_totals t ON t.customer_key = i.customer_key
),
firsts AS (
    SELECT customer_key, CAST(date_trunc('month', first_invoice_date) AS DATE) AS cohort_month
    FROM customer_totals
),
cohorts AS (
    SELECT cohort_month, COUNT(*) AS cohort_size
    FROM firsts
    GROUP BY cohort_month
),
activity AS (
    SELECT
        l.cohort_month,
        l.activity_month,
        COUNT(DISTINCT l.customer_key) AS customers,
        COUNT(*) AS transactions,
        SUM(l.revenue) AS revenue
    FROM invoice_months l
    GROUP BY l.cohort_month, l.activity_month
),
months AS (
    -- The months with sales (each has at least one activity row; invoices are read once).
    SELECT DISTINCT activity_month FROM activity
),
grid AS (
    SELECT c.cohort_month, c.cohort_size, m.activity_month
    FROM cohorts c
    JOIN months m ON m.activity_month >= c.cohort_month
)
SELECT
    g.cohort_month,
    (year(g.activity_month) - year(g.cohort_month)) * 12
        + month(g.activity_month) - month(g.cohort_month) AS months_since_first,
    g.activity_month,
    g.cohort_size,
    COALESCE(a.customers, 0) AS customers,
    CAST(COALESCE(a.customers, 0) AS DOUBLE) / g.cohort_size AS retention_rate,
    COALESCE(a.transactions, 0) AS transactions,
    COALESCE(a.revenue, 0) AS revenue,
    CAST(COALESCE(a.revenue, 0) AS DOUBLE) / g.cohort_size AS revenue_per_cohort_customer,
    CAST(SUM(COALESCE(a.revenue, 0)) OVER (
        PARTITION BY g.cohort_month ORDER BY g.activity_month
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS DOUBLE) / g.cohort_size AS cumulative_revenue_per_customer
FROM grid g
LEFT JOIN activity a ON a.cohort_month = g.cohort_month AND a.activity_month = g.activity_month
ORDER BY g.cohort_month, months_since_first
