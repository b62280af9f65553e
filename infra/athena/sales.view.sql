-- Generated from retail_lake/sql/views/sales.sql by `python -m retail_lake.catalog write-ddl`.
-- Run after sales_versions.sql, in the lake's Glue database.
CREATE OR REPLACE VIEW sales AS
SELECT
    invoice_no, customer_id, gender, age, category, quantity, price, unit_price, payment_method,
    invoice_date, shopping_mall, discount, unit_cost, flags, source, upload_id, uploaded_at,
    "row_number", "year", "month"
FROM (
    SELECT
        v.*,
        dense_rank() OVER (
            PARTITION BY invoice_no ORDER BY uploaded_at DESC, source DESC, upload_id DESC
        ) AS upload_rank,
        row_number() OVER (
            PARTITION BY invoice_no, upload_id, "row_number" ORDER BY "year", "month"
        ) AS copy_rank
    FROM sales_versions v
) ranked
WHERE upload_rank = 1 AND copy_rank = 1;
