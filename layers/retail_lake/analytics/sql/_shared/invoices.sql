-- invoices (shared intermediate): ONE ROW PER INVOICE of `sales`, the grain of every
-- transaction-level table (transactions = COUNT(*) here, no COUNT(DISTINCT invoice_no)).
-- revenue = SUM(price), units = SUM(quantity), lines = COUNT(*) of its lines.
-- Built from sale_lines: a line of a one-line invoice (multi_invoice_no NULL) is its invoice as it
-- is; the lines of each multi-line invoice are grouped. An invoice's attributes are those of its
-- lines; in real data (and after ingest) an invoice has one customer, date, store, payment method,
-- gender and age. Should a messy invoice carry two, each attribute is the smallest value of its
-- lines (MIN, NULLs ignored; region and age band follow the chosen store and age): the invoice and
-- all its revenue count once, under that customer / date / store / payment method, never twice.
-- No invoice_no and no district: no table reads them here, and each would add a value per invoice.
-- Reads: sale_lines, stores, age_bands.
WITH multi_line AS (
    SELECT
        multi_invoice_no,
        MIN(customer_key) AS customer_key,
        MIN(invoice_date) AS invoice_date,
        MIN(store) AS store,
        MIN(payment_method) AS payment_method,
        MIN(gender) AS gender,
        MIN(age) AS age,
        SUM(price) AS revenue,
        SUM(quantity) AS units,
        COUNT(*) AS lines
    FROM sale_lines
    WHERE multi_invoice_no IS NOT NULL
    GROUP BY multi_invoice_no
),
store_map AS (
    SELECT shopping_mall, MAX(region) AS region
    FROM stores
    GROUP BY shopping_mall
),
age_map AS (
    SELECT a.age, b.age_band
    FROM (SELECT DISTINCT age FROM multi_line WHERE age IS NOT NULL) a
    JOIN age_bands b ON a.age BETWEEN b.min_age AND b.max_age
)
SELECT
    customer_key,
    invoice_date,
    store,
    region,
    payment_method,
    gender,
    age,
    age_band,
    price AS revenue,
    quantity AS units,
    1 AS lines
FROM sale_lines
WHERE multi_invoice_no IS NULL
UNION ALL
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
FROM multi_line i
LEFT JOIN store_map m ON m.shopping_mall = i.store
LEFT JOIN age_map b ON b.age = i.age
