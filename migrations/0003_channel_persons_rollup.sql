-- chx migration 0003: channel_persons_rollup
--
-- Changes:
--   table channel_persons_daily: created
--   view channel_persons_daily_mv: created
--   table channel_persons_daily: filled from the existing rows of events
--
-- CAUTION (read before applying):
--   step 3: fills channel_persons_daily from the rows events already holds; rows written to events between this step and the next are missing from it: pause writers

-- step 1
CREATE TABLE IF NOT EXISTS shop.channel_persons_daily
(
    day Date,
    utm_campaign LowCardinality(String),
    utm_source LowCardinality(String),
    utm_medium LowCardinality(String),
    persons AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, utm_campaign, utm_source, utm_medium)
COMMENT 'Rollup written by materialized view channel_persons_daily_mv; read it with -Merge combinators.';

-- step 2
TRUNCATE TABLE IF EXISTS shop.channel_persons_daily;

-- step 3 (resume at step 2)
INSERT INTO shop.channel_persons_daily (day, utm_campaign, utm_source, utm_medium, persons)
SELECT
    toDate(timestamp) AS day,
    utm_campaign,
    utm_source,
    utm_medium,
    uniqExactState(person_id) AS persons
FROM shop.events
WHERE utm_campaign != '' OR utm_source != '' OR utm_medium != ''
GROUP BY day, utm_campaign, utm_source, utm_medium;

-- step 4
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.channel_persons_daily_mv TO shop.channel_persons_daily
AS SELECT
    toDate(timestamp) AS day,
    utm_campaign,
    utm_source,
    utm_medium,
    uniqExactState(person_id) AS persons
FROM shop.events
WHERE utm_campaign != '' OR utm_source != '' OR utm_medium != ''
GROUP BY day, utm_campaign, utm_source, utm_medium
COMMENT 'Persons touched per day and campaign channel; revenue-by-channel\'s conversion-rate denominator reads this instead of every tagged event.';
