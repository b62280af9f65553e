-- category_insights: per category its revenue, units, margin (from profitability), the RFM segment
-- that brings it the most revenue, and its age band and gender mix (shares of the category's
-- revenue). Ties for the top segment / age band go to the alphabetically first name.
-- transactions = distinct invoices, counted exactly without a distinct count over every line: the
-- lines of one-line invoices plus COUNT(DISTINCT) over the lines of multi-line invoices only.
-- customers = distinct integer customer keys; a customer's segment is joined on that key too
-- (customer_rfm's customer_id mapped through customer_keys once per customer, not once per line).
-- Reads: sale_lines and customer_keys (shared intermediates), age_bands, rfm_segment_rules,
-- customer_rfm and profitability (computed earlier in the same run).
WITH per_category AS (
    SELECT
        s.category,
        SUM(s.price) AS revenue,
        SUM(CASE WHEN s.multi_invoice_no IS NULL THEN 1 ELSE 0 END) AS one_line_invoices,
        SUM(s.quantity) AS units,
        COUNT(DISTINCT s.customer_key) AS customers,
        COUNT(*) AS lines,
        AVG(CAST(s.age AS DOUBLE)) AS avg_age,
        SUM(CASE WHEN s.gender = 'Female' THEN s.price ELSE 0 END) AS female_revenue,
        SUM(CASE WHEN s.gender = 'Male' THEN s.price ELSE 0 END) AS male_revenue
    FROM sale_lines s
    GROUP BY s.category
),
multi_line_counts AS (
    -- Invoices with several lines, counted distinct per category; reads only their lines.
    SELECT category, COUNT(DISTINCT multi_invoice_no) AS multi_line_invoices
    FROM sale_lines
    WHERE multi_invoice_no IS NOT NULL
    GROUP BY category
),
customer_segments AS (
    -- Each customer's segment as its position in the rules (NULL: 'Unclassified'), so the join of
    -- every line carries a small integer rather than a name.
    SELECT k.customer_key, g.segment_order
    FROM customer_rfm r
    JOIN customer_keys k ON k.customer_id = r.customer_id
    LEFT JOIN rfm_segment_rules g ON g.segment = r.segment
),
segment_revenue AS (
    SELECT s.category, COALESCE(g.segment, 'Unclassified') AS segment, SUM(s.revenue) AS revenue
    FROM (
        SELECT l.category, c.segment_order, SUM(l.price) AS revenue
        FROM sale_lines l
        JOIN customer_segments c ON c.customer_key = l.customer_key
        GROUP BY l.category, c.segment_order
    ) s
    LEFT JOIN rfm_segment_rules g ON g.segment_order = s.segment_order
    GROUP BY s.category, COALESCE(g.segment, 'Unclassified')
),
top_segment AS (
    SELECT category, MIN(segment) AS top_segment, MIN(revenue) AS top_segment_revenue
    FROM (
        SELECT category, segment, revenue,
               RANK() OVER (PARTITION BY category ORDER BY revenue DESC) AS segment_rank
        FROM segment_revenue
    ) ranked
    WHERE segment_rank = 1
    GROUP BY category
),
age_map AS (
    -- The band of each age present: a range join on the few distinct ages, then an equi-join.
    -- One row per age (grouped), so a statement that reads no age_band skips the join entirely.
    SELECT a.age, MIN(b.age_band) AS age_band
    FROM (SELECT DISTINCT age FROM sale_lines WHERE age IS NOT NULL) a
    JOIN age_bands b ON a.age BETWEEN b.min_age AND b.max_age
    GROUP BY a.age
),
age_revenue AS (
    SELECT s.category, COALESCE(b.age_band, 'Unknown') AS age_band, SUM(s.price) AS revenue
    FROM sale_lines s
    LEFT JOIN age_map b ON b.age = s.age
    GROUP BY s.category, COALESCE(b.age_band, 'Unknown')
),
top_age AS (
    SELECT category, MIN(age_band) AS top_age_band, MIN(revenue) AS top_age_band_revenue
    FROM (
        SELECT category, age_band, revenue,
               RANK() OVER (PARTITION BY category ORDER BY revenue DESC) AS band_rank
        FROM age_revenue
    ) ranked
    WHERE band_rank = 1
    GROUP BY category
),
margins AS (
    SELECT category, margin, margin_pct, cost_basis
    FROM profitability
    WHERE breakdown = 'category'
)
SELECT
    c.category,
    c.revenue,
    CAST(c.revenue AS DOUBLE) / NULLIF(SUM(c.revenue) OVER (), 0) AS revenue_share,
    RANK() OVER (ORDER BY c.revenue DESC) AS "rank",
    c.one_line_invoices + COALESCE(ml.multi_line_invoices, 0) AS transactions,
    c.units,
    c.customers,
    CAST(c.revenue AS DOUBLE) / NULLIF(c.units, 0) AS avg_unit_price,
    CAST(c.units AS DOUBLE) / c.lines AS avg_units_per_line,
    CAST(c.revenue AS DOUBLE) / (c.one_line_invoices + COALESCE(ml.multi_line_invoices, 0)) AS avg_transaction_value,
    m.margin,
    m.margin_pct,
    m.cost_basis,
    ts.top_segment,
    ts.top_segment_revenue / NULLIF(c.revenue, 0) AS top_segment_revenue_share,
    ta.top_age_band,
    ta.top_age_band_revenue / NULLIF(c.revenue, 0) AS top_age_band_revenue_share,
    c.avg_age,
    c.female_revenue / NULLIF(c.revenue, 0) AS female_revenue_share,
    c.male_revenue / NULLIF(c.revenue, 0) AS male_revenue_share
FROM per_category c
LEFT JOIN multi_line_counts ml ON ml.category IS NOT DISTINCT FROM c.category
LEFT JOIN margins m ON m.category = c.category
LEFT JOIN top_segment ts ON ts.category = c.category
LEFT JOIN top_age ta ON ta.category = c.category
ORDER BY "rank", c.category
