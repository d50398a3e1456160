"""A local catalog with the lake's tables as the templates declare them (constructs/analytics/lake_tables.py;
tests/unit/test_analytics.py checks each stage's templates against the same specs): one database, each table
at its zone and prefix under a local folder, with its columns, format and partitions. As in Glue and Athena,
a table reads only the partitions registered in the catalog."""

from __future__ import annotations

from pathlib import Path

from constructs.analytics.lake_tables import TABLES, TableSpec
from pyspark.sql import SparkSession


def location(root: Path, spec: TableSpec) -> Path:
    return root / spec.zone / spec.prefix


def create_lake(spark: SparkSession, database: str, root: Path) -> None:
    """The lake's database and every table, under `root`/<zone>/<prefix>."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    for spec in TABLES:
        columns = ", ".join(f"{name} {kind}" for name, kind in (*spec.columns, *spec.partitions))
        partitions = ", ".join(name for name, _ in spec.partitions)
        spark.sql(
            f"CREATE TABLE {database}.{spec.name} ({columns}) USING {spec.format} PARTITIONED BY ({partitions}) "
            f"LOCATION '{location(root, spec)}'"
        )


def crawl_raw(spark: SparkSession, database: str) -> None:
    """What the raw crawler does: register the partitions Firehose delivered to the raw tables."""
    for spec in TABLES:
        if spec.zone == "raw" and spec.format == "json":
            spark.sql(f"MSCK REPAIR TABLE {database}.{spec.name}")
