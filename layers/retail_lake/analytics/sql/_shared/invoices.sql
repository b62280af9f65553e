-- invoices (shared intermediate): ONE ROW PER INVOICE of `sales`, the grain of every
-- transaction-level table (transactions = COUNT(*) here, no COUNT(DISTINCT invoice_no)).
-- revenue = SUM(price), units = SUM(quantity), lines = COUNT(*) of its lines.
-- An invoice's attributes are those of its lines; in real data (and after ingest) an invoice has one
-- customer, date, store, payment method, gender and age. Should a messy invoice carry two, each
-- attribute is the smallest value of its lines (MIN, NULLs ignored): the invoice and all its
-- revenue count once, under that customer / date / store / payment method, never twice.
-- region/district come from `stores` (unknown malls: region 'Unassigned'), age_band from age_bands
-- (missing age: 'Unknown'); customer_key from customer_keys.
-- Reads: sales, stores, age_bands, customer_keys.
WITH per_invoice AS (
    SELECT
        invoice_no,
        MIN(customer_id) AS customer_id,
        MIN(invoice_date) AS invoice_date,
        MIN(shopping_mall) AS store,
        MIN(payment_method) AS payment_method,
        MIN(gender) AS gender,
        MIN(age) AS age,
        SUM(price) AS revenue,
        SUM(quantity) AS units,
        COUNT(*) AS lines
    FROM sales
    GROUP BY invoice_no
),
store_map AS (
    SELECT shopping_mall, MAX(district) AS district, MAX(region) AS region
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
    i.invoice_no,
    i.customer_id,
    k.customer_key,
    i.invoice_date,
    i.store,
    m.district,
    COALESCE(m.region, 'Unassigned') AS region,
    i.payment_method,
    i.gender,
    i.age,
    COALESCE(b.age_band, 'Unknown') AS age_band,
    i.revenue,
    i.units,
    i.lines
FROM per_invoice i
LEFT JOIN customer_keys k ON k.customer_id = i.customer_id
LEFT JOIN store_map m ON m.shopping_mall = i.store
LEFT JOIN age_map b ON b.age = i.age
