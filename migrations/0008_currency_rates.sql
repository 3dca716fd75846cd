-- chx migration 0008: currency_rates
--
-- Changes:
--   table currency_rates: created

-- step 1
CREATE TABLE IF NOT EXISTS shop.currency_rates
(
    day Date,
    currency LowCardinality(String),
    rate Decimal(38, 18) COMMENT 'What one unit of `currency` is worth in the base currency (major units, e.g. EUR 1.0834 when the base is USD).',
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (currency, day)
COMMENT 'Exchange rates into the base currency, loaded by the shop (one row per currency and day). Reports asked for `currency=base` convert each amount at the latest rate on or before its day; a later row for the same day and currency replaces the earlier one.';
