-- payment_methods: the payment mix overall and within each age band, gender, store and region.
-- share = the method's transactions / all transactions in its group (breakdown, breakdown_value),
-- so the shares of a group sum to 1; revenue_share does the same for revenue. Missing values
-- read 'Unknown' (payment method, gender, age band); unknown malls are in region 'Unassigned'.
-- Every breakdown reads `invoices` (one row per invoice with its payment method, age band, gender,
-- store and region) by itself: transactions = COUNT(*). (No common CTE over the invoices: an engine
-- may hold a CTE read five times as a copy of its rows.) No distinct customers per group: five
-- distinct counts over every invoice would cost more than the rest of the table together.
-- Reads: invoices (shared intermediate), stores (region of a store), age_bands.
WITH store_map AS (
    SELECT shopping_mall, MAX(region) AS region
    FROM stores
    GROUP BY shopping_mall
),
age_map AS (
    -- The band of each age present: a range join on the few distinct ages, then an equi-join.
    SELECT a.age, MIN(b.age_band) AS age_band
    FROM (SELECT DISTINCT age FROM invoices WHERE age IS NOT NULL) a
    JOIN age_bands b ON a.age BETWEEN b.min_age AND b.max_age
    GROUP BY a.age
),
grouped AS (
    SELECT 'overall' AS breakdown, 'all' AS breakdown_value, COALESCE(payment_method, 'Unknown') AS payment_method,
           COUNT(*) AS transactions, SUM(revenue) AS revenue
    FROM invoices GROUP BY COALESCE(payment_method, 'Unknown')
    UNION ALL
    SELECT 'age_band', COALESCE(b.age_band, 'Unknown'), COALESCE(i.payment_method, 'Unknown'),
           COUNT(*), SUM(i.revenue)
    FROM invoices i LEFT JOIN age_map b ON b.age = i.age
    GROUP BY COALESCE(b.age_band, 'Unknown'), COALESCE(i.payment_method, 'Unknown')
    UNION ALL
    SELECT 'gender', COALESCE(gender, 'Unknown'), COALESCE(payment_method, 'Unknown'),
           COUNT(*), SUM(revenue)
    FROM invoices GROUP BY COALESCE(gender, 'Unknown'), COALESCE(payment_method, 'Unknown')
    UNION ALL
    SELECT 'store', store, COALESCE(payment_method, 'Unknown'),
           COUNT(*), SUM(revenue)
    FROM invoices GROUP BY store, COALESCE(payment_method, 'Unknown')
    UNION ALL
    SELECT 'region', COALESCE(m.region, 'Unassigned'), COALESCE(i.payment_method, 'Unknown'),
           COUNT(*), SUM(i.revenue)
    FROM invoices i LEFT JOIN store_map m ON m.shopping_mall = i.store
    GROUP BY COALESCE(m.region, 'Unassigned'), COALESCE(i.payment_method, 'Unknown')
)
SELECT
    breakdown,
    breakdown_value,
    payment_method,
    transactions,
    revenue,
    CAST(transactions AS DOUBLE) / SUM(transactions) OVER (PARTITION BY breakdown, breakdown_value) AS share,
    CAST(revenue AS DOUBLE) / NULLIF(SUM(revenue) OVER (PARTITION BY breakdown, breakdown_value), 0)
        AS revenue_share,
    CAST(revenue AS DOUBLE) / transactions AS avg_transaction_value,
    RANK() OVER (PARTITION BY breakdown, breakdown_value ORDER BY transactions DESC) AS rank_in_group
FROM grouped
ORDER BY
    CASE breakdown WHEN 'overall' THEN 1 WHEN 'age_band' THEN 2 WHEN 'gender' THEN 3 WHEN 'store' THEN 4 ELSE 5 END,
    breakdown_value, rank_in_group, payment_method
