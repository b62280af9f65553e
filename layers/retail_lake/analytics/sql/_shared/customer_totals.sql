-- customer_totals (shared intermediate): one row per customer over all of `sales` (read through
-- invoices): first and last invoice date, invoices (transactions) and revenue. customer_value,
-- customer_rfm, repeat_vs_onetime and cohort_retention read it; the runner renders it into their
-- statements as a CTE, and the DuckDB engine computes it once per run.
-- Where no invoice has several lines (multi_line_invoices is empty: the reference dataset), every
-- line is an invoice and customer_keys already holds these totals; otherwise they are grouped from
-- invoices, where each invoice counts once, for the customer it is attributed to.
-- Reads: customer_keys, multi_line_invoices, invoices.
SELECT
    customer_key,
    customer_id,
    first_line_date AS first_invoice_date,
    last_line_date AS last_invoice_date,
    lines AS transactions,
    line_revenue AS revenue
FROM customer_keys
WHERE NOT EXISTS (SELECT 1 FROM multi_line_invoices)
UNION ALL
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
    WHERE EXISTS (SELECT 1 FROM multi_line_invoices)
    GROUP BY customer_key
) t
LEFT JOIN customer_keys k ON k.customer_key = t.customer_key
