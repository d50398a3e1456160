"""Seed 000's processing column (analytics.stream_processing): the PyFlink job's logic in plain Python (PyFlink
itself is the runtime's, not installed here), the Kafka consumer run from its staged asset, and what each toggle
makes in the templates, or leaves out."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import aws_cdk as cdk
import pytest
from constructs.analytics.flink_aggregates import CODE_FILES as FLINK_FILES
from constructs.analytics.flink_aggregates import CONNECTOR_JAR, OUTPUT_PREFIX
from constructs.analytics.kafka_consumer import CODE_FILES
from constructs.common.staged_modules import staged_modules

from environments.schema.stream_processing import FLINK_RUNTIME
from stacks.analytics import AnalyticsStack
from tests.support import logical_id, props, ref_id
from tests.synthesis import SynthesizedPlatform

GOOD = {"eventId": "e-1", "eventType": "ticket.created", "tenantId": "t-1", "entityId": "42",
        "eventTime": "2025-01-31T12:00:00Z"}  # fmt: skip


def _import_from(folder: str, module: str) -> ModuleType:
    """`module` from a staged asset folder, fresh, with that folder first on sys.path (as the runtime has it)."""
    sys.path.insert(0, folder)
    try:
        for name in (module, "event_schema", "kinesis_processor", "aggregates"):
            sys.modules.pop(name, None)
        return importlib.import_module(module)
    finally:
        sys.path.remove(folder)


@pytest.fixture
def aggregates() -> ModuleType:
    return _import_from(staged_modules(FLINK_FILES), "aggregates")


def test_the_job_counts_conforming_events_per_tenant_and_type(aggregates: ModuleType) -> None:
    other = {**GOOD, "eventId": "e-2", "tenantId": "t-2"}
    raws = [json.dumps(GOOD), json.dumps({**GOOD, "eventId": "e-3"}), json.dumps(other), "not json",
            json.dumps({**GOOD, "eventType": "Bad Type"})]  # fmt: skip
    assert aggregates.window_counts(raws) == {("t-1", "ticket.created"): 2, ("t-2", "ticket.created"): 1}
    assert aggregates.event_key("{}") is None


def test_the_job_reads_its_settings_from_the_application_properties(aggregates: ModuleType) -> None:
    groups = [{"PropertyGroupId": aggregates.JOB_PROPERTIES, "PropertyMap": {
        "stream.arn": "arn:aws:kinesis:us-east-1:1:stream/s", "aws.region": "us-east-1",
        "output.path": "s3://lake/real-time", "window.seconds": "60"}}]  # fmt: skip
    job = aggregates.settings(groups)
    assert job.output_path == "s3://lake/real-time/" and job.window_seconds == 60
    assert "'stream.arn' = 'arn:aws:kinesis:us-east-1:1:stream/s'" in aggregates.source_ddl(job)
    assert "INTERVAL '60' SECOND" in aggregates.aggregate_sql(job)
    assert "'path' = 's3://lake/real-time/'" in aggregates.sink_ddl(job)
    with pytest.raises(ValueError, match=r"lacks output\.path"):
        aggregates.settings([{"PropertyGroupId": aggregates.JOB_PROPERTIES, "PropertyMap": {
            k: v for k, v in groups[0]["PropertyMap"].items() if k != "output.path"}}])  # fmt: skip


def _kafka_event(*values: object) -> dict[str, Any]:
    records = [
        {"topic": "platform-events", "partition": 0, "offset": offset,
         "value": base64.b64encode((v if isinstance(v, str) else json.dumps(v)).encode()).decode()}
        for offset, v in enumerate(values)
    ]  # fmt: skip
    return {"eventSource": "aws:kafka", "records": {"platform-events-0": records}}


class _Table:
    def __init__(self, fail: bool = False) -> None:
        self.items: list[dict[str, str]] = []
        self.fail = fail

    def put_item(self, Item: dict[str, str]) -> None:
        if self.fail:
            raise RuntimeError("throttled")
        self.items.append(Item)


def test_the_kafka_consumer_keeps_state_from_its_staged_asset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = _import_from(staged_modules(CODE_FILES), "handler")
    table = _Table()
    monkeypatch.setattr(handler.kinesis_processor, "_table", lambda: table)
    monkeypatch.setenv("STATE_TABLE", "state")
    monkeypatch.setenv("METRICS_NAMESPACE", "platform/dev/lake")
    handler.handler(_kafka_event(GOOD, "not json"), None)
    assert table.items == [{"entityId": "42", "lastEventType": "ticket.created",
                            "lastSequenceNumber": "platform-events-0:0"}]  # fmt: skip
    metric = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metric["Source"] == "kafka-consumer" and metric["QuarantinedRecords"] == 1
    # A failed write fails the batch: the mapping bisects, retries, then parks it on its queue.
    monkeypatch.setattr(handler.kinesis_processor, "_table", lambda: _Table(fail=True))
    with pytest.raises(RuntimeError):
        handler.handler(_kafka_event(GOOD), None)


def _analytics(examples: SynthesizedPlatform, stage: str) -> AnalyticsStack:
    return examples.stages[stage].analytics


def _app_tier(tmpl: dict[str, Any], stack: AnalyticsStack) -> dict[str, Any]:
    """The stream processor's VpcConfig: the app subnets and the workload group, as this stack imports them."""
    placement: dict[str, Any] = tmpl["Resources"][logical_id(stack.streaming.processor.function)]["Properties"][
        "VpcConfig"
    ]
    return placement


def _resources(tmpl: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return props(tmpl, resource_type)


def test_flink_application(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.stream_processing.flink
    tmpl = examples.template_json(stage, "analytics")
    stack = _analytics(examples, stage)
    applications = _resources(tmpl, "AWS::KinesisAnalyticsV2::Application")
    if not config.enabled:
        assert stack.flink is None and applications == []
        assert _resources(tmpl, "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption") == []
        return
    assert stack.flink is not None
    (application,) = applications
    assert application["RuntimeEnvironment"] == FLINK_RUNTIME
    settings = application["ApplicationConfiguration"]
    flink = settings["FlinkApplicationConfiguration"]
    assert flink["CheckpointConfiguration"]["CheckpointingEnabled"] is True
    assert flink["ParallelismConfiguration"]["Parallelism"] == config.parallelism
    assert settings["ApplicationSnapshotConfiguration"] == {"SnapshotsEnabled": True}
    (vpc,) = settings["VpcConfigurations"]
    assert vpc["SubnetIds"] == _app_tier(tmpl, stack)["SubnetIds"]
    groups = {p["PropertyGroupId"]: p["PropertyMap"] for p in settings["EnvironmentProperties"]["PropertyGroups"]}
    run = groups["kinesis.analytics.flink.run.options"]
    assert run["jarfile"] == f"lib/{CONNECTOR_JAR}"
    # Every module the run options name is in the zip, under that name.
    staged = Path(cast(cdk.Stage, cdk.Stage.of(stack)).outdir) / stack.flink.code.asset_path
    assert {run["python"], *run["pyFiles"].split(",")} <= {p.name for p in staged.iterdir()}
    (logging,) = _resources(tmpl, "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption")
    assert logging["ApplicationName"] == stack.flink.application_name
    policy = tmpl["Resources"][logical_id(stack.flink.role)]
    assert policy["Type"] == "AWS::IAM::Role"
    writes = [
        s for p in _resources(tmpl, "AWS::IAM::ManagedPolicy") for s in p["PolicyDocument"]["Statement"]
        if s.get("Sid") == "WriteAggregates"
    ]  # fmt: skip
    (write,) = writes  # the job writes one prefix of the processed zone, nothing else
    assert write["Resource"]["Fn::Join"][1] == [
        {"Fn::GetAtt": [logical_id(stack.lake.processed), "Arn"]},
        f"/{OUTPUT_PREFIX}*",
    ]


def test_kafka_consumer(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.stream_processing.kafka_consumer
    tmpl = examples.template_json(stage, "analytics")
    stack = _analytics(examples, stage)
    if stack.kafka_consumer is None:
        assert not config.enabled or examples.configs[stage].analytics.msk.mode == "off"
        return
    function = logical_id(stack.kafka_consumer.consumer.function)
    mappings = [p for p in _resources(tmpl, "AWS::Lambda::EventSourceMapping") if ref_id(p["FunctionName"]) == function]
    assert sorted(t for m in mappings for t in m["Topics"]) == sorted(config.topics)
    for mapping in mappings:
        assert mapping["ProvisionedPollerConfig"]["MinimumPollers"] >= 1
        assert mapping["BisectBatchOnFunctionError"] is True
        assert ref_id(mapping["DestinationConfig"]["OnFailure"]["Destination"]) == logical_id(
            stack.kafka_consumer.failure_queue
        )
    ingress = _resources(tmpl, "AWS::EC2::SecurityGroupIngress")
    assert any(r["FromPort"] == 9098 and r["SourceSecurityGroupId"] == r["GroupId"] for r in ingress)


def test_log_delivery_into_the_search_domain(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.stream_processing.log_delivery
    tmpl = examples.template_json(stage, "analytics")
    deliveries = [
        p["AmazonopensearchserviceDestinationConfiguration"]
        for p in _resources(tmpl, "AWS::KinesisFirehose::DeliveryStream")
        if "AmazonopensearchserviceDestinationConfiguration" in p
    ]
    if not config.enabled:
        assert deliveries == []
        return
    (delivery,) = deliveries
    assert delivery["IndexName"] == config.index and delivery["IndexRotationPeriod"] == config.index_rotation
    assert delivery["S3BackupMode"] == "FailedDocumentsOnly"
    assert "KMSEncryptionConfig" in delivery["S3Configuration"]["EncryptionConfiguration"]
    placement = _app_tier(tmpl, _analytics(examples, stage))
    assert delivery["VpcConfiguration"]["SubnetIds"] == placement["SubnetIds"]
    assert delivery["VpcConfiguration"]["SecurityGroupIds"] == placement["SecurityGroupIds"]


def test_metric_stream_into_the_raw_zone(examples: SynthesizedPlatform, stage: str) -> None:
    config = examples.configs[stage].analytics.stream_processing.metric_stream
    tmpl = examples.template_json(stage, "analytics")
    streams = _resources(tmpl, "AWS::CloudWatch::MetricStream")
    if not config.enabled:
        assert streams == []
        return
    (stream,) = streams
    assert stream["OutputFormat"] == config.output_format
    assert [f["Namespace"] for f in stream.get("IncludeFilters", [])] == list(config.include_namespaces)
    stack = _analytics(examples, stage)
    assert stack.metric_stream is not None
    delivery = tmpl["Resources"][logical_id(stack.metric_stream.delivery_stream)]["Properties"]
    assert delivery["ExtendedS3DestinationConfiguration"]["Prefix"].startswith("metrics/dt=")
    assert delivery["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
