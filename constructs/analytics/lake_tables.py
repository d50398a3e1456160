"""The lake's tables (seed 003), declared rather than crawled: each has its zone, prefix, columns, format and
partitions here, and the crawlers only register the raw tables' new partitions. The jobs register the
partitions they write themselves (they write through the catalog), so every table shows its data.

Layout: raw/{logs,events,feeds}/dt=<delivery day>/ (JSON lines, gzip, the event schema) and raw/quarantine/;
processed/{events,daily,hourly,real-time}/ and curated/{analytics,reporting,ml}/ (Parquet, by event_date).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from constructs import Construct
from constructs.analytics.data_lake import DataLake

from lambdas.stream_processor.event_schema import FIELDS, SOURCES

PARQUET = (
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
)
JSON_LINES = (
    "org.apache.hadoop.mapred.TextInputFormat",
    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    "org.openx.data.jsonserde.JsonSerDe",
)
Columns = tuple[tuple[str, str], ...]
BY_EVENT_DATE: Columns = (("event_date", "string"),)


@dataclass(frozen=True)
class TableSpec:
    """One table: where it lives (zone bucket and prefix), its columns, partitions and storage format."""

    name: str
    zone: str
    prefix: str
    columns: Columns
    partitions: Columns
    format: str
    description: str


RAW_TABLES = tuple(
    TableSpec(
        source,
        "raw",
        f"{source}/",
        tuple((field.column, field.glue_type) for field in FIELDS),
        (("dt", "string"),),
        "json",
        f"seed 003 raw {source}: the event schema as delivered, by delivery day",
    )
    for source in SOURCES
)
TABLES = (
    *RAW_TABLES,
    TableSpec("quarantine", "raw", "quarantine/", (("reason", "string"), ("record", "string")),
              (("source", "string"), ("dt", "string")), "parquet",
              "Raw records that do not conform to the event schema, with the reason"),
    TableSpec("events_clean", "processed", "events/",
              (("event_id", "string"), ("event_type", "string"), ("tenant_id", "string"), ("entity_id", "string"),
               ("event_time", "timestamp"), ("source", "string"), ("attributes", "map<string,string>"),
               ("ingest_date", "string")),
              BY_EVENT_DATE, "parquet", "Validated events, one row per event id, by the event's own day"),
    TableSpec("daily_agg", "processed", "daily/",
              (("tenant_id", "string"), ("event_type", "string"), ("event_count", "bigint"),
               ("entity_count", "bigint"), ("first_event_time", "timestamp"), ("last_event_time", "timestamp")),
              BY_EVENT_DATE, "parquet", "Events per tenant and event type per day"),
    TableSpec("hourly_agg", "processed", "hourly/",
              (("event_hour", "timestamp"), ("tenant_id", "string"), ("event_type", "string"),
               ("event_count", "bigint")),
              BY_EVENT_DATE, "parquet", "Events per tenant and event type per hour"),
    TableSpec("realtime_agg", "processed", "real-time/",
              (("window_start", "timestamp"), ("window_end", "timestamp"), ("tenant_id", "string"),
               ("event_type", "string"), ("event_count", "bigint")),
              BY_EVENT_DATE, "parquet", "The real-time view: events per tenant and event type in 5-minute windows"),
    TableSpec("analytics", "curated", "analytics/",
              (("tenant_id", "string"), ("event_count", "bigint"), ("event_type_count", "bigint"),
               ("active_entities", "bigint")),
              BY_EVENT_DATE, "parquet", "Business metrics: each tenant's daily KPIs"),
    TableSpec("reporting", "curated", "reporting/",
              (("event_type", "string"), ("event_count", "bigint"), ("tenant_count", "bigint")),
              BY_EVENT_DATE, "parquet", "Reports and exports: each event type's daily totals across tenants"),
    TableSpec("ml_datasets", "curated", "ml/",
              (("tenant_id", "string"), ("entity_id", "string"), ("event_count", "bigint"),
               ("event_type_count", "bigint"), ("first_event_time", "timestamp"), ("last_event_time", "timestamp"),
               ("active_hours", "bigint")),
              BY_EVENT_DATE, "parquet", "Training data: one feature row per entity per day"),
)  # fmt: skip
"""Every table of the lake's catalog database."""


class LakeTables(Construct):
    """`tables` by name: an `AWS::Glue::Table` per TableSpec in `database` (named `database_name`), on the
    lake's buckets."""

    def __init__(
        self, scope: Construct, construct_id: str, *, database: glue.CfnDatabase, database_name: str, lake: DataLake
    ) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, glue.CfnTable] = {}
        for spec in TABLES:
            input_format, output_format, serde = PARQUET if spec.format == "parquet" else JSON_LINES
            table = glue.CfnTable(
                self,
                "".join(part.capitalize() for part in spec.name.split("_")),
                catalog_id=cdk.Stack.of(self).account,
                database_name=database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=spec.name,
                    description=spec.description,
                    table_type="EXTERNAL_TABLE",
                    parameters={"classification": spec.format}
                    | ({"compressionType": "gzip"} if spec.format == "json" else {}),
                    partition_keys=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in spec.partitions],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        location=f"s3://{lake.zones[spec.zone].bucket_name}/{spec.prefix}",
                        input_format=input_format,
                        output_format=output_format,
                        serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=serde),
                        columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in spec.columns],
                    ),
                ),
            )
            table.add_resource_dependency(database)
            self.tables[spec.name] = table
