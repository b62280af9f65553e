-- cost_defaults (shared intermediate): ONE ROW, the cost_ratio and discount_rate of the '(default)'
-- entry of reference/cost_assumptions.yaml, for the lines whose category has no entry of its own.
-- Reads: cost_assumptions.
SELECT cost_ratio, discount_rate FROM cost_assumptions WHERE category = '(default)'
