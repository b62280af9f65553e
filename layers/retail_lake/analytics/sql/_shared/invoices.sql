-- invoices (shared intermediate): ONE ROW PER INVOICE of `sales`, the grain of every
-- transaction-level table (transactions = COUNT(*) here, no COUNT(DISTINCT invoice_no)).
-- revenue = SUM(price), units = SUM(quantity), lines = COUNT(*) of its lines.
-- An invoice's attributes are those of its lines; in real data (and after ingest) an invoice has one
-- customer, date, store, payment method, gender and age. Should a messy invoice carry two, each
-- attribute is the smallest value of its lines (MIN, NULLs ignored): the invoice and all its
-- revenue count once, under that customer / date / store / payment method, never twice.
-- region comes from `stores` (unknown malls: region 'Unassigned'), age_band from age_bands
-- (missing age: 'Unknown'); customer_key from customer_keys (joined on the lines, so the 10M-row
-- aggregation carries an integer, not the customer_id string; customer_keys maps it back).
-- No invoice_no and no district: no table reads them here (multi_line_invoices reads sales,
-- store_performance joins `stores` itself), and each would add 10M values to this table. The DuckDB engine skips the grouping when every invoice is one line.
-- Reads: sales, stores, age_bands, customer_keys.
WITH per_invoice AS (
    SELECT
        s.invoice_no,
        MIN(k.customer_key) AS customer_key,
        MIN(s.invoice_date) AS invoice_date,
        MIN(s.shopping_mall) AS store,
        MIN(s.payment_method) AS payment_method,
        MIN(s.gender) AS gender,
        MIN(s.age) AS age,
        SUM(s.price) AS revenue,
        SUM(s.quantity) AS units,
        COUNT(*) AS lines
    FROM sales s
    LEFT JOIN customer_keys k ON k.customer_id = s.customer_id
    GROUP BY s.invoice_no
),
store_map AS (
    SELECT shopping_mall, MAX(region) AS region
    FROM stores
    GROUP BY shopping_mall
),
age_map AS (
    -- The band of each age present: a range join on the few distinct ages, then an equi-join.
    SELECT a.age, b.age_band
    FROM (SELECT DISTINCT age FROM sales WHERE age IS NOT NULL) a
    JOIN age_bands b ON a.age BETWEEN b.min_age AND b.max_age
)
SELECT
    i.customer_key,
    i.invoice_date,
    i.store,
    COALESCE(m.region, 'Unassigned') AS region,
    i.payment_method,
    i.gender,
    i.age,
    COALESCE(b.age_band, 'Unknown') AS age_band,
    i.revenue,
    i.units,
    i.lines
FROM per_invoice i
LEFT JOIN store_map m ON m.shopping_mall = i.store
LEFT JOIN age_map b ON b.age = i.age
