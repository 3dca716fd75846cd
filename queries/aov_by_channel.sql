-- Average order value by the source/medium of each buyer's first campaign touch in the range:
-- what the recipe "AOV by channel" means (its published SQL has two GROUP BY clauses and does not
-- parse). Amounts stay in minor units, one row per currency.
WITH first_touch AS (
    SELECT
        person_id,
        argMin({{ column("events", "utm_source") }}, timestamp) AS source,
        argMin({{ column("events", "utm_medium") }}, timestamp) AS medium
    FROM {{ table("events") }}
    WHERE utm_source != '' AND {{ date_range("timestamp") }}
    GROUP BY person_id
)
SELECT
    ft.source AS source,
    ft.medium AS medium,
    o.currency AS currency,
    count() AS orders,
    sum(o.revenue) AS revenue,
    sum(o.revenue) / count() AS avg_order_value
FROM {{ table("events") }} AS o
INNER JOIN first_touch AS ft ON o.person_id = ft.person_id
WHERE o.event_type IN {{ events("purchase") }} AND {{ date_range("timestamp") }}
GROUP BY source, medium, currency
ORDER BY currency, orders DESC, source, medium
