-- chx migration 0004: person_projection
--
-- Changes:
--   table events: setting deduplicate_merge_projection_mode = rebuild
--   table events: projection events_by_person added

-- step 1
ALTER TABLE shop.events MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

-- step 2
ALTER TABLE shop.events ADD PROJECTION IF NOT EXISTS events_by_person (SELECT _part_offset ORDER BY person_id);

-- step 3
ALTER TABLE shop.events MATERIALIZE PROJECTION events_by_person;
