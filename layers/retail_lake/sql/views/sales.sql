-- sales: the business view of the curated sales (DESIGN: "Concurrency and the business key").
-- Every upload appends its own files to sales_versions. Per invoice_no, keep the rows of the latest
-- upload that carried it (uploaded_at, then source, then upload_id break ties), and count a source
-- row once even when it sits in two files (a redelivery that landed after compaction).
-- Portable SQL: the same text defines the DuckDB view and the Athena view.
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
WHERE upload_rank = 1 AND copy_rank = 1
