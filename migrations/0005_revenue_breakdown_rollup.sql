-- chx migration 0005: revenue_breakdown_rollup
--
-- Changes:
--   table revenue_breakdown_daily: created
--   view revenue_breakdown_daily_mv: created
--   table revenue_breakdown_daily: filled from the existing rows of events
--
-- CAUTION (read before applying):
--   step 3: fills revenue_breakdown_daily from the rows events already holds; rows written to events between this step and the next are missing from it: pause writers

-- step 1
CREATE TABLE IF NOT EXISTS shop.revenue_breakdown_daily
(
    day Date,
    event_type LowCardinality(String),
    currency LowCardinality(String),
    device_type LowCardinality(String),
    platform LowCardinality(String),
    country LowCardinality(String),
    coupon_code LowCardinality(String),
    amount AggregateFunction(sum, Int64),
    discount AggregateFunction(sum, Int64),
    events AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, currency, device_type, platform, country, coupon_code)
COMMENT 'Rollup written by materialized view revenue_breakdown_daily_mv; read it with -Merge combinators.';

-- step 2
TRUNCATE TABLE IF EXISTS shop.revenue_breakdown_daily;

-- step 3 (resume at step 2)
INSERT INTO shop.revenue_breakdown_daily (day, event_type, currency, device_type, platform, country, coupon_code, amount, discount, events)
SELECT
    toDate(timestamp) AS day,
    event_type,
    currency,
    device_type,
    platform,
    country,
    coupon_code,
    sumState(revenue) AS amount,
    sumState(discount) AS discount,
    countState() AS events
FROM shop.events
WHERE event_type IN ('purchase', 'refund')
GROUP BY day, event_type, currency, device_type, platform, country, coupon_code;

-- step 4
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.revenue_breakdown_daily_mv TO shop.revenue_breakdown_daily
AS SELECT
    toDate(timestamp) AS day,
    event_type,
    currency,
    device_type,
    platform,
    country,
    coupon_code,
    sumState(revenue) AS amount,
    sumState(discount) AS discount,
    countState() AS events
FROM shop.events
WHERE event_type IN ('purchase', 'refund')
GROUP BY day, event_type, currency, device_type, platform, country, coupon_code
COMMENT 'Daily purchase and refund totals per currency and device, platform, country and coupon; the revenue-by-device/-platform/-country/-coupon reports read this instead of events.';
