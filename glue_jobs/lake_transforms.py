"""The lake's transforms (seed 003) as pure functions of DataFrames: no Glue, no I/O, so the tests run them on
a local Spark. Columns follow the tables in constructs/analytics/lake_tables.py.

- `parse_raw`: raw lines -> conforming events (validated by the event schema's own code) + quarantined lines;
- `deduplicate`: one row per event id across this run's events and those already stored for the same days;
- the aggregates (`daily`, `hourly`, `realtime`) and the curated datasets (`analytics`, `reporting`, `ml`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REALTIME_WINDOW = "5 minutes"
CHECK_TYPE = T.StructType([
    T.StructField("problems", T.ArrayType(T.StringType())),
    T.StructField("event_time_us", T.LongType()),
])  # fmt: skip
RECORD_TYPE = T.StructType([
    T.StructField("eventId", T.StringType()), T.StructField("eventType", T.StringType()),
    T.StructField("tenantId", T.StringType()), T.StructField("entityId", T.StringType()),
    T.StructField("attributes", T.MapType(T.StringType(), T.StringType())),
])  # fmt: skip


def checker(schema: ModuleType) -> Any:
    """A UDF: a raw line's schema problems (the event schema's `problems`, the code the stream processor runs)
    and, when there are none, its event time in microseconds since the epoch (ISO or epoch milliseconds)."""

    def check(line: str | None) -> tuple[list[str], int | None]:
        try:
            record = json.loads(line or "")
        except ValueError:
            return ["not JSON"], None
        found = schema.problems(record)
        if found:
            return found, None
        return [], (schema.parse_event_time(record["eventTime"]) - EPOCH) // timedelta(microseconds=1)

    return F.udf(check, CHECK_TYPE)


def parse_raw(lines: DataFrame, schema: ModuleType) -> tuple[DataFrame, DataFrame]:
    """`lines` (value, source, dt) -> (events as in events_clean with event_date, quarantine rows)."""
    checked = lines.withColumn("check", checker(schema)("value"))
    conforming = F.size("check.problems") == 0
    record = F.from_json("value", RECORD_TYPE)
    events = (
        checked.where(conforming)
        .withColumn("record", record)
        .select(
            F.col("record.eventId").alias("event_id"),
            F.col("record.eventType").alias("event_type"),
            F.col("record.tenantId").alias("tenant_id"),
            F.col("record.entityId").alias("entity_id"),
            F.timestamp_micros("check.event_time_us").alias("event_time"),
            "source",
            F.col("record.attributes").alias("attributes"),
            F.col("dt").alias("ingest_date"),
        )
        .withColumn("event_date", F.date_format("event_time", "yyyy-MM-dd"))
    )
    quarantined = checked.where(~conforming).select(
        F.array_join("check.problems", "; ").alias("reason"), F.col("value").alias("record"), "source", "dt"
    )
    return events, quarantined


def deduplicate(events: DataFrame, stored: DataFrame) -> DataFrame:
    """One row per event id over this run's `events` and the `stored` rows of the days they fall on: the
    first delivery wins, so a retry, a rerun or a producer's resend changes nothing already written."""
    first = Window.partitionBy("event_id").orderBy("ingest_date", "source", "event_time", "entity_id", "event_type")
    return (
        stored.unionByName(events).withColumn("copy", F.row_number().over(first)).where(F.col("copy") == 1).drop("copy")
    )


def _counts(events: DataFrame, *keys: str | Column) -> DataFrame:
    return events.groupBy("event_date", *keys).agg(F.count("*").alias("event_count"))


def daily(events: DataFrame) -> DataFrame:
    """daily_agg: per day, tenant and event type: events, distinct entities, first and last event time."""
    return events.groupBy("event_date", "tenant_id", "event_type").agg(
        F.count("*").alias("event_count"),
        F.countDistinct("entity_id").alias("entity_count"),
        F.min("event_time").alias("first_event_time"),
        F.max("event_time").alias("last_event_time"),
    )


def hourly(events: DataFrame) -> DataFrame:
    """hourly_agg: per hour, tenant and event type."""
    return _counts(events, F.date_trunc("hour", "event_time").alias("event_hour"), "tenant_id", "event_type")


def realtime(events: DataFrame) -> DataFrame:
    """realtime_agg, the real-time view: per 5-minute window, tenant and event type."""
    windowed = _counts(events, F.window("event_time", REALTIME_WINDOW).alias("w"), "tenant_id", "event_type")
    return windowed.select(F.col("w.start").alias("window_start"), F.col("w.end").alias("window_end"), "*").drop("w")


def analytics(events: DataFrame) -> DataFrame:
    """curated analytics: each tenant's daily KPIs."""
    return events.groupBy("event_date", "tenant_id").agg(
        F.count("*").alias("event_count"),
        F.countDistinct("event_type").alias("event_type_count"),
        F.countDistinct("entity_id").alias("active_entities"),
    )


def reporting(events: DataFrame) -> DataFrame:
    """curated reporting: each event type's daily totals across tenants."""
    return events.groupBy("event_date", "event_type").agg(
        F.count("*").alias("event_count"), F.countDistinct("tenant_id").alias("tenant_count")
    )


def ml(events: DataFrame) -> DataFrame:
    """curated ml_datasets: one feature row per entity per day."""
    return events.groupBy("event_date", "tenant_id", "entity_id").agg(
        F.count("*").alias("event_count"),
        F.countDistinct("event_type").alias("event_type_count"),
        F.min("event_time").alias("first_event_time"),
        F.max("event_time").alias("last_event_time"),
        F.countDistinct(F.date_trunc("hour", "event_time")).alias("active_hours"),
    )


DATASETS = {
    "daily_agg": daily,
    "hourly_agg": hourly,
    "realtime_agg": realtime,
    "analytics": analytics,
    "reporting": reporting,
    "ml_datasets": ml,
}
"""Each table the aggregates job writes, with the transform that computes it from events_clean."""
