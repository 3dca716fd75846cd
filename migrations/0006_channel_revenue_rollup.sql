-- chx migration 0006: channel_revenue_rollup
--
-- Changes:
--   table channel_revenue_daily: created
--   view channel_revenue_daily_mv: created
--   table channel_revenue_daily: filled from the existing rows of events
--
-- CAUTION (read before applying):
--   step 3: fills channel_revenue_daily from the rows events already holds; rows written to events between this step and the next are missing from it: pause writers

-- step 1
CREATE TABLE IF NOT EXISTS shop.channel_revenue_daily
(
    day Date,
    event_type LowCardinality(String),
    currency LowCardinality(String),
    utm_campaign LowCardinality(String),
    utm_source LowCardinality(String),
    utm_medium LowCardinality(String),
    amount AggregateFunction(sum, Int64),
    events AggregateFunction(count),
    persons AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, currency, utm_campaign, utm_source, utm_medium)
COMMENT 'Rollup written by materialized view channel_revenue_daily_mv; read it with -Merge combinators.';

-- step 2
TRUNCATE TABLE IF EXISTS shop.channel_revenue_daily;

-- step 3 (resume at step 2)
INSERT INTO shop.channel_revenue_daily (day, event_type, currency, utm_campaign, utm_source, utm_medium, amount, events, persons)
SELECT
    toDate(timestamp) AS day,
    event_type,
    currency,
    utm_campaign,
    utm_source,
    utm_medium,
    sumState(revenue) AS amount,
    countState() AS events,
    uniqExactState(person_id) AS persons
FROM shop.events
WHERE event_type IN ('purchase', 'refund')
GROUP BY day, event_type, currency, utm_campaign, utm_source, utm_medium;

-- step 4
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.channel_revenue_daily_mv TO shop.channel_revenue_daily
AS SELECT
    toDate(timestamp) AS day,
    event_type,
    currency,
    utm_campaign,
    utm_source,
    utm_medium,
    sumState(revenue) AS amount,
    countState() AS events,
    uniqExactState(person_id) AS persons
FROM shop.events
WHERE event_type IN ('purchase', 'refund')
GROUP BY day, event_type, currency, utm_campaign, utm_source, utm_medium
COMMENT 'Daily purchase and refund totals and purchasers per currency and campaign channel; revenue-by-channel reads this instead of events.';
