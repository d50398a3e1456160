"""`make cost`: every resource of every stage is priced, free (with a reason) or usage-priced (with a stated
assumption), never a silent zero; the rules price what the templates say; the README's figures are the
estimates of the shipped examples."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from environments.loader import load_stages
from stacks.app_settings import new_app
from stacks.platform_app import build_platform
from tests.stage_files import EXAMPLE_CONFIG, REPO_ROOT
from tests.synthesis import SynthesizedPlatform, cdk_json_context
from tools import cost
from tools.assembly import CloudAssembly, Stack, StageAssembly
from tools.prices import PriceRef, PriceTable, on_demand_usd, query, refresh

LEAN_EXAMPLE = REPO_ROOT / "environments" / "examples"
README_ROW = re.compile(r"^\| `(?P<stage>[a-z0-9-]+)` \| \$(?P<total>[\d,]+) \|", re.MULTILINE)


def _stage(outdir: Path, name: str) -> StageAssembly:
    return CloudAssembly.read(outdir).stage(name)


def test_every_resource_has_a_cost_rule_or_is_free(platform: SynthesizedPlatform, stage: str) -> None:
    """Every stage file present: each resource type is priced by a rule or free with a reason. A price its
    region's table lacks (a region or size the committed tables do not hold) is not a failure here: `make
    cost` lists it, and `make prices` fetches it with AWS credentials, which a test run does not have."""
    result = cost.estimate(_stage(platform.outdir, stage))
    no_rule = [u for u in result.unpriced if u.no_rule]
    assert not no_rule, "\n".join(f"{u.stack}: {u.resource}: {u.reason}" for u in no_rule)


def test_every_resource_of_the_examples_is_priced_free_or_assumed(examples: SynthesizedPlatform, stage: str) -> None:
    """No silent zeros in the shipped examples' estimates (the README's figures): a type without a rule, or
    a size the price table lacks, fails here."""
    result = cost.estimate(_stage(examples.outdir, stage))
    assert not result.unpriced, "\n".join(f"{u.stack}: {u.resource}: {u.reason}" for u in result.unpriced)
    assert result.total > 0
    for item in result.items:
        assert item.unit_usd is not None and item.charge.quantity >= 0, item


def test_free_types_and_usage_say_why() -> None:
    assert all(reason.strip() for reason in cost.FREE.values())
    assert not set(cost.FREE) & set(cost.RULES), "a type is either free or priced"
    assert all(usage.text.strip() for usage in cost.USAGE.values())


def test_usage_priced_items_state_their_assumption(platform: SynthesizedPlatform, stage: str) -> None:
    result = cost.estimate(_stage(platform.outdir, stage))
    printed = cost.render(result)
    for item in result.items:
        if item.charge.usage is not None:
            assert f"- {item.charge.usage.text}" in printed


def _readme_figures() -> dict[str, int]:
    text = (REPO_ROOT / "README.md").read_text()
    return {m["stage"]: int(m["total"].replace(",", "")) for m in README_ROW.finditer(text)}


def test_readme_shows_each_shipped_stage_estimate(examples: SynthesizedPlatform, stage: str) -> None:
    total = cost.estimate(_stage(examples.outdir, stage)).total
    assert _readme_figures().get(stage) == round(total), f"README's Cost table: `{stage}` | ${total:,.0f}"


def test_readme_shows_the_lean_example_estimate(tmp_path: Path) -> None:
    """The cost-lean dev example (environments/examples/), synthesized on its own like `make cost
    CONFIG_DIR=environments/examples` does."""
    configs = load_stages(["dev-lean"], LEAN_EXAMPLE)
    app = new_app(context=cdk_json_context(), outdir=str(tmp_path))
    build_platform(app, configs)
    app.synth()
    result = cost.estimate(_stage(tmp_path, "dev-lean"))
    assert not result.unpriced
    assert _readme_figures().get("dev-lean") == round(result.total), f"`dev-lean` | ${result.total:,.0f}"


LEAN_TOGGLES = {
    "network.interface_endpoints",
    "data.database.rds.instance_class",
    "data.cache.node_type",
    "analytics.msk.mode",
    "analytics.stream_processing.kafka_consumer.enabled",  # it needs the Kafka the lean example turns off
    *(
        f"data.time_series.{field}"
        for field in (
            "enabled",
            "instance_type",
            "storage_type",
            "allocated_storage_gib",
            "multi_az",
            "log_retention_days",
        )
    ),
    "analytics.opensearch.data_instance_type",
    "analytics.opensearch.volume_gib",
    "observability.trail_data_events",
    "observability.detection.guardduty",
    "observability.detection.security_hub",
    "observability.detection.config_recorder",
    "platform.gitops.credentials_secret",  # named after the stage
}
"""Where the cost-lean example may differ from dev.yaml: the toggles the README's Cost section names."""


def _fields(value: Any, path: str = "") -> dict[str, Any]:
    """A stage file's fields by dotted path (lists as one value)."""
    if not isinstance(value, dict):
        return {path: value}
    return {
        key: leaf for name, item in value.items() for key, leaf in _fields(item, f"{path}.{name}".lstrip(".")).items()
    }


def test_lean_example_is_dev_with_the_expensive_toggles_off() -> None:
    """The lean example follows the shipped dev.yaml (its frozen copy: a user's own dev.yaml may differ):
    anything dev gains (or changes) it must gain too, or its figure describes a stage nobody ships."""
    dev = _fields(yaml.safe_load((EXAMPLE_CONFIG / "dev.yaml").read_text()))
    lean = _fields(yaml.safe_load((LEAN_EXAMPLE / "dev-lean.yaml").read_text()))
    differing = {path for path in dev.keys() | lean.keys() if dev.get(path, "<absent>") != lean.get(path, "<absent>")}
    assert differing == LEAN_TOGGLES, f"differs from dev.yaml beyond its toggles: {sorted(differing ^ LEAN_TOGGLES)}"


def _stack(tmp_path: Path, resources: dict[str, Any], region: str = "us-east-1") -> StageAssembly:
    template = tmp_path / "t.template.json"
    template.write_text(json.dumps({"Resources": resources}))
    stack = Stack("s", "qa-s", "qa/s", "111111111111", region, template, (), False)
    return StageAssembly("qa", (stack,))


def _table(**prices: float) -> dict[str, PriceTable]:
    table = PriceTable("us-east-1", "2026-01-01", "test")
    table.prices = {key: {"usd": usd, "unit": "x"} for key, usd in prices.items()}
    return {"us-east-1": table}


def test_node_groups_at_desired_size_with_spot_and_root_volumes(tmp_path: Path) -> None:
    stage = _stack(
        tmp_path,
        {
            "Lt": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {"LaunchTemplateData": {"BlockDeviceMappings": [{"Ebs": {"VolumeSize": 50}}]}},
            },
            "Ng": {
                "Type": "AWS::EKS::Nodegroup",
                "Properties": {
                    "ScalingConfig": {"DesiredSize": 2, "MinSize": 2, "MaxSize": 9},
                    "InstanceTypes": ["t3.medium"],
                    "CapacityType": "SPOT",
                    "LaunchTemplate": {"Id": {"Ref": "Lt"}},
                },
            },
        },
    )
    result = cost.estimate(stage, _table(**{"ec2:t3.medium": 0.04, "ebs:gp3-gb-month": 0.08}))
    assert not result.unpriced
    assert result.total == pytest.approx(2 * 730 * 0.04 * cost.SPOT_FACTOR + 100 * 0.08)


def test_interface_endpoints_per_az_gateway_free(tmp_path: Path) -> None:
    stage = _stack(
        tmp_path,
        {
            "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
            "Sts": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {"VpcEndpointType": "Interface", "SubnetIds": ["a", "b", "c"]},
            },
        },
    )
    result = cost.estimate(stage, _table(**{"vpc:endpoint-az-hour": 0.01, "vpc:endpoint-gb": 0.01}))
    assert result.total == pytest.approx(3 * 730 * 0.01 + cost.USAGE["endpoint_gb"].quantity * 0.01)


def test_replication_bills_the_transfer_per_rule_and_rtc_where_on(tmp_path: Path) -> None:
    rules = [
        {"Destination": {"Bucket": "arn:aws:s3:::eu", "ReplicationTime": {"Status": "Enabled"}}},
        {"Destination": {"Bucket": "arn:aws:s3:::ap"}},
    ]
    stage = _stack(
        tmp_path,
        {"Source": {"Type": "AWS::S3::Bucket", "Properties": {"ReplicationConfiguration": {"Rules": rules}}}},
    )
    prices = {"s3:standard-gb-month": 0.0, "transfer:inter-region-gb": 0.02, "s3:rtc-gb": 0.015}
    result = cost.estimate(stage, _table(**prices))
    assert result.total == pytest.approx(cost.USAGE["s3_replicated_gb"].quantity * (2 * 0.02 + 0.015))


def test_proxy_bills_at_least_eight_acus_of_a_serverless_cluster(tmp_path: Path) -> None:
    stage = _stack(
        tmp_path,
        {
            "Cluster": {
                "Type": "AWS::RDS::DBCluster",
                "Properties": {"ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5}},
            },
            "Writer": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {"DBInstanceClass": "db.serverless", "DBClusterIdentifier": {"Ref": "Cluster"}},
            },
            "Proxy": {"Type": "AWS::RDS::DBProxy", "Properties": {}},
            "Targets": {
                "Type": "AWS::RDS::DBProxyTargetGroup",
                "Properties": {"DBProxyName": {"Ref": "Proxy"}, "DBClusterIdentifiers": [{"Ref": "Cluster"}]},
            },
        },
    )
    prices = {
        "aurora:serverless-v2-acu-hour": 0.12,
        "aurora:gb-month": 0.1,
        "aurora:million-io": 0.2,
        "rdsproxy:acu-hour": 0.015,
    }
    items = {i.charge.ref.key: i.monthly for i in cost.estimate(stage, _table(**prices)).items}
    assert items["rdsproxy:acu-hour"] == pytest.approx(8 * 730 * 0.015)
    assert items["aurora:serverless-v2-acu-hour"] == pytest.approx(0.5 * 730 * 0.12)


def test_anomaly_alarm_bills_three_metrics(tmp_path: Path) -> None:
    stage = _stack(
        tmp_path,
        {
            "A": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "ThresholdMetricId": "band",
                    "Metrics": [
                        {"Id": "m", "MetricStat": {}},
                        {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m)"},
                    ],
                },
            }
        },
    )
    assert cost.estimate(stage, _table(**{"cloudwatch:alarm-metric-month": 0.1})).total == pytest.approx(0.3)


FARGATE = {"fargate:arm64-vcpu-hour": 0.04, "fargate:arm64-gb-hour": 0.004, "fargate:ephemeral-gb-hour": 0.0001}


def _task(cpu: str, memory: str, storage: int | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"Cpu": cpu, "Memory": memory, "RuntimePlatform": {"CpuArchitecture": "ARM64"}}
    if storage is not None:
        properties["EphemeralStorage"] = {"SizeInGiB": storage}
    return {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}


def test_services_at_desired_count_and_scheduled_tasks_per_run(tmp_path: Path) -> None:
    """A queue-scaled service at 0 costs nothing; a daily task runs 30.4 times a month for the assumed
    duration, with its storage above the free 20 GB."""
    stage = _stack(
        tmp_path,
        {
            "Worker": _task("1024", "2048"),
            "Spark": _task("2048", "4096", storage=50),
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {"DesiredCount": 0, "TaskDefinition": {"Ref": "Worker"}},
            },
            "Always": {
                "Type": "AWS::ECS::Service",
                "Properties": {"DesiredCount": 1, "TaskDefinition": {"Ref": "Worker"}},
            },
            "Daily": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "cron(0 4 * * ? *)",
                    "Target": {"EcsParameters": {"TaskCount": 1, "TaskDefinitionArn": {"Ref": "Spark"}}},
                },
            },
        },
    )
    result = cost.estimate(stage, _table(**FARGATE))
    assert not result.unpriced
    service = 730 * (1 * 0.04 + 2 * 0.004)
    task_hours = 730 / 24 * cost.USAGE["scheduled_task_hours"].quantity
    scheduled = task_hours * (2 * 0.04 + 4 * 0.004 + 30 * 0.0001)
    assert result.total == pytest.approx(service + scheduled)
    assert cost.USAGE["scheduled_task_hours"].text in cost.render(result)


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("cron(0 4 * * ? *)", 730 / 24),
        ("cron(0/15 * * * ? *)", 4 * 730),
        ("cron(*/10 8-17 ? * MON-FRI *)", 6 * 10 * 5 * 730 / 24 / 7),
        ("cron(0 0 1 * ? *)", 1),
        ("cron(0 8,20 * JAN-MAR ? *)", 2 * 730 / 24 / 4),
        ("rate(5 minutes)", 12 * 730),
        ("rate(1 day)", 730 / 24),
    ],
)
def test_runs_per_month_of_schedule_expressions(expression: str, runs: float) -> None:
    assert cost.runs_per_month(expression) == pytest.approx(runs)


def test_unknown_type_and_unknown_size_are_reported_not_zero(tmp_path: Path) -> None:
    stage = _stack(
        tmp_path,
        {
            "New": {"Type": "AWS::DocDB::DBCluster", "Properties": {}},
            "Cache": {
                "Type": "AWS::ElastiCache::ReplicationGroup",
                "Properties": {"CacheNodeType": "cache.x9.huge", "NumCacheClusters": 2, "Engine": "valkey"},
            },
        },
    )
    result = cost.estimate(stage, _table())
    reasons = sorted(u.reason for u in result.unpriced)
    assert reasons[0].endswith("has no price for elasticache:cache.x9.huge:valkey")
    assert reasons[1] == "no cost rule for AWS::DocDB::DBCluster"
    assert "NOT PRICED (2" in cost.render(result)
    # Only the missing rule fails the invariant over a user's stages; the price table's gap does not.
    assert {u.reason.split(" ")[-1]: u.no_rule for u in result.unpriced} == {
        "elasticache:cache.x9.huge:valkey": False,
        "AWS::DocDB::DBCluster": True,
    }


class FakePricing:
    """The Price List API's get_products, answering from canned products."""

    def __init__(self, products: dict[str, list[dict[str, Any]]]) -> None:
        self.products = products
        self.requests: list[dict[str, Any]] = []

    def get_products(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        instance = next((f["Value"] for f in kwargs["Filters"] if f["Field"] == "instanceType"), "")
        return {"PriceList": [json.dumps(p) for p in self.products.get(instance, [])]}


def _product(usd: str) -> dict[str, Any]:
    return {"terms": {"OnDemand": {"t": {"priceDimensions": {"d": {"beginRange": "0", "pricePerUnit": {"USD": usd}}}}}}}


def test_refresh_updates_adds_and_keeps_with_reasons() -> None:
    table = PriceTable("eu-west-1", "2026-01-01", "by hand")
    table.prices = {"ec2:m6i.large": {"usd": 0.1, "unit": "hour", "page": "p"}}
    client = FakePricing({"m6i.large": [_product("0.107")], "g5.xlarge": [_product("1.123")]})
    refs = [
        cost.ec2_instance("m6i.large"),
        cost.ec2_instance("g5.xlarge"),
        cost.ec2_instance("x1.none"),
        PriceRef("kms:key-month", "key-month", "page"),
    ]
    report = refresh(table, refs, client, date(2026, 12, 1))
    assert report == [
        "ec2:g5.xlarge: added 1.123 per hour",
        "ec2:m6i.large: 0.1 -> 0.107 per hour",
        "ec2:x1.none: kept nothing (the query matched no product)",
        "kms:key-month: kept nothing (not in the Price List API; see page)",
    ]
    assert table.as_of == "2026-12-01" and table.prices["ec2:m6i.large"]["usd"] == 0.107
    (first, *_) = client.requests
    assert first["ServiceCode"] == "AmazonEC2"
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"} in first["Filters"]


def test_query_and_ambiguous_products() -> None:
    request = query(cost.ec2_instance("t3.medium"), "us-east-1")
    assert {f["Field"] for f in request["Filters"]} >= {"regionCode", "instanceType", "operatingSystem", "tenancy"}
    with pytest.raises(ValueError, match="2 different prices"):
        on_demand_usd([json.dumps(_product("1")), json.dumps(_product("2"))])


def test_committed_tables_are_dated_and_sourced() -> None:
    for path in sorted((REPO_ROOT / "docs" / "prices").glob("*.json")):
        table = PriceTable.load(path.stem)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.as_of), path
        assert all(entry.get("page", "").startswith("https://aws.amazon.com/") for entry in table.prices.values()), path
