-- payment_methods: the payment mix overall and within each age band, gender, store and region.
-- share = the method's transactions / all transactions in its group (breakdown, breakdown_value),
-- so the shares of a group sum to 1; revenue_share does the same for revenue. Missing values
-- read 'Unknown' (payment method, gender, age band); unknown malls are in region 'Unassigned'.
-- Reads: sales, stores, age_bands.
WITH store_map AS (
    SELECT shopping_mall, MAX(region) AS region
    FROM stores
    GROUP BY shopping_mall
),
age_map AS (
    -- The band of each age present: a range join on the few distinct ages, then an equi-join on
    -- the lines (a range join over every line costs far more).
    SELECT a.age, b.age_band
    FROM (SELECT DISTINCT age FROM sales WHERE age IS NOT NULL) a
    JOIN age_bands b ON a.age BETWEEN b.min_age AND b.max_age
),
lines AS (
    SELECT
        s.invoice_no,
        s.customer_id,
        s.price,
        COALESCE(s.payment_method, 'Unknown') AS payment_method,
        COALESCE(b.age_band, 'Unknown') AS age_band,
        COALESCE(s.gender, 'Unknown') AS gender,
        s.shopping_mall AS store,
        COALESCE(m.region, 'Unassigned') AS region
    FROM sales s
    LEFT JOIN age_map b ON b.age = s.age
    LEFT JOIN store_map m ON m.shopping_mall = s.shopping_mall
),
grouped AS (
    SELECT 'overall' AS breakdown, 'all' AS breakdown_value, payment_method,
           COUNT(DISTINCT invoice_no) AS transactions, SUM(price) AS revenue,
           COUNT(DISTINCT customer_id) AS customers
    FROM lines GROUP BY payment_method
    UNION ALL
    SELECT 'age_band', age_band, payment_method,
           COUNT(DISTINCT invoice_no), SUM(price), COUNT(DISTINCT customer_id)
    FROM lines GROUP BY age_band, payment_method
    UNION ALL
    SELECT 'gender', gender, payment_method,
           COUNT(DISTINCT invoice_no), SUM(price), COUNT(DISTINCT customer_id)
    FROM lines GROUP BY gender, payment_method
    UNION ALL
    SELECT 'store', store, payment_method,
           COUNT(DISTINCT invoice_no), SUM(price), COUNT(DISTINCT customer_id)
    FROM lines GROUP BY store, payment_method
    UNION ALL
    SELECT 'region', region, payment_method,
           COUNT(DISTINCT invoice_no), SUM(price), COUNT(DISTINCT customer_id)
    FROM lines GROUP BY region, payment_method
)
SELECT
    breakdown,
    breakdown_value,
    payment_method,
    transactions,
    revenue,
    customers,
    CAST(transactions AS DOUBLE) / SUM(transactions) OVER (PARTITION BY breakdown, breakdown_value) AS share,
    CAST(revenue AS DOUBLE) / NULLIF(SUM(revenue) OVER (PARTITION BY breakdown, breakdown_value), 0)
        AS revenue_share,
    CAST(revenue AS DOUBLE) / transactions AS avg_transaction_value,
    RANK() OVER (PARTITION BY breakdown, breakdown_value ORDER BY transactions DESC) AS rank_in_group
FROM grouped
ORDER BY
    CASE breakdown WHEN 'overall' THEN 1 WHEN 'age_band' THEN 2 WHEN 'gender' THEN 3 WHEN 'store' THEN 4 ELSE 5 END,
    breakdown_value, rank_in_group, payment_method
