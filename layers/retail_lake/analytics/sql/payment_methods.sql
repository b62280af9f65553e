-- payment_methods: the payment mix overall and within each age band, gender, store and region.
-- share = the method's transactions / all transactions in its group (breakdown, breakdown_value),
-- so the shares of a group sum to 1; revenue_share does the same for revenue. Missing values
-- read 'Unknown' (payment method, gender, age band); unknown malls are in region 'Unassigned'.
-- The invoices are read once, into one row per (payment method, age, gender, store); every
-- breakdown sums those rows (transactions and revenue add up; region follows the store, the age
-- band the age). No distinct customers per group: five distinct counts over every invoice would
-- cost more than the rest of the table together.
-- Reads: invoices and store_map (shared intermediates: one row per invoice; the region of a store),
-- age_bands.
WITH per_group AS (
    -- Every invoice read once: one row per payment method, age, gender and store (a few thousand
    -- rows); the breakdowns below sum these rows.
    SELECT
        COALESCE(payment_method, 'Unknown') AS payment_method,
        age,
        COALESCE(gender, 'Unknown') AS gender,
        store,
        COUNT(*) AS transactions,
        SUM(revenue) AS revenue
    FROM invoices
    GROUP BY COALESCE(payment_method, 'Unknown'), age, COALESCE(gender, 'Unknown'), store
),
age_map AS (
    -- The band of each age present: a range join on the few distinct ages, then an equi-join.
    SELECT a.age, MIN(b.age_band) AS age_band
    FROM (SELECT DISTINCT age FROM per_group WHERE age IS NOT NULL) a
    JOIN age_bands b ON a.age BETWEEN b.min_age AND b.max_age
    GROUP BY a.age
),
grouped AS (
    SELECT 'overall' AS breakdown, 'all' AS breakdown_value, payment_method,
           SUM(transactions) AS transactions, SUM(revenue) AS revenue
    FROM per_group GROUP BY payment_method
    UNION ALL
    SELECT 'age_band', COALESCE(b.age_band, 'Unknown'), g.payment_method, SUM(g.transactions), SUM(g.revenue)
    FROM per_group g LEFT JOIN age_map b ON b.age = g.age
    GROUP BY COALESCE(b.age_band, 'Unknown'), g.payment_method
    UNION ALL
    SELECT 'gender', gender, payment_method, SUM(transactions), SUM(revenue)
    FROM per_group GROUP BY gender, payment_method
    UNION ALL
    SELECT 'store', store, payment_method, SUM(transactions), SUM(revenue)
    FROM per_group GROUP BY store, payment_method
    UNION ALL
    SELECT 'region', COALESCE(m.region, 'Unassigned'), g.payment_method, SUM(g.transactions), SUM(g.revenue)
    FROM per_group g LEFT JOIN store_map m ON m.shopping_mall = g.store
    GROUP BY COALESCE(m.region, 'Unassigned'), g.payment_method
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
