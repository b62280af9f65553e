-- invoices (shared intermediate): ONE ROW PER INVOICE of `sales`, the grain of every
-- transaction-level table (transactions = COUNT(*) here, no COUNT(DISTINCT invoice_no)).
-- revenue = SUM(price), units = SUM(quantity), lines = COUNT(*) of its lines.
-- Built from sale_lines: a line of a one-line invoice (multi_invoice_no NULL) is its invoice as it
-- is; the lines of each multi-line invoice are grouped. No region or age band: the tables that
-- need them join the few stores / ages themselves (as a view over sale_lines, `invoices` then
-- costs nothing in the tables that do not). An invoice's attributes are those of its lines; in
-- real data (and after ingest) an invoice has one customer, date, store, payment method, gender
-- and age. Should a messy invoice carry two, each attribute is the smallest value of its
-- lines (MIN, NULLs ignored; region and age band then follow that store and age): the invoice and
-- all its revenue count once, under that customer / date / store / payment method, never twice.
-- No invoice_no and no district: no table reads them here, and each would add a value per invoice.
-- Reads: sale_lines.
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
)
SELECT
    customer_key,
    invoice_date,
    store,
    payment_method,
    gender,
    age,
    price AS revenue,
    quantity AS units,
    1 AS lines
FROM sale_lines
WHERE multi_invoice_no IS NULL
UNION ALL
SELECT
    customer_key,
    invoice_date,
    store,
    payment_method,
    gender,
    age,
    revenue,
    units,
    lines
FROM multi_line
