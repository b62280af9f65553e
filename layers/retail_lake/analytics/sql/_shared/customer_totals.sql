-- customer_totals (shared intermediate): one row per customer over all of `sales` (read through
-- invoices): first and last invoice date, invoices (transactions) and revenue. customer_value,
-- repeat_vs_onetime and cohort_retention read it; the runner renders it into their statements as a
-- CTE, and the DuckDB engine computes it once per run.
-- Reads: invoices.
SELECT
    customer_key,
    MIN(customer_id) AS customer_id,
    MIN(invoice_date) AS first_invoice_date,
    MAX(invoice_date) AS last_invoice_date,
    COUNT(*) AS transactions,
    SUM(revenue) AS revenue
FROM invoices
GROUP BY customer_key
