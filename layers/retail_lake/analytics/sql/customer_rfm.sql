-- customer_rfm: recency, frequency, monetary, 1-5 scores and the named segment of every customer.
-- Reference date: analytics_params.reference_date when given, else the latest invoice_date in the
-- lake; only invoices on or before it count. recency_days = reference date - last invoice_date,
-- frequency = distinct invoices, monetary = revenue (sum of line totals).
-- Scores are quintiles of the customer's position (5 = best: most recent, most frequent, highest
-- spend). Ties share one score, the quintile of the middle of their tie group:
--     score = 1 + floor(5 * (rank_low - 1 + rank_high) / (2 * customers))
-- where rank_low/rank_high are the first/last positions of the tie group. Without ties this is
-- NTILE(5); with ties equal values always score the same and no score depends on customer ids.
-- The segment comes from the (r_score, fm_score) grid in reference/rfm_segments.yaml (the rules,
-- defined once, joined as the relation rfm_segment_rules).
-- The scores are computed once per distinct value (recency_days and frequency have a few hundred /
-- a few dozen; monetary fewer than customers) and joined back: one small window per axis instead of
-- three sorts of every customer; same values as RANK/COUNT windows over all customers.
-- Reads: customer_totals, invoices and customer_keys (shared intermediates), sales (latest invoice
-- date), analytics_params, rfm_segment_rules.
WITH latest AS (
    SELECT MAX(invoice_date) AS latest_invoice_date FROM sales
),
chosen AS (
    SELECT
        COALESCE((SELECT MAX(reference_date) FROM analytics_params), l.latest_invoice_date) AS reference_date,
        l.latest_invoice_date
    FROM latest l
),
params AS (
    SELECT reference_date, reference_date >= latest_invoice_date AS covers_all_invoices
    FROM chosen
),
per_customer AS (
    -- Every invoice counts (the reference date is on or after the latest one, the default):
    -- the per-customer totals the run shares with customer_value and cohort_retention.
    SELECT
        t.customer_key,
        t.customer_id,
        t.first_invoice_date,
        t.last_invoice_date,
        t.transactions AS frequency,
        t.revenue AS monetary
    FROM customer_totals t
    CROSS JOIN params p
    WHERE p.covers_all_invoices
    UNION ALL
    -- An earlier reference date: only the invoices on or before it.
    SELECT
        c.customer_key,
        k.customer_id,
        c.first_invoice_date,
        c.last_invoice_date,
        c.frequency,
        c.monetary
    FROM (
        SELECT
            i.customer_key,
            MIN(i.invoice_date) AS first_invoice_date,
            MAX(i.invoice_date) AS last_invoice_date,
            COUNT(*) AS frequency,
            SUM(i.revenue) AS monetary
        FROM invoices i
        CROSS JOIN params p
        WHERE NOT p.covers_all_invoices AND i.invoice_date <= p.reference_date
        GROUP BY i.customer_key
    ) c
    LEFT JOIN (
        -- (filtered too, so the usual run does not build a lookup of every customer for no rows)
        SELECT ck.customer_key, ck.customer_id
        FROM customer_keys ck
        CROSS JOIN params p
        WHERE NOT p.covers_all_invoices
    ) k ON k.customer_key = c.customer_key
),
measured AS (
    SELECT
        c.*,
        p.reference_date,
        date_diff('day', c.last_invoice_date, p.reference_date) AS recency_days
    FROM per_customer c
    CROSS JOIN params p
),
r_values AS (
    SELECT recency_days, COUNT(*) AS n FROM measured GROUP BY recency_days
),
r_scores AS (
    -- cum = last position of the tie group, cum - n + 1 its first: rank_low - 1 + rank_high = 2 cum - n
    SELECT
        recency_days,
        1 + CAST(FLOOR(CAST(5 * (2 * cum - n) AS DOUBLE) / (2 * customers)) AS INTEGER) AS score
    FROM (
        SELECT
            recency_days,
            n,
            CAST(SUM(n) OVER (ORDER BY recency_days DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS cum,
            CAST(SUM(n) OVER () AS BIGINT) AS customers
        FROM r_values
    ) positions
),
f_values AS (
    SELECT frequency, COUNT(*) AS n FROM measured GROUP BY frequency
),
f_scores AS (
    -- cum = last position of the tie group, cum - n + 1 its first: rank_low - 1 + rank_high = 2 cum - n
    SELECT
        frequency,
        1 + CAST(FLOOR(CAST(5 * (2 * cum - n) AS DOUBLE) / (2 * customers)) AS INTEGER) AS score
    FROM (
        SELECT
            frequency,
            n,
            CAST(SUM(n) OVER (ORDER BY frequency ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS cum,
            CAST(SUM(n) OVER () AS BIGINT) AS customers
        FROM f_values
    ) positions
),
m_values AS (
    SELECT monetary, COUNT(*) AS n FROM measured GROUP BY monetary
),
m_scores AS (
    -- cum = last position of the tie group, cum - n + 1 its first: rank_low - 1 + rank_high = 2 cum - n
    SELECT
        monetary,
        1 + CAST(FLOOR(CAST(5 * (2 * cum - n) AS DOUBLE) / (2 * customers)) AS INTEGER) AS score
    FROM (
        SELECT
            monetary,
            n,
            CAST(SUM(n) OVER (ORDER BY monetary ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS cum,
            CAST(SUM(n) OVER () AS BIGINT) AS customers
        FROM m_values
    ) positions
),
scored AS (
    SELECT m.*, r.score AS r_score, f.score AS f_score, ms.score AS m_score
    FROM measured m
    LEFT JOIN r_scores r ON r.recency_days = m.recency_days
    LEFT JOIN f_scores f ON f.frequency = m.frequency
    LEFT JOIN m_scores ms ON ms.monetary = m.monetary
),
with_fm AS (
    SELECT sc.*, CAST(FLOOR(CAST(sc.f_score + sc.m_score + 1 AS DOUBLE) / 2) AS INTEGER) AS fm_score
    FROM scored sc
),
segment_grid AS (
    -- The segment of each (r_score, fm_score) pair: the rules' ranges matched on the 25 pairs,
    -- then an equi-join per customer (a range join over every customer costs far more).
    SELECT r.score AS r_score, fm.score AS fm_score, g.segment
    FROM (VALUES (1), (2), (3), (4), (5)) AS r(score)
    CROSS JOIN (VALUES (1), (2), (3), (4), (5)) AS fm(score)
    JOIN rfm_segment_rules g
        ON r.score BETWEEN g.r_min AND g.r_max AND fm.score BETWEEN g.fm_min AND g.fm_max
)
SELECT
    w.customer_id,
    w.recency_days,
    w.frequency,
    w.monetary,
    w.r_score,
    w.f_score,
    w.m_score,
    COALESCE(g.segment, 'Unclassified') AS segment,
    w.fm_score,
    CAST(w.r_score AS VARCHAR) || CAST(w.f_score AS VARCHAR) || CAST(w.m_score AS VARCHAR) AS rfm_score,
    CAST(w.monetary AS DOUBLE) / w.frequency AS avg_transaction_value,
    w.first_invoice_date,
    w.last_invoice_date,
    w.reference_date
FROM with_fm w
LEFT JOIN segment_grid g ON g.r_score = w.r_score AND g.fm_score = w.fm_score
ORDER BY w.customer_key
