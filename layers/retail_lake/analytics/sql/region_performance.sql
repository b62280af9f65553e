-- region_performance: one row per region (side of the city); unknown malls form 'Unassigned'.
-- Customers and transactions are counted distinct within the region, so a customer who shops in
-- two regions counts in both (region customers do not sum to the lake's customers).
-- Reads: invoices (shared intermediate: one row per invoice, with its store), store_map (one row
-- per store of `stores`).
WITH store_revenue AS (
    SELECT COALESCE(m.region, 'Unassigned') AS region, i.store AS shopping_mall, SUM(i.revenue) AS revenue
    FROM invoices i
    LEFT JOIN store_map m ON m.shopping_mall = i.store
    GROUP BY COALESCE(m.region, 'Unassigned'), i.store
),
top_store AS (
    SELECT region, MIN(shopping_mall) AS top_store
    FROM (
        SELECT region, shopping_mall,
               RANK() OVER (PARTITION BY region ORDER BY revenue DESC) AS store_rank
        FROM store_revenue
    ) ranked
    WHERE store_rank = 1
    GROUP BY region
),
stores_per_region AS (
    SELECT region, COUNT(shopping_mall) AS stores
    FROM store_revenue
    GROUP BY region
),
per_region AS (
    -- (the join repeated rather than shared through a CTE, which an engine may buffer: 10M rows)
    SELECT
        COALESCE(m.region, 'Unassigned') AS region,
        SUM(i.revenue) AS revenue,
        COUNT(*) AS transactions,
        COUNT(DISTINCT i.customer_key) AS customers,
        SUM(i.units) AS units
    FROM invoices i
    LEFT JOIN store_map m ON m.shopping_mall = i.store
    GROUP BY COALESCE(m.region, 'Unassigned')
)
SELECT
    p.region,
    n.stores,
    p.revenue,
    p.transactions,
    p.customers,
    p.units,
    CAST(p.revenue AS DOUBLE) / p.transactions AS avg_transaction_value,
    CAST(p.revenue AS DOUBLE) / p.customers AS revenue_per_customer,
    CAST(p.revenue AS DOUBLE) / n.stores AS revenue_per_store,
    CAST(p.revenue AS DOUBLE) / NULLIF(SUM(p.revenue) OVER (), 0) AS revenue_share,
    RANK() OVER (ORDER BY p.revenue DESC) AS "rank",
    t.top_store
FROM per_region p
JOIN stores_per_region n ON n.region = p.region
LEFT JOIN top_store t ON t.region = p.region
ORDER BY "rank", p.region
