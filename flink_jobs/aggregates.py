"""What the stream-aggregates job computes, in plain Python (main.py wires it into Flink): each Kinesis record
is checked against the lake's event schema (event_schema.py, shipped beside this module) and keyed by tenant and
event type; Flink counts the keys per tumbling window. Standard library only: the tests run it without Flink."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import event_schema

RUN_OPTIONS = "kinesis.analytics.flink.run.options"
"""Managed Service for Apache Flink's property group naming the Python entry point, its modules and the jar."""
JOB_PROPERTIES = "StreamAggregates"
"""The job's own property group: the stream, the lake path, the window."""
REQUIRED = ("stream.arn", "aws.region", "output.path", "window.seconds")


@dataclass(frozen=True)
class JobSettings:
    stream_arn: str
    region: str
    output_path: str
    window_seconds: int


def settings(groups: Iterable[Mapping[str, Any]]) -> JobSettings:
    """The job's settings from Managed Flink's application properties (a list of PropertyGroupId/PropertyMap)."""
    found = {g["PropertyGroupId"]: g["PropertyMap"] for g in groups}
    job = found.get(JOB_PROPERTIES, {})
    if missing := [key for key in REQUIRED if key not in job]:
        raise ValueError(f"property group {JOB_PROPERTIES} lacks {', '.join(missing)}")
    window = int(job["window.seconds"])
    if window <= 0:
        raise ValueError("window.seconds must be positive")
    return JobSettings(job["stream.arn"], job["aws.region"], job["output.path"].rstrip("/") + "/", window)


def event_key(raw: str) -> tuple[str, str] | None:
    """(tenantId, eventType) of a conforming event; None for one the schema rejects (the processor and the ETL
    quarantine those; the aggregates skip them)."""
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    if event_schema.problems(event):
        return None
    return event["tenantId"], event["eventType"]


def window_counts(raws: Iterable[str]) -> dict[tuple[str, str], int]:
    """What one window's records aggregate to: the count per (tenant, event type), conforming events only."""
    counts: dict[tuple[str, str], int] = {}
    for raw in raws:
        if (key := event_key(raw)) is not None:
            counts[key] = counts.get(key, 0) + 1
    return counts


def source_ddl(job: JobSettings) -> str:
    """The Kinesis source: each record as one raw string, plus processing time for the windows."""
    return f"""
        CREATE TABLE events (
            raw STRING,
            arrival AS PROCTIME()
        ) WITH (
            'connector' = 'kinesis',
            'stream.arn' = '{job.stream_arn}',
            'aws.region' = '{job.region}',
            'source.init.position' = 'LATEST',
            'format' = 'raw'
        )"""


def sink_ddl(job: JobSettings) -> str:
    """The processed zone's stream_aggregates/ folder: newline-delimited JSON, one folder per window's day."""
    return f"""
        CREATE TABLE aggregates (
            tenant_id STRING,
            event_type STRING,
            window_start TIMESTAMP(3),
            window_end TIMESTAMP(3),
            event_count BIGINT,
            dt STRING
        ) PARTITIONED BY (dt) WITH (
            'connector' = 'filesystem',
            'path' = '{job.output_path}',
            'format' = 'json',
            'sink.partition-commit.policy.kind' = 'success-file'
        )"""


def aggregate_sql(job: JobSettings) -> str:
    """Counts per tenant and event type per tumbling window of `window_seconds`, keyed by the `event_key` UDF."""
    return f"""
        INSERT INTO aggregates
        SELECT k.tenant_id, k.event_type, window_start, window_end, COUNT(*) AS event_count,
               DATE_FORMAT(window_start, 'yyyy-MM-dd') AS dt
        FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(arrival), INTERVAL '{job.window_seconds}' SECOND)),
             LATERAL TABLE(event_key(raw)) AS k(tenant_id, event_type)
        GROUP BY k.tenant_id, k.event_type, window_start, window_end"""
