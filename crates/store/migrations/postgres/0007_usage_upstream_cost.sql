-- Issue 14 point 4: each settled task records what its upstream billed (from the
-- provider's own figures, in micro-USD) and the margin the charged points left — for
-- operators; tenants never see either.
ALTER TABLE usage_records ADD COLUMN upstream_cost_micros BIGINT;
ALTER TABLE usage_records ADD COLUMN margin_micros BIGINT;
