"""The lake's job steps on a SparkSession and its catalog: what the thin Glue entry points run and the tests
run locally. They read tables through the catalog (only registered partitions exist, as in Athena) and write
with dynamic partition overwrite through the catalog, which replaces exactly the partitions a run computed
and registers new ones: a retry or a rerun of the same input writes the same rows, never a second copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce
from types import ModuleType

import lake_transforms as transforms
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

EVENTS = "events_clean"
QUARANTINE = "quarantine"


@dataclass(frozen=True)
class EtlResult:
    """What a run of the ETL did: the event days it rewrote and the records it quarantined, by source."""

    event_dates: list[str]
    quarantined: dict[str, int]


def configure(spark: SparkSession) -> None:
    """Overwrite only the partitions a write contains, in UTC (event days are UTC days)."""
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("hive.exec.dynamic.partition.mode", "nonstrict")
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def overwrite_partitions(spark: SparkSession, frame: DataFrame, table: str) -> None:
    """Write `frame` into the catalog table `table`, replacing the partitions it holds (columns by name)."""
    frame.select(*spark.table(table).columns).write.insertInto(table, overwrite=True)


def raw_lines(spark: SparkSession, database: str, source: str, since: date) -> DataFrame:
    """The lines of the raw table `source` in its registered partitions delivered on or after `since`."""
    table = f"{database}.{source}"
    frames = []
    for (partition,) in spark.sql(f"SHOW PARTITIONS {table}").collect():
        day = partition.split("=", 1)[1]
        if day < since.isoformat():
            continue
        details = spark.sql(f"DESCRIBE TABLE EXTENDED {table} PARTITION (dt = '{day}')")
        # The partition's own location comes first, before the table's.
        location = next(row.data_type for row in details.collect() if row.col_name == "Location")
        lines = spark.read.text(location).withColumn("source", F.lit(source)).withColumn("dt", F.lit(day))
        frames.append(lines)
    empty = spark.createDataFrame([], "value string, source string, dt string")
    return reduce(DataFrame.unionByName, frames, empty)


def run_etl(
    spark: SparkSession, database: str, schema: ModuleType, sources: tuple[str, ...], run_date: date, lookback_days: int
) -> EtlResult:
    """Raw -> quarantine + events_clean: the raw partitions of the last `lookback_days` days, validated,
    merged with the stored events of the days they fall on, de-duplicated, and those days rewritten."""
    configure(spark)
    since = run_date - timedelta(days=lookback_days)
    lines = reduce(DataFrame.unionByName, [raw_lines(spark, database, source, since) for source in sources])
    events, quarantined = transforms.parse_raw(lines, schema)
    quarantined = quarantined.localCheckpoint()
    overwrite_partitions(spark, quarantined, f"{database}.{QUARANTINE}")
    counts = {row.source: row["count"] for row in quarantined.groupBy("source").count().collect()}

    events = events.localCheckpoint()
    event_dates = sorted(row.event_date for row in events.select("event_date").distinct().collect())
    if event_dates:
        stored = spark.table(f"{database}.{EVENTS}").where(F.col("event_date").isin(event_dates))
        # Materialised before the write: the write replaces the very partitions `stored` reads.
        merged = transforms.deduplicate(events, stored).localCheckpoint()
        overwrite_partitions(spark, merged, f"{database}.{EVENTS}")
    return EtlResult(event_dates, {source: counts.get(source, 0) for source in sources})


def run_aggregates(spark: SparkSession, database: str, event_dates: list[str]) -> None:
    """events_clean -> the processed aggregates and the curated datasets, for the days the ETL rewrote."""
    configure(spark)
    if not event_dates:
        return
    events = spark.table(f"{database}.{EVENTS}").where(F.col("event_date").isin(event_dates)).localCheckpoint()
    for table, transform in transforms.DATASETS.items():
        overwrite_partitions(spark, transform(events), f"{database}.{table}")
