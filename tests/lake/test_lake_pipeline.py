"""Raw -> processed -> curated on a real local Spark, through a local catalog holding the lake's declared
tables: the ETL and aggregates steps the Glue entry points run, on generated deliveries (samples.py), across
runs and reruns; then the data-quality rulesets the templates declare, by their intent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import lake_jobs
import pytest
from constructs.analytics.glue_pipeline import RULESETS
from constructs.analytics.lake_tables import TABLES
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lambdas.stream_processor import event_schema
from tests.lake import dqdl, samples
from tests.lake.catalog import crawl_raw, create_lake

DATABASE = "lake"
LOOKBACK_DAYS = 3


@dataclass
class Lake:
    spark: SparkSession
    root: Path
    runs: dict[str, lake_jobs.EtlResult]

    def rows(self, table: str) -> list[dict[str, Any]]:
        frame = self.spark.table(f"{DATABASE}.{table}")
        return sorted((row.asDict() for row in frame.collect()), key=repr)

    def partitions(self, table: str) -> list[str]:
        return sorted(row[0] for row in self.spark.sql(f"SHOW PARTITIONS {DATABASE}.{table}").collect())

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {spec.name: self.rows(spec.name) for spec in TABLES if spec.zone != "raw"}


def _run(spark: SparkSession, run_date: date) -> lake_jobs.EtlResult:
    result = lake_jobs.run_etl(spark, DATABASE, event_schema, event_schema.SOURCES, run_date, LOOKBACK_DAYS)
    lake_jobs.run_aggregates(spark, DATABASE, result.event_dates)
    return result


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """Day 1 delivered, crawled, processed; day 2 delivered but not yet crawled, processed (a rerun of day 1);
    day 2 crawled, processed; and the same run once more."""
    root = tmp_path_factory.mktemp("lake")
    spark.sql(f"DROP DATABASE IF EXISTS {DATABASE} CASCADE")
    create_lake(spark, DATABASE, root)
    runs = {}
    samples.deliver(root, samples.DAY1_DELIVERIES, samples.DAY1)
    crawl_raw(spark, DATABASE)
    runs["day 1"] = _run(spark, samples.DAY1)
    lake = Lake(spark, root, runs)
    after_day1 = lake.snapshot()
    samples.deliver(root, samples.DAY2_DELIVERIES, samples.DAY2)
    runs["day 2, not crawled"] = _run(spark, samples.DAY2)
    assert lake.snapshot() == after_day1, "a rerun over the same registered raw data changed the lake"
    crawl_raw(spark, DATABASE)
    runs["day 2"] = _run(spark, samples.DAY2)
    yield lake
    spark.sql(f"DROP DATABASE IF EXISTS {DATABASE} CASCADE")


def test_unregistered_raw_partitions_read_empty(lake: Lake) -> None:
    """Day 2's delivery before the crawler registered it: the run read day 1 again and nothing of day 2 (the
    fixture also checks it left every table as it was)."""
    before, after = lake.runs["day 2, not crawled"], lake.runs["day 2"]
    assert before.event_dates == lake.runs["day 1"].event_dates == [samples.DAY1.isoformat(), samples.DAY2.isoformat()]
    assert after.event_dates == sorted(d.isoformat() for d in set(samples.UNIQUE_EVENTS.values()))


def test_each_event_once_on_its_own_day(lake: Lake) -> None:
    events = lake.rows("events_clean")
    assert sorted((r["event_id"], r["event_date"]) for r in events) == sorted(
        (event_id, day.isoformat()) for event_id, day in samples.UNIQUE_EVENTS.items()
    )
    first = {r["event_id"]: r for r in events}
    assert first["e1"]["ingest_date"] == samples.DAY1.isoformat()  # the resend on day 2 did not replace it
    assert first["l1"]["attributes"] == {"level": "error"} and first["l1"]["source"] == "logs"
    assert first["e2"]["event_time"].isoformat().startswith(f"{samples.DAY1.isoformat()}T10:30:00")  # epoch ms
    assert first["l1"]["event_time"].microsecond == 250_000  # ISO with a fraction
    assert lake.partitions("events_clean") == sorted(
        f"event_date={d.isoformat()}" for d in set(samples.UNIQUE_EVENTS.values())
    )


def test_bad_records_are_quarantined_with_the_reason(lake: Lake) -> None:
    quarantined = {r["record"]: r for r in lake.rows("quarantine")}
    assert set(quarantined) == {samples.MALFORMED, samples.MISSING_TENANT, samples.BAD_TYPE}
    assert quarantined[samples.MALFORMED]["reason"] == "not JSON"
    assert quarantined[samples.MISSING_TENANT]["reason"] == "tenantId is missing"
    assert "does not match" in quarantined[samples.BAD_TYPE]["reason"]
    assert {r["source"] for r in quarantined.values()} == {"events"}
    assert lake.runs["day 1"].quarantined == {"logs": 0, "events": 3, "feeds": 0}


def test_aggregates_per_tenant_and_event_type(lake: Lake) -> None:
    day1, day2, late = (d.isoformat() for d in (samples.DAY1, samples.DAY2, samples.LATE))
    daily = {(r["event_date"], r["tenant_id"], r["event_type"]): (r["event_count"], r["entity_count"])
             for r in lake.rows("daily_agg")}  # fmt: skip
    assert daily == {
        (day1, "t1", "order.created"): (2, 2), (day1, "t1", "log.error"): (1, 1), (day1, "t2", "feed.item"): (1, 1),
        (day2, "t2", "page.view"): (1, 1), (day2, "t1", "order.created"): (1, 1), (late, "t2", "page.view"): (1, 1),
    }  # fmt: skip
    hourly = {(r["event_hour"].hour, r["tenant_id"], r["event_type"], r["event_count"])
              for r in lake.rows("hourly_agg") if r["event_date"] == day1}  # fmt: skip
    assert hourly == {(10, "t1", "order.created", 2), (11, "t1", "log.error", 1), (12, "t2", "feed.item", 1)}
    windows = {
        (r["window_start"].strftime("%H:%M"), r["window_end"].strftime("%H:%M"), r["event_count"])
        for r in lake.rows("realtime_agg")
        if r["event_date"] == day1 and r["event_type"] == "order.created"
    }
    assert windows == {("10:00", "10:05", 1), ("10:30", "10:35", 1)}
    assert sum(r["event_count"] for r in lake.rows("daily_agg")) == len(samples.UNIQUE_EVENTS)


def test_curated_datasets(lake: Lake) -> None:
    day1 = samples.DAY1.isoformat()
    analytics = {r["tenant_id"]: (r["event_count"], r["event_type_count"], r["active_entities"])
                 for r in lake.rows("analytics") if r["event_date"] == day1}  # fmt: skip
    assert analytics == {"t1": (3, 2, 2), "t2": (1, 1, 1)}
    reporting = {r["event_type"]: (r["event_count"], r["tenant_count"])
                 for r in lake.rows("reporting") if r["event_date"] == day1}  # fmt: skip
    assert reporting == {"order.created": (2, 1), "log.error": (1, 1), "feed.item": (1, 1)}
    ml = {(r["tenant_id"], r["entity_id"]): (r["event_count"], r["event_type_count"], r["active_hours"])
          for r in lake.rows("ml_datasets") if r["event_date"] == day1}  # fmt: skip
    assert ml == {("t1", "a"): (2, 2, 2), ("t1", "b"): (1, 1, 1), ("t2", "d"): (1, 1, 1)}
    for spec in TABLES:
        if spec.zone != "raw":
            assert lake.partitions(spec.name), f"{spec.name} has no registered partition"


def test_a_rerun_changes_nothing(lake: Lake) -> None:
    before = lake.snapshot()
    again = _run(lake.spark, samples.DAY2)
    assert again == lake.runs["day 2"]
    assert lake.snapshot() == before


def test_the_rulesets_pass_on_the_lake_the_jobs_wrote(lake: Lake) -> None:
    dates = lake.runs["day 2"].event_dates
    for ruleset in RULESETS:
        frame = lake.spark.table(f"{DATABASE}.{ruleset.table}").where(f"event_date in {tuple(dates)}")
        results = dqdl.evaluate(frame, ruleset.dqdl, history=[frame.count()] * 3)
        assert all(results.values()), (ruleset.table, [rule for rule, ok in results.items() if not ok])


def test_the_rulesets_catch_what_they_are_for(lake: Lake) -> None:
    """Each check of events_clean fails on data broken its way: duplicates in a partition, a missing
    tenant, a bad event type, stale data, and a row count far below the recent runs'."""
    (events_rules,) = [r for r in RULESETS if r.table == "events_clean"]
    events = lake.spark.table(f"{DATABASE}.events_clean")
    one = events.where("event_id = 'e1'")

    def failed(frame: Any, history: tuple[int, ...] = ()) -> set[str]:
        return {rule for rule, ok in dqdl.evaluate(frame, events_rules.dqdl, history).items() if not ok}

    duplicated = events.unionByName(one)
    assert {'IsUnique "event_id"', *(r for r in events_rules.rules if "having count(*) > 1" in r)} <= failed(duplicated)
    no_tenant = one.withColumn("event_id", F.lit("e-no-tenant")).withColumn("tenant_id", F.lit(None).cast("string"))
    assert 'IsComplete "tenant_id"' in failed(events.unionByName(no_tenant))
    bad_type = one.withColumn("event_id", F.lit("e-bad-type")).withColumn("event_type", F.lit("Order Created"))
    assert any("matches" in r for r in failed(events.unionByName(bad_type)))
    assert any("max(event_time)" in r for r in failed(events.where(f"event_date = '{samples.LATE.isoformat()}'")))
    assert any("avg(last" in r for r in failed(events, history=(100, 120, 110)))
