-- customer_keys (shared intermediate): one row per distinct customer_id with a dense BIGINT
-- customer_key, numbered in customer_id order (so ordering by customer_key is ordering by
-- customer_id). Tables count and join customers on the integer key: COUNT(DISTINCT customer_key)
-- is far cheaper than COUNT(DISTINCT customer_id) over strings.
SELECT
    customer_id,
    ROW_NUMBER() OVER (ORDER BY customer_id) AS customer_key
FROM (SELECT DISTINCT customer_id FROM sales) AS distinct_customers
