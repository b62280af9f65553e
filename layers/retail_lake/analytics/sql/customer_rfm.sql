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
-- Reads: sales, analytics_params, rfm_segment_rules.
WITH params AS (
    SELECT COALESCE(
        (SELECT MAX(reference_date) FROM analytics_params),
        (SELECT MAX(invoice_date) FROM sales)
    ) AS reference_date
),
per_customer AS (
    SELECT
        s.customer_id,
        MIN(s.invoice_date) AS first_invoice_date,
        MAX(s.invoice_date) AS last_invoice_date,
        COUNT(DISTINCT s.invoice_no) AS frequency,
        SUM(s.price) AS monetary,
        p.reference_date
    FROM sales s
    CROSS JOIN params p
    WHERE s.invoice_date <= p.reference_date
    GROUP BY s.customer_id, p.reference_date
),
measured AS (
    SELECT
        c.*,
        date_diff('day', c.last_invoice_date, c.reference_date) AS recency_days,
        COUNT(*) OVER () AS customers
    FROM per_customer c
),
scored AS (
    SELECT
        m.*,
        1 + CAST(FLOOR(CAST(5 * (
            RANK() OVER (ORDER BY m.recency_days DESC) - 1
            + COUNT(*) OVER (ORDER BY m.recency_days DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) AS DOUBLE) / (2 * m.customers)) AS INTEGER) AS r_score,
        1 + CAST(FLOOR(CAST(5 * (
            RANK() OVER (ORDER BY m.frequency) - 1
            + COUNT(*) OVER (ORDER BY m.frequency RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) AS DOUBLE) / (2 * m.customers)) AS INTEGER) AS f_score,
        1 + CAST(FLOOR(CAST(5 * (
            RANK() OVER (ORDER BY m.monetary) - 1
            + COUNT(*) OVER (ORDER BY m.monetary RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) AS DOUBLE) / (2 * m.customers)) AS INTEGER) AS m_score
    FROM measured m
),
with_fm AS (
    SELECT sc.*, CAST(FLOOR(CAST(sc.f_score + sc.m_score + 1 AS DOUBLE) / 2) AS INTEGER) AS fm_score
    FROM scored sc
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
LEFT JOIN rfm_segment_rules g
    ON w.r_score BETWEEN g.r_min AND g.r_max AND w.fm_score BETWEEN g.fm_min AND g.fm_max
ORDER BY w.customer_id
