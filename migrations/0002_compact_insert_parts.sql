-- chx migration 0002: compact_insert_parts
--
-- Changes:
--   table events: setting min_rows_for_wide_part = 524288
--   table event_items: setting min_rows_for_wide_part = 524288

-- step 1
ALTER TABLE shop.events MODIFY SETTING min_rows_for_wide_part = 524288;

-- step 2
ALTER TABLE shop.event_items MODIFY SETTING min_rows_for_wide_part = 524288;
