-- repeat_vs_onetime: customers with two or more distinct invoices ('repeat') against those with
-- exactly one ('one_time'). Always two rows, even when a type has no customers.
-- Reads: customer_totals (per-customer totals of sales, sql/_shared/).
WITH per_customer AS (
    SELECT customer_id, transactions, revenue
    FROM customer_totals
),
per_type AS (
    SELECT
        CASE WHEN transactions >= 2 THEN 'repeat' ELSE 'one_time' END AS customer_type,
        COUNT(*) AS customers,
        SUM(revenue) AS revenue,
        SUM(transactions) AS transactions
    FROM per_customer
    GROUP BY CASE WHEN transactions >= 2 THEN 'repeat' ELSE 'one_time' END
),
types AS (
    SELECT * FROM (VALUES ('repeat', 1), ('one_time', 2)) AS t(customer_type, type_order)
),
filled AS (
    SELECT
        t.customer_type,
        t.type_order,
        COALESCE(p.customers, 0) AS customers,
        COALESCE(p.revenue, 0) AS revenue,
        COALESCE(p.transactions, 0) AS transactions
    FROM types t
    LEFT JOIN per_type p ON p.customer_type = t.customer_type
)
SELECT
    customer_type,
    customers,
    CAST(customers AS DOUBLE) / NULLIF(SUM(customers) OVER (), 0) AS customer_share,
    revenue,
    CAST(revenue AS DOUBLE) / NULLIF(SUM(revenue) OVER (), 0) AS revenue_share,
    transactions,
    CAST(transactions AS DOUBLE) / NULLIF(customers, 0) AS avg_transactions_per_customer,
    CAST(revenue AS DOUBLE) / NULLIF(customers, 0) AS avg_revenue_per_customer,
    CAST(revenue AS DOUBLE) / NULLIF(transactions, 0) AS avg_transaction_value
FROM filled
ORDER BY type_order
