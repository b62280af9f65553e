-- customer_value: every customer's spend, rank, top-10 % flag and spend tier.
-- Customers are ordered by revenue (highest first, customer_id breaks ties) so each group has a
-- fixed size: the top 10 % are the first ceil(10 % of customers); spend tiers are 'high' (first
-- ceil(20 %)), 'medium' (up to ceil(50 %)) and 'low' (the rest). tier_revenue_share is the share of
-- all revenue held by the customer's tier; cumulative_revenue_share is the Pareto curve.
-- Ties are broken by customer_key, which is numbered in customer_id order (customer_keys).
-- The ranking window sorts only (customer_key, revenue); the other columns join back by key
-- afterwards (sorting the whole rows, customer_id strings included, costs twice as much).
-- Reads: customer_totals (per-customer totals of sales, sql/_shared/).
WITH totals AS (
    SELECT COUNT(*) AS customers, SUM(revenue) AS total_revenue
    FROM customer_totals
),
ranked AS (
    SELECT
        c.customer_key,
        c.revenue,
        ROW_NUMBER() OVER (ORDER BY c.revenue DESC, c.customer_key) AS revenue_rank,
        SUM(c.revenue) OVER (
            ORDER BY c.revenue DESC, c.customer_key ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS cumulative_revenue
    FROM customer_totals c
),
tiered AS (
    SELECT
        r.*,
        t.customers,
        t.total_revenue,
        r.revenue_rank <= CEIL(CAST(t.customers AS DOUBLE) / 10) AS is_top_10_pct,
        CASE
            WHEN r.revenue_rank <= CEIL(CAST(t.customers * 2 AS DOUBLE) / 10) THEN 'high'
            WHEN r.revenue_rank <= CEIL(CAST(t.customers * 5 AS DOUBLE) / 10) THEN 'medium'
            ELSE 'low'
        END AS spend_tier
    FROM ranked r
    CROSS JOIN totals t
),
tiers AS (
    SELECT spend_tier, COUNT(*) AS tier_customers, SUM(revenue) AS tier_revenue
    FROM tiered
    GROUP BY spend_tier
)
SELECT
    c.customer_id,
    t.revenue,
    c.transactions,
    CAST(t.revenue AS DOUBLE) / c.transactions AS avg_transaction_value,
    CAST(t.revenue AS DOUBLE) / NULLIF(t.total_revenue, 0) AS revenue_share,
    t.revenue_rank,
    CAST(t.revenue_rank AS DOUBLE) / t.customers AS revenue_percentile,
    CAST(t.cumulative_revenue AS DOUBLE) / NULLIF(t.total_revenue, 0) AS cumulative_revenue_share,
    t.is_top_10_pct,
    t.spend_tier,
    g.tier_customers,
    CAST(g.tier_revenue AS DOUBLE) / NULLIF(t.total_revenue, 0) AS tier_revenue_share,
    c.first_invoice_date,
    c.last_invoice_date
FROM tiered t
JOIN customer_totals c ON c.customer_key = t.customer_key
JOIN tiers g ON g.spend_tier = t.spend_tier
ORDER BY t.revenue_rank
