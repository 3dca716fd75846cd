-- Revenue per day in one currency (the recipe's "revenue per day", with the currency as a
-- parameter instead of a literal and money kept in minor units; `revenue_display` is for reading only).
SELECT
    toDate(timestamp) AS day,
    sum({{ column("events", "revenue") }}) AS revenue_minor,
    sum({{ money("revenue", "currency") }}) AS revenue_display,
    count() AS orders
FROM {{ table("events") }}
WHERE event_type IN {{ events("purchase") }}
    AND currency = {{ param("currency", "String") }}
    AND {{ date_range("timestamp") }}
GROUP BY day
ORDER BY day
