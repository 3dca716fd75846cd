-- chx migration 0010: person_first_touch_rollup
--
-- Changes:
--   table person_first_touch: created
--   view person_first_touch_mv: created
--   table person_first_touch: filled from the existing rows of events
--
-- CAUTION (read before applying):
--   step 3: fills person_first_touch from the rows events already holds; rows written to events between this step and the next are missing from it: pause writers

-- step 1
CREATE TABLE IF NOT EXISTS shop.person_first_touch
(
    user_id String,
    anonymous_id String,
    channel AggregateFunction(argMin, String, UInt128),
    first AggregateFunction(min, UInt128)
)
ENGINE = AggregatingMergeTree()
ORDER BY (user_id, anonymous_id)
COMMENT 'Rollup written by materialized view person_first_touch_mv; read it with -Merge combinators.';

-- step 2
TRUNCATE TABLE IF EXISTS shop.person_first_touch;

-- step 3 (resume at step 2)
INSERT INTO shop.person_first_touch (user_id, anonymous_id, channel, first)
SELECT
    user_id,
    if(user_id = '', anonymous_id, '') AS anonymous_id,
    argMinState(concat(replaceAll(utm_campaign, '\0', '\0\x01'), '\0\0', replaceAll(utm_source, '\0', '\0\x01'), '\0\0', replaceAll(utm_medium, '\0', '\0\x01')), bitOr(bitShiftLeft(toUInt128(toUnixTimestamp64Milli(timestamp)), 64), toUInt128(toUInt64(toUInt128(event_id))))) AS channel,
    minState(bitOr(bitShiftLeft(toUInt128(toUnixTimestamp64Milli(timestamp)), 64), toUInt128(toUInt64(toUInt128(event_id))))) AS first
FROM shop.events
WHERE utm_campaign != '' OR utm_source != '' OR utm_medium != ''
GROUP BY user_id, anonymous_id;

-- step 4
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.person_first_touch_mv TO shop.person_first_touch
AS SELECT
    user_id,
    if(user_id = '', anonymous_id, '') AS anonymous_id,
    argMinState(concat(replaceAll(utm_campaign, '\0', '\0\x01'), '\0\0', replaceAll(utm_source, '\0', '\0\x01'), '\0\0', replaceAll(utm_medium, '\0', '\0\x01')), bitOr(bitShiftLeft(toUInt128(toUnixTimestamp64Milli(timestamp)), 64), toUInt128(toUInt64(toUInt128(event_id))))) AS channel,
    minState(bitOr(bitShiftLeft(toUInt128(toUnixTimestamp64Milli(timestamp)), 64), toUInt128(toUInt64(toUInt128(event_id))))) AS first
FROM shop.events
WHERE utm_campaign != '' OR utm_source != '' OR utm_medium != ''
GROUP BY user_id, anonymous_id
COMMENT 'Each stored person\'s first campaign touch ever (user_id, or the anonymous_id of an anonymous visitor); lifetime value by channel and acquisition cost read this instead of every campaign-tagged event.';
