-- sale_lines (shared intermediate): ONE ROW PER LINE of `sales`, with what the tables look up for
-- a line resolved once: the integer customer_key (customer_keys), the store's region (`stores`;
-- unknown malls: 'Unassigned'), the age band (age_bands; missing age: 'Unknown') and
-- multi_invoice_no, the invoice number only for lines of multi-line invoices (NULL otherwise), and
-- customer_first_line_date, the date of the customer's first line (customer_keys).
-- Line-level tables (profitability, discount_impact, category_insights) and `invoices` read it,
-- so no table joins 10M customer_id or invoice_no strings again. Lines of one-line invoices carry
-- no invoice number at all: each is its own transaction (see multi_line_invoices), so tables
-- count transactions as (lines with multi_invoice_no NULL) + COUNT(DISTINCT multi_invoice_no).
-- Reads: sales, stores, age_bands, customer_keys, multi_line_invoices.
WITH store_map AS (
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
    k.customer_key,
    k.first_line_date AS customer_first_line_date,
    mi.invoice_no AS multi_invoice_no,
    s.invoice_date,
    s.shopping_mall AS store,
    COALESCE(m.region, 'Unassigned') AS region,
    s.payment_method,
    s.gender,
    s.age,
    COALESCE(b.age_band, 'Unknown') AS age_band,
    s.category,
    s.quantity,
    s.price,
    s.discount,
    s.unit_cost
FROM sales s
LEFT JOIN customer_keys k ON k.customer_id = s.customer_id
LEFT JOIN multi_line_invoices mi ON mi.invoice_no = s.invoice_no
LEFT JOIN store_map m ON m.shopping_mall = s.shopping_mall
LEFT JOIN age_map b ON b.age = s.age
