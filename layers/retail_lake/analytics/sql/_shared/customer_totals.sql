-- customer_totals (shared intermediate): one row per customer over all of `sales`: first and last
-- invoice date, distinct invoices and revenue. customer_value, repeat_vs_onetime and
-- cohort_retention read it; the runner renders it into their statements as a CTE, and the DuckDB
-- engine computes it once per run (one aggregation of `sales` by customer instead of three).
SELECT
    customer_id,
    MIN(invoice_date) AS first_invoice_date,
    MAX(invoice_date) AS last_invoice_date,
    COUNT(DISTINCT invoice_no) AS transactions,
    SUM(price) AS revenue
FROM sales
GROUP BY customer_id
