-- profitability: revenue, discount, cost and margin overall, per category, per store and per
-- category x store (`breakdown` says which; aggregated dimensions read 'All').
-- A line's cost is unit_cost x quantity when the upload carried unit_cost, else the category's
-- cost_ratio x gross line value from reference/cost_assumptions.yaml; its discount is the uploaded
-- discount, else price x rate / (1 - rate). A row's cost_basis (discount_basis) is 'actual' only
-- when every line in it had the real value, else 'assumed'; actual_cost_share says how much of
-- the row's revenue had a real cost.
-- transactions = distinct invoices, counted exactly without a distinct count over every line: the
-- lines of one-line invoices plus COUNT(DISTINCT) over the lines of multi-line invoices only.
-- Every line is read once, into the finest grouping (per_group); the breakdowns sum its rows.
-- Reads: sale_lines (shared intermediate: the lines of sales with multi_invoice_no), store_map (one
-- row per store of `stores`), cost_defaults (the default cost assumptions), cost_assumptions.
WITH lines AS (
    SELECT
        s.category,
        s.store,
        COALESCE(m.region, 'Unassigned') AS region,
        s.multi_invoice_no,
        s.quantity,
        s.price,
        COALESCE(
            s.discount,
            s.price * COALESCE(a.discount_rate, d.discount_rate) / (1 - COALESCE(a.discount_rate, d.discount_rate))
        ) AS discount,
        s.unit_cost * s.quantity AS actual_cost,
        COALESCE(a.cost_ratio, d.cost_ratio) AS cost_ratio,
        CASE WHEN s.unit_cost IS NOT NULL THEN 1 ELSE 0 END AS has_actual_cost,
        CASE WHEN s.discount IS NOT NULL THEN 1 ELSE 0 END AS has_actual_discount
    FROM sale_lines s
    CROSS JOIN cost_defaults d
    LEFT JOIN cost_assumptions a ON a.category = s.category
    LEFT JOIN store_map m ON m.shopping_mall = s.store
),
costed AS (
    SELECT
        l.*,
        l.price + l.discount AS gross_revenue,
        COALESCE(l.actual_cost, (l.price + l.discount) * l.cost_ratio) AS cost
    FROM lines l
),
per_group AS (
    -- Every line read once: one row per category, store and multi-line invoice (one-line invoices
    -- share the row with multi_invoice_no NULL). The breakdowns below are sums of these few rows.
    SELECT
        category,
        store,
        region,
        multi_invoice_no,
        SUM(CASE WHEN multi_invoice_no IS NULL THEN 1 ELSE 0 END) AS one_line_invoices,
        SUM(quantity) AS units,
        SUM(price) AS revenue,
        SUM(gross_revenue) AS gross_revenue,
        SUM(discount) AS discount,
        SUM(cost) AS cost,
        SUM(CASE WHEN has_actual_cost = 1 THEN price ELSE 0 END) AS revenue_with_actual_cost,
        MIN(has_actual_cost) AS all_actual_cost,
        MIN(has_actual_discount) AS all_actual_discount
    FROM costed
    GROUP BY category, store, region, multi_invoice_no
),
grouped AS (
    SELECT
        CASE
            WHEN GROUPING(category) = 0 AND GROUPING(store) = 0 THEN 'category_store'
            WHEN GROUPING(category) = 0 THEN 'category'
            WHEN GROUPING(store) = 0 THEN 'store'
            ELSE 'overall'
        END AS breakdown,
        COALESCE(category, 'All') AS category,
        COALESCE(store, 'All') AS store,
        COALESCE(region, 'All') AS region,
        SUM(one_line_invoices) + COUNT(DISTINCT multi_invoice_no) AS transactions,
        SUM(units) AS units,
        SUM(revenue) AS revenue,
        SUM(gross_revenue) AS gross_revenue,
        SUM(discount) AS discount,
        SUM(cost) AS cost,
        SUM(revenue_with_actual_cost) AS revenue_with_actual_cost,
        MIN(all_actual_cost) AS all_actual_cost,
        MIN(all_actual_discount) AS all_actual_discount
    FROM per_group
    GROUP BY GROUPING SETS ((), (category), (store, region), (category, store, region))
)
SELECT
    breakdown,
    category,
    store,
    region,
    transactions,
    units,
    revenue,
    gross_revenue,
    discount,
    cost,
    revenue - cost AS margin,
    (revenue - cost) / NULLIF(revenue, 0) AS margin_pct,
    discount / NULLIF(gross_revenue, 0) AS discount_pct,
    CAST(revenue AS DOUBLE) / NULLIF(SUM(revenue) OVER (PARTITION BY breakdown), 0) AS revenue_share,
    CASE WHEN all_actual_cost = 1 THEN 'actual' ELSE 'assumed' END AS cost_basis,
    CASE WHEN all_actual_discount = 1 THEN 'actual' ELSE 'assumed' END AS discount_basis,
    revenue_with_actual_cost / NULLIF(revenue, 0) AS actual_cost_share
FROM grouped
ORDER BY breakdown, category, store
