-- chx migration 0009: ad_spend
--
-- Changes:
--   table ad_spend: created

-- step 1
CREATE TABLE IF NOT EXISTS shop.ad_spend
(
    day Date,
    utm_campaign LowCardinality(String),
    utm_source LowCardinality(String),
    utm_medium LowCardinality(String),
    currency LowCardinality(String),
    spend Int64 COMMENT 'Minor units of `currency` (cents; yen for JPY).',
    impressions UInt64 DEFAULT 0,
    clicks UInt64 DEFAULT 0,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (day, utm_source, utm_medium, utm_campaign, currency)
COMMENT 'Advertising spend per day and campaign channel, loaded by the shop from its ad platforms (Facebook, Google Ads, ...) with the campaign, source and medium its links carry, so spend meets the touches of the same channel. The acquisition-cost report (CAC, ROAS) reads it. A later row for the same day, channel and currency replaces the earlier one: platforms restate spend for days after the fact.';
