-- sale_lines (shared intermediate): ONE ROW PER LINE of `sales`, with what the tables look up for
-- a line by its strings resolved once: the integer customer_key (customer_keys) and
-- multi_invoice_no, the invoice number only for lines of multi-line invoices (NULL otherwise). Line-level tables (profitability, discount_impact, category_insights)
-- and `invoices` read it, so no table joins 10M customer_id or invoice_no strings again. Lines of
-- one-line invoices carry no invoice number at all: each is its own transaction (see
-- multi_line_invoices), so tables count transactions as (lines with multi_invoice_no NULL) +
-- COUNT(DISTINCT multi_invoice_no). Region and age band are not here: readers join the few stores
-- and ages themselves (a join with a build side of a few rows costs less than writing two more
-- string columns for every line, and is skipped where the column is not read).
-- Reads: sales, customer_keys, multi_line_invoices.
SELECT
    k.customer_key,
    mi.invoice_no AS multi_invoice_no,
    s.invoice_date,
    s.shopping_mall AS store,
    s.payment_method,
    s.gender,
    s.age,
    s.category,
    s.quantity,
    s.price,
    s.discount,
    s.unit_cost
FROM sales s
LEFT JOIN customer_keys k ON k.customer_id = s.customer_id
LEFT JOIN multi_line_invoices mi ON mi.invoice_no = s.invoice_no
