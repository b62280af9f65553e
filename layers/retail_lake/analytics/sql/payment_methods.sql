-- payment_methods: the payment mix overall and within each age band, gender, store and region.
-- share = the method's transactions / all transactions in its group (breakdown, breakdown_value),
-- so the shares of a group sum to 1; revenue_share does the same for revenue. Missing values
-- read 'Unknown' (payment method, gender, age band); unknown malls are in region 'Unassigned'.
-- Every breakdown reads `invoices` (one row per invoice with its payment method, age band, gender,
-- store and region): transactions = COUNT(*), customers = distinct integer customer keys.
-- Reads: invoices (shared intermediate).
WITH lines AS (
    SELECT
        customer_key,
        revenue AS price,
        COALESCE(payment_method, 'Unknown') AS payment_method,
        age_band,
        COALESCE(gender, 'Unknown') AS gender,
        store,
        region
    FROM invoices
),
grouped AS (
    SELECT 'overall' AS breakdown, 'all' AS breakdown_value, payment_method,
           COUNT(*) AS transactions, SUM(price) AS revenue,
           COUNT(DISTINCT customer_key) AS customers
    FROM lines GROUP BY payment_method
    UNION ALL
    SELECT 'age_band', age_band, payment_method,
           COUNT(*), SUM(price), COUNT(DISTINCT customer_key)
    FROM lines GROUP BY age_band, payment_method
    UNION ALL
    SELECT 'gender', gender, payment_method,
           COUNT(*), SUM(price), COUNT(DISTINCT customer_key)
    FROM lines GROUP BY gender, payment_method
    UNION ALL
    SELECT 'store', store, payment_method,
           COUNT(*), SUM(price), COUNT(DISTINCT customer_key)
    FROM lines GROUP BY store, payment_method
    UNION ALL
    SELECT 'region', region, payment_method,
           COUNT(*), SUM(price), COUNT(DISTINCT customer_key)
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
