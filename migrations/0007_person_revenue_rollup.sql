-- chx migration 0007: person_revenue_rollup
--
-- Changes:
--   table person_revenue_daily: created
--   view person_revenue_daily_mv: created
--   table person_revenue_daily: filled from the existing rows of events
--
-- CAUTION (read before applying):
--   step 3: fills person_revenue_daily from the rows events already holds; rows written to events between this step and the next are missing from it: pause writers

-- step 1
CREATE TABLE IF NOT EXISTS shop.person_revenue_daily
(
    day Date,
    event_type LowCardinality(String),
    currency LowCardinality(String),
    user_id String,
    anonymous_id String,
    amount AggregateFunction(sum, Int64),
    events AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, currency, user_id, anonymous_id)
COMMENT 'Rollup written by materialized view person_revenue_daily_mv; read it with -Merge combinators.';

-- step 2
TRUNCATE TABLE IF EXISTS shop.person_revenue_daily;

-- step 3 (resume at step 2)
INSERT INTO shop.person_revenue_daily (day, event_type, currency, user_id, anonymous_id, amount, events)
SELECT
    toDate(timestamp) AS day,
    event_type,
    currency,
    user_id,
    if(user_id = '', anonymous_id, '') AS anonymous_id,
    sumState(revenue) AS amount,
    countState() AS events
FROM shop.events
WHERE event_type IN ('purchase', 'refund')
GROUP BY day, event_type, currency, user_id, anonymous_id;

-- step 4
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.person_revenue_daily_mv TO shop.person_revenue_daily
AS SELECT
    toDate(timestamp) AS day,
    event_type,
    currency,
    user_id,
    if(user_id = '', anonymous_id, '') AS anonymous_id,
    sumState(revenue) AS amount,
    countState() AS events
FROM shop.events
WHERE event_type IN ('purchase', 'refund')
GROUP BY day, event_type, currency, user_id, anonymous_id
COMMENT 'Daily purchase and refund totals per currency and buyer (user_id, or the anonymous_id of an anonymous order); revenue cohorts and lifetime value read this instead of deduplicating every order ever.';
