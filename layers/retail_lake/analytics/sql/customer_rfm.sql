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
-- The positions are computed once per distinct value (recency_days and frequency have a few hundred /
-- a few dozen; monetary fewer than customers) and joined back: one small window per axis instead of
-- three sorts of every customer; same values as RANK/COUNT windows over all customers. The score
-- formula is written once (tie_scores), for the tie groups of all three axes.
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
f_values AS (
    SELECT frequency, COUNT(*) AS n FROM measured GROUP BY frequency
),
m_values AS (
    SELECT monetary, COUNT(*) AS n FROM measured GROUP BY monetary
),
-- Each axis ranks its values best last (recency: most days first); last_position is the last
-- position of a tie group of n customers, so its first is last_position - n + 1.
r_positions AS (
    SELECT recency_days, n,
           CAST(SUM(n) OVER (ORDER BY recency_days DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT)
               AS last_position
    FROM r_values
),
f_positions AS (
    SELECT frequency, n,
           CAST(SUM(n) OVER (ORDER BY frequency ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT)
               AS last_position
    FROM f_values
),
m_positions AS (
    SELECT monetary, n,
           CAST(SUM(n) OVER (ORDER BY monetary ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT)
               AS last_position
    FROM m_values
),
tie_groups AS (
    SELECT last_position, n FROM r_positions
    UNION
    SELECT last_position, n FROM f_positions
    UNION
    SELECT last_position, n FROM m_positions
),
tie_scores AS (
    -- The score formula, once: rank_low - 1 + rank_high = (last_position - n) + last_position.
    SELECT
        g.last_position,
        g.n,
        1 + CAST(FLOOR(CAST(5 * (2 * g.last_position - g.n) AS DOUBLE) / (2 * c.customers)) AS INTEGER) AS score
    FROM tie_groups g
    CROSS JOIN (SELECT SUM(n) AS customers FROM r_values) c
),
scored AS (
    SELECT m.*, rs.score AS r_score, fs.score AS f_score, ms.score AS m_score
    FROM measured m
    LEFT JOIN r_positions rp ON rp.recency_days = m.recency_days
    LEFT JOIN tie_scores rs ON rs.last_position = rp.last_position AND rs.n = rp.n
    LEFT JOIN f_positions fp ON fp.frequency = m.frequency
    LEFT JOIN tie_scores fs ON fs.last_position = fp.last_position AND fs.n = fp.n
    LEFT JOIN m_positions mp ON mp.monetary = m.monetary
    LEFT JOIN tie_scores ms ON ms.last_position = mp.last_position AND ms.n = mp.n
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
