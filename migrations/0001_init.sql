-- chx migration 0001: init
--
-- Changes:
--   table events: created
--   table event_items: created
--   table event_properties: created
--   table identities: created
--   table revenue_daily: created
--   view event_items_mv: created
--   view event_properties_mv: created
--   view identities_mv: created
--   view revenue_daily_mv: created

-- step 1
CREATE TABLE IF NOT EXISTS shop.events
(
    event_id UUID DEFAULT generateUUIDv4() COMMENT 'Unique per event; a redelivered event keeps its id so ReplacingMergeTree collapses it.',
    timestamp DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    received_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When chx ingested the row; the ReplacingMergeTree version, so the latest delivery wins.' CODEC(DoubleDelta, ZSTD(1)),
    event_type LowCardinality(String),
    user_id String,
    anonymous_id String,
    person_id String MATERIALIZED if(user_id != '', user_id, anonymous_id) COMMENT 'user_id when known, else anonymous_id; identity stitching across login happens in reports.',
    session_id String,
    cart_id String,
    transaction_id String,
    currency LowCardinality(String),
    revenue Int64 COMMENT 'Minor units of `currency` (cents; yen for JPY).',
    discount Int64,
    shipping Int64,
    tax Int64,
    coupon_code LowCardinality(String),
    items Array(Tuple(item_id String, item_name String, item_category LowCardinality(String), item_brand LowCardinality(String), item_variant String, item_list_name String, item_list_id String, item_image_url String, price Int64, quantity UInt32, currency LowCardinality(String), coupon_code String, discount Int64)) COMMENT 'Item prices and discounts in minor units of the item currency (or the event\'s).',
    properties Map(LowCardinality(String), String) COMMENT 'Free-form string properties (search_term, rating, ...); exploded into event_properties.',
    utm_campaign LowCardinality(String),
    utm_source LowCardinality(String),
    utm_medium LowCardinality(String),
    utm_term String,
    utm_content String,
    referrer String CODEC(ZSTD(3)),
    page_url String CODEC(ZSTD(3)),
    country LowCardinality(String),
    device_type LowCardinality(String),
    platform LowCardinality(String),
    ip IPv6 COMMENT 'IPv4 addresses are stored IPv4-mapped.',
    user_agent String CODEC(ZSTD(3)),
    INDEX idx_transaction_id transaction_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (event_type, toDate(timestamp), person_id, timestamp, event_id)
TTL toDateTime(timestamp) + INTERVAL 730 DAY
SETTINGS index_granularity = 8192
COMMENT 'One row per tracked e-commerce event (the seed API\'s track body plus identity and context).';

-- step 2
CREATE TABLE IF NOT EXISTS shop.event_items
(
    event_id UUID,
    timestamp DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    event_type LowCardinality(String),
    user_id String,
    anonymous_id String,
    person_id String,
    transaction_id String,
    item_index UInt32 COMMENT '1-based position of the item in the event',
    item_id String,
    item_name String,
    item_category LowCardinality(String),
    item_brand LowCardinality(String),
    item_variant String,
    item_list_name String,
    price Int64 COMMENT 'Unit price in minor units of currency',
    quantity UInt32,
    currency LowCardinality(String),
    coupon_code String,
    discount Int64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (event_type, toDate(timestamp), item_id, person_id)
TTL toDateTime(timestamp) + INTERVAL 730 DAY
COMMENT 'One row per item of an event (view_item, add_to_cart, purchase, ...); filled by event_items_mv.';

-- step 3
CREATE TABLE IF NOT EXISTS shop.event_properties
(
    event_id UUID,
    timestamp DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    event_type LowCardinality(String),
    user_id String,
    anonymous_id String,
    person_id String,
    `key` LowCardinality(String),
    value String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (key, event_type, toDate(timestamp), person_id)
TTL toDateTime(timestamp) + INTERVAL 730 DAY
COMMENT 'One row per free-form property of an event; filled by event_properties_mv.';

-- step 4
CREATE TABLE IF NOT EXISTS shop.identities
(
    anonymous_id String,
    user_id String,
    linked_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(linked_at)
ORDER BY (anonymous_id, user_id)
COMMENT 'Links anonymous_id to user_id when an event carries both; reports stitch pre-login history with it.';

-- step 5
CREATE TABLE IF NOT EXISTS shop.revenue_daily
(
    day Date,
    event_type LowCardinality(String),
    currency LowCardinality(String),
    amount AggregateFunction(sum, Int64),
    discount AggregateFunction(sum, Int64),
    shipping AggregateFunction(sum, Int64),
    tax AggregateFunction(sum, Int64),
    events AggregateFunction(count),
    transactions AggregateFunction(uniqExact, String),
    items_sold AggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, currency)
COMMENT 'Rollup written by materialized view revenue_daily_mv; read it with -Merge combinators.';

-- step 6
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.event_items_mv TO shop.event_items
AS SELECT
    event_id,
    timestamp,
    event_type,
    user_id,
    anonymous_id,
    person_id,
    transaction_id,
    item_index,
    item.item_id AS item_id,
    item.item_name AS item_name,
    item.item_category AS item_category,
    item.item_brand AS item_brand,
    item.item_variant AS item_variant,
    item.item_list_name AS item_list_name,
    item.price AS price,
    item.quantity AS quantity,
    if(item.currency != '', item.currency, currency) AS currency,
    item.coupon_code AS coupon_code,
    item.discount AS discount
FROM shop.events
ARRAY JOIN
    items AS item,
    arrayEnumerate(items) AS item_index
WHERE length(items) > 0;

-- step 7
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.event_properties_mv TO shop.event_properties
AS SELECT
    event_id,
    timestamp,
    event_type,
    user_id,
    anonymous_id,
    person_id,
    `key`,
    value
FROM shop.events
ARRAY JOIN
    mapKeys(properties) AS `key`,
    mapValues(properties) AS value
WHERE length(properties) > 0;

-- step 8
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.identities_mv TO shop.identities
AS SELECT anonymous_id, user_id, timestamp AS linked_at FROM shop.events WHERE anonymous_id != '' AND user_id != '';

-- step 9
CREATE MATERIALIZED VIEW IF NOT EXISTS shop.revenue_daily_mv TO shop.revenue_daily
AS SELECT
    toDate(timestamp) AS day,
    event_type,
    currency,
    sumState(revenue) AS amount,
    sumState(discount) AS discount,
    sumState(shipping) AS shipping,
    sumState(tax) AS tax,
    countState() AS events,
    uniqExactState(transaction_id) AS transactions,
    sumState(arraySum(x -> toInt64(x.quantity), items)) AS items_sold
FROM shop.events
WHERE event_type IN ('purchase', 'refund')
GROUP BY day, event_type, currency
COMMENT 'Daily purchase and refund totals per currency; revenue reports read this instead of events.';
