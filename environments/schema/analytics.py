"""The `analytics:` section: lake zones, Glue, Athena, streaming, Kafka and OpenSearch
(constructs/analytics/), and the checks across their fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from environments.schema.base import RESERVABLE_CONCURRENCY, ConfigModel, CronExpression, RetentionDays
from environments.schema.data import Transitions
from environments.schema.stream_processing import StreamProcessingConfig, stream_processing_problems

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig


class LakeZoneConfig(ConfigModel):
    """Lifecycle of one data-lake zone (seed 003: raw, processed, curated)."""

    transitions: Transitions = ()
    expiration_days: int | None = Field(default=None, ge=1)


class LakeConfig(ConfigModel):
    raw: LakeZoneConfig
    processed: LakeZoneConfig
    curated: LakeZoneConfig


class GlueConfig(ConfigModel):
    """Glue catalog, crawlers, the ETL and data-quality jobs and the workflow that chains them (seed 003)."""

    version: Literal["4.0", "5.0"]
    crawler_schedule: CronExpression
    workflow_schedule: CronExpression
    etl_workers: int = Field(ge=2, le=100, description="G.1X workers; seed 003: 2 DPU")
    etl_timeout_minutes: int = Field(ge=1, le=2880)
    lookback_days: int = Field(
        ge=1, le=31, description="delivery days of raw data each ETL run reads again (late deliveries, reruns)"
    )


class StreamingConfig(ConfigModel):
    """Kinesis on demand -> Firehose -> raw zone, and the Lambda stream processor (seed 000)."""

    retention_hours: int = Field(ge=24, le=8760)
    buffer_seconds: int = Field(ge=0, le=900)
    buffer_mib: int = Field(ge=1, le=128)
    processor_batch_size: int = Field(ge=1, le=10000)
    processor_reserved_concurrency: int = Field(ge=1, le=RESERVABLE_CONCURRENCY)


class MskConfig(ConfigModel):
    """Kafka (seeds 000, 004): provisioned brokers, serverless, or none."""

    mode: Literal["provisioned", "serverless", "off"]
    kafka_version: str = Field(default="3.8.x", pattern=r"^\d+\.\d+\.(\d+|x)$")
    broker_instance_type: str = Field(default="kafka.m5.large", pattern=r"^kafka\.[a-z0-9]+\.[a-z0-9]+$")
    brokers: int = Field(default=3, ge=2)
    volume_gib: int = Field(default=100, ge=1, le=16384)


class OpenSearchConfig(ConfigModel):
    """The log-analytics search domain (seeds 000, 004)."""

    engine_version: str = Field(pattern=r"^OpenSearch_\d+\.\d+$")
    data_nodes: int = Field(ge=1, le=80)
    data_instance_type: str = Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    dedicated_masters: Literal[0, 3, 5]
    master_instance_type: str = Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    volume_gib: int = Field(ge=10, le=16384)


class AnalyticsConfig(ConfigModel):
    """The analytics stack: lake, Glue, Athena, streaming, Kafka, search, stream processing."""

    lake: LakeConfig
    glue: GlueConfig
    athena_bytes_scanned_cutoff_gib: int = Field(ge=1)
    streaming: StreamingConfig
    msk: MskConfig
    opensearch: OpenSearchConfig
    stream_processing: StreamProcessingConfig
    log_retention_days: RetentionDays


def analytics_problems(config: StageConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    analytics = config.analytics
    for zone in ("raw", "processed", "curated"):
        lake = getattr(analytics.lake, zone)
        days = [t.after_days for t in lake.transitions]
        if days != sorted(set(days)):
            problems.append((f"analytics.lake.{zone}.transitions", "after_days must strictly increase"))
        if lake.expiration_days is not None and days and lake.expiration_days <= days[-1]:
            problems.append((f"analytics.lake.{zone}.expiration_days", "must come after the last transition"))
    msk = analytics.msk
    if msk.mode == "provisioned" and msk.brokers % len(config.availability_zones):
        problems.append(("analytics.msk.brokers", f"{msk.brokers} brokers do not spread evenly over 3 AZs"))
    search = analytics.opensearch
    if config.is_production:
        if search.data_nodes < 3 or search.dedicated_masters == 0:
            problems.append(("analytics.opensearch", "prod needs 3+ data nodes across AZs and dedicated masters"))
        if msk.mode == "off":
            problems.append(
                ("analytics.msk.mode", "prod streams through Kafka (seed 000); use provisioned or serverless")
            )
    if search.data_nodes > 1 and search.data_nodes % 3 and search.data_nodes % 2:
        problems.append(("analytics.opensearch.data_nodes", "zone awareness needs a multiple of 2 or 3 data nodes"))
    return problems + stream_processing_problems(config)
