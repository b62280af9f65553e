-- rfm_segments: every named segment (also those with no customers, so the list is stable) with its
-- customers, revenue, shares, average R/F/M and the description and action from the rules.
-- Reads: customer_rfm (computed earlier in the same run), rfm_segment_rules.
WITH per_segment AS (
    SELECT
        segment,
        COUNT(*) AS customers,
        SUM(monetary) AS revenue,
        AVG(CAST(recency_days AS DOUBLE)) AS avg_recency_days,
        AVG(CAST(frequency AS DOUBLE)) AS avg_frequency,
        AVG(monetary) AS avg_monetary
    FROM customer_rfm
    GROUP BY segment
),
totals AS (
    SELECT COUNT(*) AS customers, SUM(monetary) AS revenue FROM customer_rfm
)
SELECT
    g.segment,
    COALESCE(p.customers, 0) AS customers,
    CAST(COALESCE(p.customers, 0) AS DOUBLE) / NULLIF(t.customers, 0) AS customer_share,
    COALESCE(p.revenue, 0) AS revenue,
    CAST(COALESCE(p.revenue, 0) AS DOUBLE) / NULLIF(t.revenue, 0) AS revenue_share,
    p.avg_recency_days,
    p.avg_frequency,
    p.avg_monetary,
    g.segment_order,
    g.r_min, g.r_max, g.fm_min, g.fm_max,
    g.description,
    g.action
FROM rfm_segment_rules g
CROSS JOIN totals t
LEFT JOIN per_segment p ON p.segment = g.segment
ORDER BY g.segment_order
