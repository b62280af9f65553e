-- multi_line_invoices (shared intermediate): the invoices with two or more lines. Line-level tables
-- (profitability, discount_impact, category_insights) count a group's transactions exactly as
--     (lines whose invoice is not in here) + COUNT(DISTINCT invoice_no of the lines that are)
-- since a one-line invoice is distinct by itself: the distinct count only runs over multi-line
-- invoices (none in the reference dataset), not over every line. (The DuckDB engine knows it is
-- empty without this grouping when its load check found no invoice with several rows.)
-- Reads: sales.
SELECT invoice_no
FROM sales
GROUP BY invoice_no
HAVING COUNT(*) > 1
