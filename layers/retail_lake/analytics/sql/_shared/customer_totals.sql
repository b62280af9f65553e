-- customer_totals (shared intermediate): one row per customer over all of `sales` (read through
-- invoices): first and last invoice date, invoices (transactions) and revenue. customer_value,
-- repeat_vs_onetime and cohort_retention read it; the runner renders it into their statements as a
-- CTE, and the DuckDB engine computes it once per run.
-- Reads: invoices, customer_keys (customer_id of the key).
SELECT
    t.customer_key,
    k.customer_id,
    t.first_invoice_date,
    t.last_invoice_date,
    t.transactions,
    t.revenue
FROM (
    SELECT
        customer_key,
        MIN(invoice_date) AS first_invoice_date,
        MAX(invoice_date) AS last_invoice_date,
        COUNT(*) AS transactions,
        SUM(revenue) AS revenue
    FROM invoices
    GROUP BY customer_key
) t
LEFT JOIN customer_keys k ON k.customer_key = t.customer_key
