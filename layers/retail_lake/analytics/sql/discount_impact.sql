-- discount_impact: how discount depth relates to volume, revenue and margin, per category and
-- overall ('All'). Lines fall into bands by discount rate = discount / gross line value:
-- 'none' (0), '0-10%', '10-20%', '20-30%', '30%+'. Discount and cost follow the same rules as
-- profitability (uploaded values, else reference/cost_assumptions.yaml, saying which in
-- discount_basis / cost_basis). With assumed discounts every line of a category has the same
-- rate, so the table shows the assumption, not an observed effect; discount_basis says so.
-- transactions = distinct invoices, counted exactly without a distinct count over every line: the
-- lines of one-line invoices plus COUNT(DISTINCT) over the lines of multi-line invoices only.
-- Every line is read once, into the finest grouping (per_group); the table's groups sum its rows.
-- Reads: sale_lines (shared intermediate: the lines of sales with multi_invoice_no), cost_defaults
-- (the default cost assumptions), cost_assumptions.
WITH lines AS (
    SELECT
        s.category,
        s.multi_invoice_no,
        s.quantity,
        s.price,
        COALESCE(a.discount_rate, d.discount_rate) AS assumed_rate,
        COALESCE(a.cost_ratio, d.cost_ratio) AS cost_ratio,
        s.discount AS actual_discount,
        s.unit_cost * s.quantity AS actual_cost,
        CASE WHEN s.unit_cost IS NOT NULL THEN 1 ELSE 0 END AS has_actual_cost,
        CASE WHEN s.discount IS NOT NULL THEN 1 ELSE 0 END AS has_actual_discount
    FROM sale_lines s
    CROSS JOIN cost_defaults d
    LEFT JOIN cost_assumptions a ON a.category = s.category
),
priced AS (
    SELECT
        l.*,
        COALESCE(l.actual_discount, l.price * l.assumed_rate / (1 - l.assumed_rate)) AS discount,
        CASE
            WHEN l.actual_discount IS NULL THEN l.assumed_rate
            ELSE l.actual_discount / NULLIF(l.price + l.actual_discount, 0)
        END AS line_discount_rate
    FROM lines l
),
banded AS (
    SELECT
        p.*,
        p.price + p.discount AS gross_revenue,
        COALESCE(p.actual_cost, (p.price + p.discount) * p.cost_ratio) AS cost,
        CASE
            WHEN p.line_discount_rate IS NULL OR p.line_discount_rate <= 0 THEN 'none'
            WHEN p.line_discount_rate < 0.10 THEN '0-10%'
            WHEN p.line_discount_rate < 0.20 THEN '10-20%'
            WHEN p.line_discount_rate < 0.30 THEN '20-30%'
            ELSE '30%+'
        END AS discount_band,
        CASE
            WHEN p.line_discount_rate IS NULL OR p.line_discount_rate <= 0 THEN 0
            WHEN p.line_discount_rate < 0.10 THEN 1
            WHEN p.line_discount_rate < 0.20 THEN 2
            WHEN p.line_discount_rate < 0.30 THEN 3
            ELSE 4
        END AS band_order
    FROM priced p
),
per_group AS (
    -- Every line read once: one row per category, band and multi-line invoice (one-line invoices
    -- share the row with multi_invoice_no NULL). The groups below are sums of these few rows.
    SELECT
        category,
        discount_band,
        band_order,
        multi_invoice_no,
        COUNT(*) AS lines,
        SUM(CASE WHEN multi_invoice_no IS NULL THEN 1 ELSE 0 END) AS one_line_invoices,
        SUM(quantity) AS units,
        SUM(price) AS revenue,
        SUM(gross_revenue) AS gross_revenue,
        SUM(discount) AS discount,
        SUM(cost) AS cost,
        MIN(has_actual_cost) AS all_actual_cost,
        MIN(has_actual_discount) AS all_actual_discount
    FROM banded
    GROUP BY category, discount_band, band_order, multi_invoice_no
),
grouped AS (
    SELECT
        COALESCE(category, 'All') AS category,
        discount_band,
        band_order,
        SUM(lines) AS lines,
        SUM(one_line_invoices) + COUNT(DISTINCT multi_invoice_no) AS transactions,
        SUM(units) AS units,
        SUM(revenue) AS revenue,
        SUM(gross_revenue) AS gross_revenue,
        SUM(discount) AS discount,
        SUM(cost) AS cost,
        MIN(all_actual_cost) AS all_actual_cost,
        MIN(all_actual_discount) AS all_actual_discount
    FROM per_group
    GROUP BY GROUPING SETS ((category, discount_band, band_order), (discount_band, band_order))
)
SELECT
    category,
    discount_band,
    band_order,
    lines,
    transactions,
    units,
    revenue,
    gross_revenue,
    discount,
    discount / NULLIF(gross_revenue, 0) AS discount_rate,
    CAST(units AS DOUBLE) / lines AS avg_units_per_line,
    revenue / lines AS avg_line_revenue,
    cost,
    revenue - cost AS margin,
    (revenue - cost) / NULLIF(revenue, 0) AS margin_pct,
    revenue / NULLIF(SUM(revenue) OVER (PARTITION BY category), 0) AS revenue_share,
    CASE WHEN all_actual_cost = 1 THEN 'actual' ELSE 'assumed' END AS cost_basis,
    CASE WHEN all_actual_discount = 1 THEN 'actual' ELSE 'assumed' END AS discount_basis
FROM grouped
ORDER BY category, band_order
