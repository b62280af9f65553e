-- customer_totals (shared intermediate): one row per customer over all of `sales`: first and last
-- invoice date, invoices (transactions) and revenue, grouped from `invoices`, where each invoice
-- counts once, for the customer it is attributed to. customer_value, customer_rfm,
-- repeat_vs_onetime and cohort_retention read it. (Where no invoice has several lines, the DuckDB
-- engine takes these totals from customer_keys instead: the one_line_customer_totals rewrite.)
-- Reads: invoices, customer_keys.
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
