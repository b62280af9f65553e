-- customer_profile: one row per customer holding everything customers/insights/{customer_id}
-- answers, so the API finds a customer with one lookup instead of scanning sales per request:
-- the RFM fields (customer_rfm), spend rank and tier (customer_value), and the customer's
-- favourite category, store and payment method with how much of their buying each one holds.
-- Favourite = the most purchases (lines for a category, invoices for a store or a payment
-- method), then the most revenue, then the alphabetically first name: one answer, every run.
-- The favourites and counts cover all of sales, like customer_value; the RFM fields come from
-- customer_rfm and are NULL for a customer with no invoice on or before an earlier reference date.
-- lines and units are the customer's sales lines and their quantities, which customer_keys sums
-- per customer. Customers are joined on the integer customer_key (customer_keys); customer_rfm and
-- customer_value are joined once per customer on customer_id. No ORDER BY: the API reads the table
-- through an index on customer_id, and sorting 2M+ wide rows (10M lines) ran out of the engine's
-- memory limit.
-- Reads: sale_lines, invoices, customer_keys, store_map (shared intermediates), customer_rfm and
-- customer_value (computed earlier in the same run).
WITH category_counts AS (
    SELECT customer_key, category, COUNT(*) AS purchases, SUM(price) AS revenue
    FROM sale_lines
    GROUP BY customer_key, category
),
favourite_category AS (
    SELECT customer_key, category, purchases, revenue
    FROM (
        SELECT
            customer_key, category, purchases, revenue,
            ROW_NUMBER() OVER (
                PARTITION BY customer_key ORDER BY purchases DESC, revenue DESC, category
            ) AS position
        FROM category_counts
    ) ranked
    WHERE position = 1
),
category_breadth AS (
    SELECT customer_key, COUNT(category) AS categories
    FROM category_counts
    GROUP BY customer_key
),
store_counts AS (
    SELECT customer_key, store, COUNT(*) AS transactions, SUM(revenue) AS revenue
    FROM invoices
    GROUP BY customer_key, store
),
favourite_store AS (
    SELECT customer_key, store, transactions
    FROM (
        SELECT
            customer_key, store, transactions,
            ROW_NUMBER() OVER (
                PARTITION BY customer_key ORDER BY transactions DESC, revenue DESC, store
            ) AS position
        FROM store_counts
    ) ranked
    WHERE position = 1
),
store_breadth AS (
    SELECT customer_key, COUNT(store) AS stores
    FROM store_counts
    GROUP BY customer_key
),
payment_counts AS (
    SELECT customer_key, payment_method, COUNT(*) AS transactions, SUM(revenue) AS revenue
    FROM invoices
    GROUP BY customer_key, payment_method
),
favourite_payment AS (
    SELECT customer_key, payment_method, transactions
    FROM (
        SELECT
            customer_key, payment_method, transactions,
            ROW_NUMBER() OVER (
                PARTITION BY customer_key ORDER BY transactions DESC, revenue DESC, payment_method
            ) AS position
        FROM payment_counts
    ) ranked
    WHERE position = 1
),
payment_breadth AS (
    SELECT customer_key, COUNT(payment_method) AS payment_methods
    FROM payment_counts
    GROUP BY customer_key
)
SELECT
    v.customer_id,
    r.recency_days,
    r.frequency,
    r.monetary,
    r.r_score,
    r.f_score,
    r.m_score,
    r.segment,
    r.rfm_score,
    v.revenue,
    v.transactions,
    v.avg_transaction_value,
    v.spend_tier,
    v.is_top_10_pct,
    v.revenue_rank,
    v.revenue_percentile,
    v.first_invoice_date,
    v.last_invoice_date,
    r.reference_date,
    fc.category AS favourite_category,
    fc.purchases AS favourite_category_purchases,
    CAST(fc.revenue AS DOUBLE) / NULLIF(v.revenue, 0) AS favourite_category_revenue_share,
    fs.store AS favourite_store,
    COALESCE(m.region, 'Unassigned') AS favourite_store_region,
    fs.transactions AS favourite_store_transactions,
    fp.payment_method AS favourite_payment_method,
    fp.transactions AS favourite_payment_method_transactions,
    cb.categories,
    sb.stores,
    pb.payment_methods,
    k.lines,
    k.units
FROM customer_value v
JOIN customer_keys k ON k.customer_id = v.customer_id
LEFT JOIN customer_rfm r ON r.customer_id = v.customer_id
LEFT JOIN favourite_category fc ON fc.customer_key = k.customer_key
LEFT JOIN category_breadth cb ON cb.customer_key = k.customer_key
LEFT JOIN favourite_store fs ON fs.customer_key = k.customer_key
LEFT JOIN store_breadth sb ON sb.customer_key = k.customer_key
LEFT JOIN favourite_payment fp ON fp.customer_key = k.customer_key
LEFT JOIN payment_breadth pb ON pb.customer_key = k.customer_key
LEFT JOIN store_map m ON m.shopping_mall = fs.store
