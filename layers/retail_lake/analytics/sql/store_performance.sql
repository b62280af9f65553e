-- store_performance: one row per store (shopping mall) with its district and region.
-- Malls missing from `stores` keep their sales and land in the region 'Unassigned'.
-- transactions = invoices, customers = distinct customers (integer keys), from `invoices`.
-- Reads: invoices (shared intermediate: one row per invoice of sales), store_map (one row per store
-- of `stores`).
WITH per_store AS (
    SELECT
        i.store,
        SUM(i.revenue) AS revenue,
        COUNT(*) AS transactions,
        COUNT(DISTINCT i.customer_key) AS customers,
        SUM(i.units) AS units,
        MIN(i.invoice_date) AS first_invoice_date,
        MAX(i.invoice_date) AS last_invoice_date
    FROM invoices i
    GROUP BY i.store
)
SELECT
    p.store,
    m.district,
    COALESCE(m.region, 'Unassigned') AS region,
    p.revenue,
    p.transactions,
    p.customers,
    p.units,
    CAST(p.revenue AS DOUBLE) / p.transactions AS avg_transaction_value,
    CAST(p.revenue AS DOUBLE) / p.customers AS revenue_per_customer,
    CAST(p.units AS DOUBLE) / p.transactions AS avg_units_per_transaction,
    CAST(p.revenue AS DOUBLE) / NULLIF(SUM(p.revenue) OVER (), 0) AS revenue_share,
    RANK() OVER (ORDER BY p.revenue DESC) AS "rank",
    RANK() OVER (PARTITION BY COALESCE(m.region, 'Unassigned') ORDER BY p.revenue DESC) AS region_rank,
    p.first_invoice_date,
    p.last_invoice_date
FROM per_store p
LEFT JOIN store_map m ON m.shopping_mall = p.store
ORDER BY "rank", p.store
