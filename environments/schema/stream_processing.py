"""The `analytics.stream_processing:` section (seed 000's processing column): the Flink application over the
Kinesis stream, the Kafka consumer function, Firehose into the search domain for logs, and the CloudWatch metric
stream into the lake (constructs/analytics/). Each is a toggle; off, it makes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from environments.schema.base import RESERVABLE_CONCURRENCY, ConfigModel, YamlList

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig

FLINK_RUNTIME = "FLINK-1_20"
"""The newest runtime Managed Service for Apache Flink documents Python (3.11) and the AWS Kinesis SQL connector
for; CloudFormation's schema also lists FLINK-2_2 and 2_3, for which no Python connector line is published here."""
TOPIC_PATTERN = r"^[a-zA-Z0-9._-]{1,249}$"
"""Kafka topic names: letters, digits, '.', '_', '-', at most 249 characters."""
INDEX_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,79}$"
"""OpenSearch index names: lower case, no leading '-' or '_' (Firehose appends the rotation suffix)."""
Topic = Annotated[str, Field(pattern=TOPIC_PATTERN)]
Namespace = Annotated[str, Field(pattern=r"^[^:][^\s]{0,254}$")]
"""A CloudWatch namespace: 1-255 characters, not starting with ':'."""


class FlinkConfig(ConfigModel):
    """The PyFlink job (flink_jobs/): events from the Kinesis stream, per-tenant and event-type counts per
    tumbling window, written to the lake's processed zone (and to the time-series database when it exists)."""

    enabled: bool
    parallelism: int = Field(default=1, ge=1, le=256, description="the application's starting parallelism")
    parallelism_per_kpu: int = Field(default=1, ge=1, le=8)
    auto_scaling: bool = True
    window_seconds: int = Field(default=60, ge=10, le=3600, description="tumbling window of the aggregates")
    checkpoint_interval_seconds: int = Field(default=60, ge=10, le=3600)
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = "INFO"
    time_series_sink: bool = Field(
        default=False, description="also write the aggregates to Timestream for InfluxDB (needs that database)"
    )


class KafkaConsumerConfig(ConfigModel):
    """A Lambda function fed by an MSK event source mapping on `topics` (seed 000: MSK -> Lambda -> DynamoDB)."""

    enabled: bool
    topics: Annotated[tuple[Topic, ...], YamlList] = ()
    batch_size: int = Field(default=100, ge=1, le=10000)
    batching_window_seconds: int = Field(default=1, ge=0, le=300)
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"
    reserved_concurrency: int = Field(default=5, ge=1, le=RESERVABLE_CONCURRENCY)


class LogDeliveryConfig(ConfigModel):
    """Firehose -> the OpenSearch domain for logs (seed 000: Firehose to S3, OpenSearch), failed documents to S3."""

    enabled: bool
    index: str = Field(default="logs", pattern=INDEX_PATTERN)
    index_rotation: Literal["NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth"] = "OneDay"
    buffer_seconds: int = Field(default=60, ge=0, le=900)
    buffer_mib: int = Field(default=5, ge=1, le=100)
    retry_seconds: int = Field(default=300, ge=0, le=7200)


class MetricStreamConfig(ConfigModel):
    """A CloudWatch metric stream -> Firehose -> the lake's raw zone under metrics/ (seed 000: CloudWatch metrics
    into the ingestion column)."""

    enabled: bool
    output_format: Literal["json", "opentelemetry1.0", "opentelemetry0.7"] = "json"
    include_namespaces: Annotated[tuple[Namespace, ...], YamlList, Field(max_length=1000)] = Field(
        default=(), description="CloudWatch namespaces streamed; empty streams every namespace (1000 filters at most)"
    )
    buffer_seconds: int = Field(default=300, ge=0, le=900)
    buffer_mib: int = Field(default=64, ge=1, le=128)


class StreamProcessingConfig(ConfigModel):
    flink: FlinkConfig
    kafka_consumer: KafkaConsumerConfig
    log_delivery: LogDeliveryConfig
    metric_stream: MetricStreamConfig


def stream_processing_problems(config: StageConfig) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    section = "analytics.stream_processing"
    processing = config.analytics.stream_processing
    consumer = processing.kafka_consumer
    if consumer.enabled:
        if config.analytics.msk.mode == "off":
            problems.append((f"{section}.kafka_consumer.enabled", "needs Kafka: analytics.msk.mode is off"))
        if not consumer.topics:
            problems.append((f"{section}.kafka_consumer.topics", "name at least one topic to consume"))
    if len(set(consumer.topics)) != len(consumer.topics):
        problems.append((f"{section}.kafka_consumer.topics", "lists a topic twice"))
    if processing.flink.time_series_sink:
        problems.append(
            (f"{section}.flink.time_series_sink", "no Timestream for InfluxDB database in this platform to write to")
        )
    namespaces = processing.metric_stream.include_namespaces
    if len(set(namespaces)) != len(namespaces):
        problems.append((f"{section}.metric_stream.include_namespaces", "lists a namespace twice"))
    return problems
