"""Bad stage files fail with one line per problem naming the file and the field."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from environments.loader import ConfigError, available_stages, config_warnings, load_pipeline, load_stage, load_stages
from environments.schema.regions import images_failover_region
from tests.config.loading import Mutation, example_data, load_problems
from tests.stage_files import EXAMPLE_CONFIG, REPO_ROOT

_base = example_data


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: Any) -> None:
        *parents, leaf = path.split(".")
        for part in parents:
            data = data[int(part)] if part.isdigit() else data[part]
        data[int(leaf) if leaf.isdigit() else leaf] = value

    return mutate


_problems = load_problems


def test_the_example_stages_are_valid() -> None:
    configs = load_stages(config_dir=EXAMPLE_CONFIG)
    assert [c.name for c in configs] == ["dev", "prod", "staging"]
    assert available_stages(EXAMPLE_CONFIG) == ["dev", "prod", "staging"]


CASES = [
    ("unknown key", _set("network.cidrr", "10.0.0.0/16"), "network.cidrr: unknown key"),
    ("unknown top-level key", _set("colour", "blue"), "colour: unknown key"),
    ("wrong type", _set("network.nat_gateways", "two"), "network.nat_gateways: two is not a whole number"),
    (
        "wrong type for a list",
        _set("regions.0.availability_zones", "us-east-1a"),
        "regions.0.availability_zones: expected a list — write it as a list: [us-east-1a]",
    ),
    ("invalid CIDR", _set("regions.0.cidr", "10.0.0.0/33"), "regions.0.cidr: 10.0.0.0/33 is not a valid CIDR"),
    ("CIDR with host bits", _set("regions.0.cidr", "10.0.0.1/16"), "regions.0.cidr: 10.0.0.1/16 is not a valid CIDR"),
    ("VPC too large", _set("regions.0.cidr", "10.0.0.0/8"), "regions.0.cidr: 10.0.0.0/8: a VPC CIDR must be"),
    (
        "subnet plan that does not fit",
        _set("network.subnet_prefix.app", 19),
        "network.subnet_prefix.app: 3 subnets of /19 do not fit in the app tier's quarter (10.10.64.0/18)",
    ),
    (
        "too few AZs",
        _set("regions.0.availability_zones", ["us-east-1a", "us-east-1b"]),
        "regions.0.availability_zones: expected 3",
    ),
    (
        "AZ outside the region",
        _set("regions.0.availability_zones", ["us-east-1a", "us-east-1b", "eu-west-1a"]),
        "regions.0.availability_zones.2: eu-west-1a is not an availability zone of us-east-1",
    ),
    (
        "duplicate AZ",
        _set("regions.0.availability_zones", ["us-east-1a", "us-east-1a", "us-east-1b"]),
        "regions.0.availability_zones: lists the same availability zone twice",
    ),
    ("no region", _set("regions", []), "regions.0.region: required key is missing"),
    ("the retired dr block", _set("dr", {"enabled": False}), "dr: replaced by regions: "),
    ("the primary outside regions", _set("region", "us-east-1"), "region: set in regions (the first entry"),
    ("its CIDR outside regions", _set("network.cidr", "10.10.0.0/16"), "network.cidr: set in regions (the first"),
    ("account not 12 digits", _set("account", "12345"), "account: 12345 is not a 12-digit AWS account id, quoted"),
    (
        "account unquoted",
        _set("account", 111111111111),
        'account: 111111111111 must be text — quote it: "111111111111"',
    ),
    ("more NAT gateways than AZs", _set("network.nat_gateways", 4), "network.nat_gateways: 4 NAT gateways but only 3"),
    ("no NAT gateway", _set("network.nat_gateways", 0), "network.nat_gateways: 0 is below the minimum of 1"),
    (
        "retention CloudWatch refuses",
        _set("network.flow_logs.retention_days", 42),
        "network.flow_logs.retention_days: 42 days is not a retention CloudWatch Logs accepts",
    ),
    (
        "bad country code",
        _set("network.waf.geo_block", ["north korea"]),
        "network.waf.geo_block.0: north korea is not a two-letter country code",
    ),
    (
        "KMS window too short",
        _set("kms.deletion_window_days", 3),
        "kms.deletion_window_days: 3 is below the minimum of 7",
    ),
    ("missing section", lambda d: d.pop("network"), "network: required key is missing"),
    ("name is not a key", _set("name", "dev"), "name: the stage name comes from the file name"),
    ("bad endpoint name", _set("network.interface_endpoints", ["ECR API"]), "network.interface_endpoints.0: 'ECR API'"),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_value_is_one_line_naming_file_and_field(
    tmp_path: Path, label: str, mutate: Mutation, expected: str
) -> None:
    problems = _problems(tmp_path, "dev", mutate)
    assert any(p.startswith(f"{tmp_path / 'dev.yaml'}: {expected}") for p in problems), problems
    assert all("\n" not in p for p in problems)


DATA_CASES = [
    (
        "min ACU above max",
        _set("data.database.aurora.min_capacity_acu", 8.0),
        "data.database.aurora.min_capacity_acu: 8.0 is above max_capacity_acu 4",
    ),
    (
        "ACU not in half steps",
        _set("data.database.aurora.max_capacity_acu", 4.2),
        "data.database.aurora.max_capacity_acu",
    ),
    (
        "backup retention above 35",
        _set("data.database.backup_retention_days", 36),
        "data.database.backup_retention_days",
    ),
    ("backup retention of 0", _set("data.database.backup_retention_days", 0), "data.database.backup_retention_days"),
    (
        "key window outside 7-30",
        _set("kms.deletion_window_days", 31),
        "kms.deletion_window_days: 31 is above the maximum of 30",
    ),
    (
        "unknown key strategy",
        _set("kms.key_strategy", "per_tenant"),
        "kms.key_strategy: per_tenant is not one of shared or per_service",
    ),
    (
        "failover with one cache node",
        lambda d: d["data"]["cache"].update(nodes=1, cluster_mode=None),
        "data.cache.automatic_failover: needs at least 2 nodes, got 1",
    ),
    ("cache nodes and cluster mode", _set("data.cache.nodes", 2), "data.cache.nodes: set either nodes"),
    (
        "cluster mode without failover",
        _set("data.cache.automatic_failover", False),
        "data.cache.automatic_failover: cluster mode needs automatic failover",
    ),
    (
        "failover with one node per shard",
        _set("data.cache.cluster_mode.replicas_per_shard", 0),
        "data.cache.automatic_failover: needs at least 2 nodes per shard, got 1",
    ),
    ("shards above 500", _set("data.cache.cluster_mode.shards", 501), "data.cache.cluster_mode.shards"),
    ("unknown graph mode", _set("data.graph.mode", "on"), "data.graph.mode: on is not one of off"),
    (
        "serverless graph without NCUs",
        lambda d: d["data"]["graph"].pop("min_capacity_ncu"),
        "data.graph.min_capacity_ncu: required when mode is serverless",
    ),
    (
        "instance class on a serverless graph",
        _set("data.graph.instance_class", "db.r6g.large"),
        "data.graph.instance_class: required when mode is provisioned, and only then",
    ),
    (
        "graph NCUs inverted",
        _set("data.graph.min_capacity_ncu", 16),
        "data.graph.min_capacity_ncu: 16.0 is above max_capacity_ncu 8",
    ),
    ("graph NCUs above 128", _set("data.graph.max_capacity_ncu", 256), "data.graph.max_capacity_ncu"),
    (
        "graph on without backups",
        lambda d: d["data"]["graph"].pop("backup_retention_days"),
        "data.graph.backup_retention_days: required when it is on",
    ),
    ("graph engine 1.2", _set("data.graph.engine_version", "1.2.1.0"), "data.graph.engine_version"),
    (
        "InfluxDB storage below its type's floor",
        _set("data.time_series.storage_type", "InfluxIOIncludedT2"),
        "data.time_series.allocated_storage_gib: InfluxIOIncludedT2 takes at least 400 GiB",
    ),
    (
        "unknown InfluxDB type",
        _set("data.time_series.instance_type", "db.influx.tiny"),
        "data.time_series.instance_type",
    ),
    (
        "InfluxDB on without a size",
        lambda d: d["data"]["time_series"].pop("allocated_storage_gib"),
        "data.time_series.allocated_storage_gib: required when it is on",
    ),
    ("DAX above 11 nodes", _set("data.accelerator.nodes", 12), "data.accelerator.nodes"),
    ("DAX node type without dax.", _set("data.accelerator.node_type", "r5.large"), "data.accelerator.node_type"),
    ("engine block missing", lambda d: d["data"]["database"].pop("aurora"), "data.database.aurora: required when"),
    (
        "block for the other engine",
        _set(
            "data.database.rds",
            {
                "instance_class": "t4g.medium",
                "multi_az": False,
                "allocated_storage_gib": 20,
                "max_allocated_storage_gib": 100,
            },
        ),
        "data.database.rds: only allowed when engine is rds",
    ),
    (
        "PostgreSQL 15",
        _set("data.database.engine_version", "15.4"),
        "data.database.engine_version: 15.4 is not PostgreSQL 17 or 18",
    ),
    (
        "IA before 30 days",
        _set("data.buckets.images_transitions", [{"after_days": 10, "storage_class": "STANDARD_IA"}]),
        "data.buckets.images_transitions.0.after_days: S3 moves objects to STANDARD_IA only after 30 days",
    ),
    (
        "transitions out of order",
        _set(
            "data.buckets.backups_transitions",
            [{"after_days": 90, "storage_class": "GLACIER"}, {"after_days": 30, "storage_class": "STANDARD_IA"}],
        ),
        "data.buckets.backups_transitions: after_days must strictly increase",
    ),
    ("EFS age EFS refuses", _set("data.efs.transition_to_ia_days", 45), "data.efs.transition_to_ia_days"),
    (
        "queue retention above 14",
        _set("data.messaging.queue_retention_days", 15),
        "data.messaging.queue_retention_days",
    ),
    (
        "DLQ shorter than its queue",
        _set("data.messaging.dlq_retention_days", 2),
        "data.messaging.dlq_retention_days: must be at least queue_retention_days",
    ),
    (
        "object lock mode",
        _set("data.buckets.audit_logs_object_lock.mode", "LEGAL"),
        "data.buckets.audit_logs_object_lock.mode",
    ),
]


ANALYTICS_CASES = [
    (
        "Kafka consumer without Kafka",
        lambda d: d["analytics"]["msk"].update(mode="off"),
        "analytics.stream_processing.kafka_consumer.enabled: needs Kafka: analytics.msk.mode is off",
    ),
    (
        "Kafka consumer without topics",
        _set("analytics.stream_processing.kafka_consumer.topics", []),
        "analytics.stream_processing.kafka_consumer.topics: name at least one topic to consume",
    ),
    (
        "a bad Kafka topic name",
        _set("analytics.stream_processing.kafka_consumer.topics", ["no spaces"]),
        "analytics.stream_processing.kafka_consumer.topics.0: no spaces is not a Kafka topic name",
    ),
    (
        "a topic twice",
        _set("analytics.stream_processing.kafka_consumer.topics", ["a", "a"]),
        "analytics.stream_processing.kafka_consumer.topics: lists a topic twice",
    ),
    (
        "Flink parallelism zero",
        _set("analytics.stream_processing.flink.parallelism", 0),
        "analytics.stream_processing.flink.parallelism: 0 is below the minimum of 1",
    ),
    (
        "Flink into a time-series database that does not exist",
        _set("analytics.stream_processing.flink.time_series_sink", True),
        "analytics.stream_processing.flink.time_series_sink: no Timestream for InfluxDB database",
    ),
    (
        "an upper-case index",
        _set("analytics.stream_processing.log_delivery.index", "Logs"),
        "analytics.stream_processing.log_delivery.index: Logs is not an OpenSearch index name",
    ),
    (
        "an unknown index rotation",
        _set("analytics.stream_processing.log_delivery.index_rotation", "Daily"),
        "analytics.stream_processing.log_delivery.index_rotation: Daily is not one of NoRotation, OneHour",
    ),
    (
        "an unknown metric format",
        _set("analytics.stream_processing.metric_stream.output_format", "csv"),
        "analytics.stream_processing.metric_stream.output_format: csv is not one of json",
    ),
    (
        "a namespace twice",
        _set("analytics.stream_processing.metric_stream.include_namespaces", ["AWS/Lambda", "AWS/Lambda"]),
        "analytics.stream_processing.metric_stream.include_namespaces: lists a namespace twice",
    ),
    (
        "unknown MSK mode",
        _set("analytics.msk.mode", "managed"),
        "analytics.msk.mode: managed is not one of provisioned, serverless or off",
    ),
    (
        "brokers not spread over the AZs",
        lambda d: d["analytics"]["msk"].update(mode="provisioned", brokers=4),
        "analytics.msk.brokers: 4 brokers do not spread evenly over 3 AZs",
    ),
    ("bad Glue schedule", _set("analytics.glue.crawler_schedule", "daily"), "analytics.glue.crawler_schedule"),
    (
        "unknown Glue version",
        _set("analytics.glue.version", "3.0"),
        "analytics.glue.version: 3.0 is not one of 4.0 or 5.0",
    ),
    ("stream retention under a day", _set("analytics.streaming.retention_hours", 12), "analytics.streaming.retention"),
    ("Firehose buffer too large", _set("analytics.streaming.buffer_mib", 512), "analytics.streaming.buffer_mib"),
    (
        "lake expiry before the last transition",
        _set("analytics.lake.raw.expiration_days", 60),
        "analytics.lake.raw.expiration_days: must come after the last transition",
    ),
    ("search nodes uneven", _set("analytics.opensearch.data_nodes", 5), "analytics.opensearch.data_nodes: zone"),
    ("search instance type", _set("analytics.opensearch.data_instance_type", "r6g.large"), "analytics.opensearch"),
    ("Athena cutoff of zero", _set("analytics.athena_bytes_scanned_cutoff_gib", 0), "analytics.athena_bytes"),
    ("node group min above max", _set("platform.node_groups.0.min_size", 9), "platform.node_groups.0.min_size: 9"),
    ("reserved namespace", _set("platform.namespaces.0.name", "kube-system"), "platform.namespaces.0: kube-system"),
    ("open API endpoint", _set("platform.public_endpoint_cidrs", ["0.0.0.0/0"]), "platform.public_endpoint_cidrs.0"),
    (
        "Kubernetes 1.29",
        _set("platform.kubernetes_version", "1.29"),
        "platform.kubernetes_version: 1.29 is not one of 1.36",
    ),
    (
        "no cluster admins",
        _set("platform.cluster_admin_principals", []),
        "platform.cluster_admin_principals: needs at least 1 entry",
    ),
    (
        "reserved concurrency Lambda cannot grant",
        _set("platform.consumer_reserved_concurrency", 901),
        "platform.consumer_reserved_concurrency: 901 is above the maximum of 900",
    ),
    (
        "cluster admin that is not an IAM principal",
        _set("platform.cluster_admin_principals", ["arn:aws:sts::222222222222:assumed-role/Admin/me"]),
        "platform.cluster_admin_principals.0: arn:aws:sts::222222222222:assumed-role/Admin/me is not an IAM role",
    ),
    (
        "Karpenter too old for the cluster",
        _set("platform.karpenter.chart_version", "1.8.2"),
        "platform.karpenter.chart_version: karpenter 1.8.2 supports Kubernetes 1.26-1.34, not 1.36",
    ),
    (
        "chart version nobody checked",
        _set("platform.charts.metrics_server", "3.12.2"),
        "platform.charts.metrics_server: metrics-server 3.12.2 has no row in environments/schema/versions.py",
    ),
    (
        "add-on pinned to another minor",
        _set("platform.addon_versions", {"kube-proxy": "v1.35.3-eksbuild.13"}),
        "platform.addon_versions.kube-proxy: kube-proxy v1.35.3-eksbuild.13 has no row",
    ),
    (
        "add-on without a version table",
        _set("platform.addon_versions", {"vpc-cni": "v1.23.0-eksbuild.1"}),
        "platform.addon_versions.vpc-cni: vpc-cni v1.23.0-eksbuild.1 has no row",
    ),
    (
        "GPU quotas beyond the GPU pools",
        _set("platform.namespaces.1.gpu", 7),
        "platform.namespaces: the GPU quotas total 7 but the GPU pools provide at most 6 "
        "(node groups: gpu 2; karpenter.gpu_limit: 4)",
    ),
    (
        "instance type of unknown size",
        _set("platform.node_groups.1.instance_types", ["m7i.xlarge"]),
        "platform.node_groups.1.instance_types.0: m7i.xlarge has no row in environments/schema/instance_types.py",
    ),
    (
        "instance sizes mixed in a group",
        _set("platform.node_groups.1.instance_types", ["m6i.xlarge", "m6i.large"]),
        "platform.node_groups.1.instance_types: mixes instance sizes",
    ),
    ("GPU flag on CPU instances", _set("platform.node_groups.1.gpu", True), "platform.node_groups.1.gpu: true but"),
    ("system group of one", _set("platform.node_groups.0.min_size", 1), "platform.node_groups.0.min_size: the system"),
    ("burst type without GPU", _set("platform.karpenter.gpu_instance_types", ["m6i.large"]), "platform.karpenter.gpu_"),
    (
        "desired size (Karpenter's now)",
        _set("platform.node_groups.0.desired_size", 2),
        "platform.node_groups.0.desired",
    ),
    ("group named like the burst pool", _set("platform.node_groups.2.name", "gpu-burst"), "platform.node_groups: gpu-"),
    ("malformed add-on pin", _set("platform.addon_versions", {"coredns": "1.14"}), "platform.addon_versions.coredns"),
    (
        "a moving image tag",
        _set("platform.ecs_image_tag", "stable"),
        "platform.ecs_image_tag: stable names whatever",
    ),
    ("a task's moving tag", _set("platform.ecs_tasks.1.image_tag", "latest"), "platform.ecs_tasks.1.image_tag: latest"),
    (
        "a task both served and scheduled",
        _set("platform.ecs_tasks.1.max_tasks", 2),
        "platform.ecs_tasks.1: give exactly",
    ),
    ("a task neither", _set("platform.ecs_tasks.1.schedule", None), "platform.ecs_tasks.1: give exactly one"),
    ("a task's bad schedule", _set("platform.ecs_tasks.1.schedule", "every day"), "platform.ecs_tasks.1.schedule"),
    ("an unknown lake zone", _set("platform.ecs_tasks.0.reads", ["archive"]), "platform.ecs_tasks.0.reads.0"),
    (
        "scratch under Fargate's 21 GiB",
        _set("platform.ecs_tasks.1.scratch_gib", 20),
        "platform.ecs_tasks.1.scratch_gib",
    ),
    ("no lookback", _set("analytics.glue.lookback_days", 0), "analytics.glue.lookback_days"),
]


CERTIFICATE = "111111111111:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
SERVICE_CASES = [
    ("two services on one port", _set("platform.services.1.port", 8001),
     "platform.services: two services share the port 8001"),
    ("two services of one name", _set("platform.services.1.name", "user"),
     "platform.services: two services share the name user"),
    ("one path for two services", _set("platform.services.1.path_patterns", ["/api/agents/*"]),
     "platform.services: two services route /api/agents/*"),
    ("namespace nobody made", _set("platform.services.0.namespace", "web"),
     "platform.services.0.namespace: web is not in platform.namespaces"),
    ("GPU service without GPUs", _set("platform.services.0.gpu", True),
     "platform.services.0.gpu: app's quota grants no GPUs"),
    ("privileged port", _set("platform.services.0.port", 80),
     "platform.services.0.port: 80 is below the minimum of 1024"),
    ("four path patterns", _set("platform.services.0.path_patterns", ["/a", "/b", "/c", "/d"]),
     "platform.services.0.path_patterns: may have at most 3 entries"),
    ("path without its slash", _set("platform.services.0.path_patterns", ["api/*"]),
     "platform.services.0.path_patterns.0: api/* is not a path pattern starting with /"),
    ("name outside the zone", _set("platform.ingress.domain_name", "api.other.org"),
     "platform.ingress.domain_name: api.other.org is not in the zone example.com"),
    ("certificate of another region", _set("platform.ingress.certificate_arn", f"arn:aws:acm:eu-west-1:{CERTIFICATE}"),
     "platform.ingress.certificate_arn: must be in us-east-1"),
    ("health check that outlasts its interval", _set("platform.ingress.health_check.timeout_seconds", 15),
     "platform.ingress.health_check.timeout_seconds: must be shorter than interval_seconds (15)"),
    ("unknown desync mode", _set("platform.ingress.desync_mitigation", "off"),
     "platform.ingress.desync_mitigation: off is not one of monitor, defensive or strictest"),
]  # fmt: skip


WORKLOAD_CASES = [
    ("service without an image repository", _set("platform.ecr_repositories", ["user", "payment"]),
     "platform.services.2.name: generation has no ECR repository of its name"),
    ("GitOps over SSH", _set("platform.gitops.repository_url", "git@github.com:example-org/ai-platform.git"),
     "platform.gitops.repository_url: git@github.com:example-org/ai-platform.git is not an https:// repository URL"),
    ("revision with ..", _set("platform.gitops.revision", "release/..v1"),
     "platform.gitops.revision: 'release/..v1' is not a Git branch, tag or commit"),
    ("revision ending .lock", _set("platform.gitops.revision", "main.lock"),
     "platform.gitops.revision: 'main.lock' is not a Git ref name"),
    ("path climbing out of the repository", _set("platform.gitops.path", "../workloads"),
     "platform.gitops.path: ../workloads is not a relative path"),
    ("credentials of another stage", _set("platform.gitops.credentials_secret", "/ai-platform/prod/gitops/repository"),
     "platform.gitops.credentials_secret: must be under the stage's prefix /ai-platform/dev/"),
    ("image tag with a colon", _set("platform.gitops.image_tag", "1.0:rc"),
     "platform.gitops.image_tag: 1.0:rc is not an image tag"),
    ("more Argo CD replicas than system nodes", _set("platform.gitops.replicas", 3),
     "platform.gitops.replicas: 3 is more than the system group's 2 nodes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "mutate", "expected"), SERVICE_CASES + WORKLOAD_CASES, ids=[c[0] for c in SERVICE_CASES + WORKLOAD_CASES]
)
def test_bad_ingress_service_or_gitops_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "dev", mutate)
    assert any(p.startswith(f"{tmp_path / 'dev.yaml'}: {expected}") for p in problems), problems


def test_prod_runs_argo_cd_highly_available(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "prod", _set("platform.gitops.replicas", 1), base="prod")
    assert f"{tmp_path / 'prod.yaml'}: platform.gitops.replicas: prod runs Argo CD highly available: at least 2" in (
        problems
    )


def test_gitops_is_off_when_absent(tmp_path: Path) -> None:
    data = copy.deepcopy(_base())
    del data["platform"]["gitops"]
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(data))
    assert load_stage("dev", tmp_path).platform.gitops is None


def test_an_existing_certificate_replaces_the_generated_one(tmp_path: Path) -> None:
    data = copy.deepcopy(_base("dev"))
    data["platform"]["ingress"]["certificate_arn"] = f"arn:aws:acm:us-east-1:{CERTIFICATE}"
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(data))
    assert (
        load_stage("dev", tmp_path).platform.ingress.certificate_arn == data["platform"]["ingress"]["certificate_arn"]
    )


@pytest.mark.parametrize(("label", "mutate", "expected"), ANALYTICS_CASES, ids=[c[0] for c in ANALYTICS_CASES])
def test_bad_analytics_or_platform_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "staging", mutate, base="staging")
    assert any(p.startswith(f"{tmp_path / 'staging.yaml'}: {expected}") for p in problems), problems


def test_the_retired_admin_role_arn_says_what_replaces_it(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "dev", _set("platform.admin_role_arn", "arn:aws:iam::111111111111:role/Admin"))
    assert problems == [
        f"{tmp_path / 'dev.yaml'}: platform.admin_role_arn: replaced by platform.cluster_admin_principals: the "
        "platform now creates the cluster-admin role itself; list the ARN patterns of the roles that may assume it"
    ]


def test_the_load_balancer_dimension_is_derived_now(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "dev", _set("observability.load_balancer", "app/k8s-platform-dev/0000000000000000"))
    assert problems == [
        f"{tmp_path / 'dev.yaml'}: observability.load_balancer: derived now: the alarms and dashboards read the "
        "ingress load balancer the platform stack creates (platform.ingress); remove this key"
    ]


def test_prod_analytics_rules(tmp_path: Path) -> None:
    def without_kafka(data: Any) -> None:
        data["analytics"]["msk"]["mode"] = "off"
        data["analytics"]["stream_processing"]["kafka_consumer"]["enabled"] = False  # its own rule, tested above
        del data["recovery"]["outside_rpo"]["kafka"]  # no Kafka to accept the loss of (tests/config/test_recovery.py)

    problems = _problems(tmp_path, "prod", without_kafka, base="prod")
    assert problems == [f"{tmp_path / 'prod.yaml'}: analytics.msk.mode: prod streams through Kafka (seed 000); "
                        "use provisioned or serverless"]  # fmt: skip
    problems = _problems(tmp_path, "prod", _set("analytics.opensearch.dedicated_masters", 0), base="prod")
    assert any("analytics.opensearch: prod needs 3+ data nodes" in p for p in problems)


@pytest.mark.parametrize(("label", "mutate", "expected"), DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_data_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "staging", mutate, base="staging")
    assert any(p.startswith(f"{tmp_path / 'staging.yaml'}: {expected}") for p in problems), problems


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set("data.database.aurora.min_capacity_acu", 0.0), "data.database.aurora.min_capacity_acu: prod may not"),
        (_set("data.database.aurora.readers", 0), "data.database.aurora.readers: prod needs a reader"),
        (
            lambda d: d["data"]["cache"].update(nodes=1, cluster_mode=None, automatic_failover=False),
            "data.cache.automatic_failover: prod",
        ),
        (_set("data.graph.instances", 1), "data.graph.instances: prod needs a reader"),
        (_set("data.time_series.multi_az", False), "data.time_series.multi_az: prod needs the Multi-AZ standby"),
        (_set("data.accelerator.nodes", 2), "data.accelerator.nodes: prod needs 3 or more nodes"),
        (_set("data.buckets.versioned", False), "data.buckets.versioned: prod buckets must be versioned"),
        (_set("kms.key_strategy", "shared"), "kms.key_strategy: prod uses one key per service"),
    ],
    ids=[
        "scale to zero",
        "no reader",
        "single cache node",
        "graph without a reader",
        "InfluxDB in one AZ",
        "DAX under 3 nodes",
        "unversioned buckets",
        "shared key",
    ],
)
def test_prod_data_rules(tmp_path: Path, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "prod", mutate, base="prod")
    assert any(p.startswith(f"{tmp_path / 'prod.yaml'}: {expected}") for p in problems), problems


def test_scale_to_zero_is_allowed_outside_prod(tmp_path: Path) -> None:
    data = copy.deepcopy(_base("staging"))
    data["data"]["database"]["aurora"]["min_capacity_acu"] = 0
    (tmp_path / "staging.yaml").write_text(yaml.safe_dump(data))
    assert load_stage("staging", tmp_path).data.database.aurora is not None


def test_prod_multi_az_rds(tmp_path: Path) -> None:
    def to_single_az_rds(data: dict[str, Any]) -> None:
        data["regions"] = data["regions"][:1]  # RDS has no secondary regions (test_bad_region_value)
        data.pop("recovery")
        database = data["data"]["database"]
        database["engine"] = "rds"
        database.pop("aurora")
        database["rds"] = {"instance_class": "r6g.large", "multi_az": False, "allocated_storage_gib": 100,
                           "max_allocated_storage_gib": 500}  # fmt: skip

    problems = _problems(tmp_path, "prod", to_single_az_rds, base="prod")
    assert problems == [f"{tmp_path / 'prod.yaml'}: data.database.rds.multi_az: prod must be Multi-AZ"]


def test_prod_rules(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "prod", _set("allow_destroy", True), base="prod")
    assert problems == [
        f"{tmp_path / 'prod.yaml'}: allow_destroy: prod must retain its data; allow_destroy cannot be true"
    ]
    problems = _problems(tmp_path, "prod", _set("network.nat_gateways", 1), base="prod")
    assert problems == [
        f"{tmp_path / 'prod.yaml'}: network.nat_gateways: prod needs one NAT gateway per availability zone "
        "to survive an AZ loss"
    ]


def test_prod_critical_alerts_reach_someone(tmp_path: Path) -> None:
    """No e-mail, pager or Slack on prod's critical topic: one line naming the field (issue: observability)."""
    problems = _problems(tmp_path, "prod", _set("observability.alerting.critical_emails", []), base="prod")
    assert problems == [
        f"{tmp_path / 'prod.yaml'}: observability.alerting.critical_emails: prod's critical topic needs a "
        "subscriber: an e-mail here, pager_https_endpoint, or Slack"
    ]
    for subscriber in (
        {"pager_https_endpoint": "https://events.pagerduty.com/integration/abc/enqueue"},
        {"slack_workspace_id": "T01234567", "slack_channel_id": "C01234567"},
    ):

        def other_subscriber(data: dict[str, Any], subscriber: dict[str, str] = subscriber) -> None:
            data["observability"]["alerting"].update(critical_emails=[], **subscriber)

        data = copy.deepcopy(_base("prod"))
        other_subscriber(data)
        (tmp_path / "prod.yaml").write_text(yaml.safe_dump(data))
        assert load_stage("prod", tmp_path).observability.alerting.critical_emails == ()
    # Outside prod a stage may go without one (the example dev and staging files do).
    assert not _base("dev")["observability"]["alerting"]["critical_emails"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    def many(data: dict[str, Any]) -> None:
        data["account"] = "1"
        data["regions"][0]["cidr"] = "nope"
        data["extra"] = 1

    problems = _problems(tmp_path, "dev", many)
    assert len(problems) == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("account: [unclosed\n", "line 2, column 1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("- a\n- list\n", "expected a mapping of settings at the top level, got list"),
    ],
    ids=["empty", "comment only", "broken YAML", "not a mapping"],
)
def test_unreadable_files(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "dev.yaml").write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_stage("dev", tmp_path)
    assert raised.value.problems == [f"{tmp_path / 'dev.yaml'}: {expected}"]


def test_unknown_stage(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(_base()))
    with pytest.raises(ConfigError) as raised:
        load_stages(["qa"], tmp_path)
    assert raised.value.problems == [f"{tmp_path / 'qa.yaml'}: no such stage (stages with a file: dev)"]


def test_config_is_frozen() -> None:
    config = load_stage("dev", EXAMPLE_CONFIG)
    with pytest.raises(ValueError, match="frozen"):
        config.network.nat_gateways = 2  # type: ignore[misc]


OBSERVABILITY_CASES = [
    ("sampling above 100 %", _set("observability.xray_sampling_rate", 1.5), "observability.xray_sampling_rate"),
    ("bad alert e-mail", _set("observability.alerting.critical_emails", ["ops"]), "observability.alerting.critical"),
    ("pager without https", _set("observability.alerting.pager_https_endpoint", "http://x"), "observability.alerting"),
    (
        "Slack half configured",
        _set("observability.alerting.slack_channel_id", "C01234567"),
        "observability.alerting: set both slack_workspace_id and slack_channel_id, or neither",
    ),
    ("budget of zero", _set("observability.monthly_budget_usd", 0), "observability.monthly_budget_usd"),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), OBSERVABILITY_CASES, ids=[c[0] for c in OBSERVABILITY_CASES])
def test_bad_observability_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "dev", mutate)
    assert any(p.startswith(f"{tmp_path / 'dev.yaml'}: {expected}") for p in problems), problems


def test_two_stages_in_one_account_cannot_both_own_account_wide_services(tmp_path: Path) -> None:
    dev = _base("dev")
    staging = _base("staging")
    staging["account"] = dev["account"]
    staging["platform"]["cluster_admin_principals"] = dev["platform"]["cluster_admin_principals"]
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(dev))
    (tmp_path / "staging.yaml").write_text(yaml.safe_dump(staging))
    with pytest.raises(ConfigError) as raised:
        load_stages(config_dir=tmp_path)
    problems = "\n".join(raised.value.problems)
    assert f"{tmp_path / 'staging.yaml'}: observability.detection.guardduty: dev already enables it in " in problems
    assert (
        f"{tmp_path / 'staging.yaml'}: ai.bedrock.invocation_logs: dev, staging all set it for 111111111111/us-east-1"
        in problems
    )
    staging = _without_detection(staging)
    (tmp_path / "staging.yaml").write_text(yaml.safe_dump(staging))
    assert [c.name for c in load_stages(config_dir=tmp_path)] == ["dev", "staging"]


EDGE_CASES = [
    ("domain outside the zone", _set("edge.domain_name", "app.other.org"), "edge.domain_name: app.other.org is not in"),
    ("zone id", _set("edge.hosted_zone_id", "zone-1"), "edge.hosted_zone_id: zone-1 is not a Route 53 hosted zone id"),
    ("missing zone", _set("edge.hosted_zone_id", ""), "edge.hosted_zone_id: required when the edge"),
    (
        "viewer name is the origin's",
        _set("edge.domain_name", "origin.app.example.com"),
        "edge.domain_name: must differ from platform.ingress.domain_name",
    ),
    (
        "previous version alone",
        _set("edge.origin_verify.previous_version_id", "a" * 36),
        "edge.origin_verify.previous_version_id: needs current_version_id",
    ),
    (
        "one version twice",
        lambda d: d["edge"].update(origin_verify={"current_version_id": "a" * 36, "previous_version_id": "a" * 36}),
        "edge.origin_verify.previous_version_id: is current_version_id",
    ),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_bad_edge_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "prod", mutate, base="prod")
    assert any(p.startswith(f"{tmp_path / 'prod.yaml'}: {expected}") for p in problems), problems


def test_an_edge_left_off_needs_no_fields(tmp_path: Path) -> None:
    assert load_stage("dev", EXAMPLE_CONFIG).edge.enabled is False


AI_CASES = [
    ("a wildcard model", _set("ai.bedrock.models.1.id", "meta.*"),
     "ai.bedrock.models.1.id: meta.* is not a Bedrock model id"),
    ("no models", _set("ai.bedrock.models", []), "ai.bedrock.models: required when Bedrock is enabled"),
    ("no guardrail", _set("ai.bedrock.guardrail", None), "ai.bedrock.guardrail: required when Bedrock is enabled"),
    ("a profile of another geography", _set("ai.bedrock.models.0.inference_profile", "eu"),
     "ai.bedrock.models.0.inference_profile: the eu profile cannot be called from us-east-1"),
    ("prompt attacks on completions", _set("ai.bedrock.guardrail.content_filters.5.output", "HIGH"),
     "ai.bedrock.guardrail.content_filters.5.output: PROMPT_ATTACK filters prompts only"),
    ("a filter twice", _set("ai.bedrock.guardrail.content_filters.1.type", "HATE"),
     "ai.bedrock.guardrail.content_filters: lists the same type twice"),
    ("an unknown PII type", _set("ai.bedrock.guardrail.pii.0.type", "SHOE_SIZE"), "ai.bedrock.guardrail.pii.0.type:"),
    ("an unknown workload role", _set("ai.bedrock.workload_roles", ["batch"]), "ai.bedrock.workload_roles.0:"),
    ("no image", _set("ai.sagemaker.image_tag", None), "ai.sagemaker.image_tag: name exactly one of image_tag and "
     "image_digest: an image already pushed to model"),
    ("a moving image tag", _set("ai.sagemaker.image_tag", "latest"), "ai.sagemaker.image_tag:"),
    ("tag and digest", _set("ai.sagemaker.image_digest", "sha256:" + "a" * 64), "ai.sagemaker.image_tag: name "
     "exactly one"),
    ("an image in no repository", _set("ai.sagemaker.image_repository", "trainer"),
     "ai.sagemaker.image_repository: trainer is not one of platform.ecr_repositories"),
    ("model data that is no archive", _set("ai.sagemaker.model_data_key", "models/weights.bin"),
     "ai.sagemaker.model_data_key: models/weights.bin is not an S3 key of a .tar.gz"),
    ("one instance in prod", _set("ai.sagemaker.instance_count", 1),
     "ai.sagemaker.instance_count: prod needs at least 2 instances"),
    ("more instances than the maximum", _set("ai.sagemaker.instance_count", 5),
     "ai.sagemaker.instance_count: 5 is above max_instance_count 4"),
    ("a training instance type", _set("ai.sagemaker.instance_type", "g5.xlarge"), "ai.sagemaker.instance_type:"),
    ("an endpoint name over 63", lambda data: (_set("ai.sagemaker.name", "a" * 30)(data),
                                               _set("tags.project", "p" * 40)(data)),
     "ai.sagemaker.name: the endpoint's name " + "p" * 40 + "-prod-" + "a" * 30 + " is not 1-63"),
    ("a guardrail name over 50", _set("tags.project", "p" * 46), "tags.project: the guardrail's name"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "mutate", "expected"), AI_CASES, ids=[c[0] for c in AI_CASES])
def test_bad_ai_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "prod", mutate, base="prod")
    assert any(p.startswith(f"{tmp_path / 'prod.yaml'}: {expected}") for p in problems), problems


def test_ai_left_off_needs_no_fields(tmp_path: Path) -> None:
    """A stage file without an ai: section has both toggles off and adds no interface endpoint."""
    data = {key: value for key, value in _base("dev").items() if key != "ai"}
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(data))
    config = load_stage("dev", tmp_path)
    assert not config.ai.bedrock.enabled and not config.ai.sagemaker.enabled
    assert config.interface_endpoints == config.network.interface_endpoints


def _region(region: str, cidr: str, asn: int, role: str = "active") -> dict[str, Any]:
    return {"region": region, "availability_zones": [f"{region}{letter}" for letter in "abc"], "cidr": cidr,
            "transit_gateway_asn": asn, "role": role}  # fmt: skip


REGION_CASES = [
    (
        "overlapping VPCs",
        _set("regions.1.cidr", "10.0.128.0/17"),
        "regions.1.cidr: 10.0.128.0/17 overlaps regions.0.cidr 10.0.0.0/16",
    ),
    (
        "overlap between two secondaries",
        _set("regions.2.cidr", "10.1.0.0/17"),
        "regions.2.cidr: 10.1.0.0/17 overlaps regions.1.cidr 10.1.0.0/16",
    ),
    ("same region twice", _set("regions.2.region", "eu-west-1"), "regions.2.region: eu-west-1 is regions.1 already"),
    (
        "AZ of another region",
        _set("regions.1.availability_zones", ["eu-west-1a", "eu-west-1b", "eu-west-2c"]),
        "regions.1.availability_zones.2: eu-west-2c is not an availability zone of eu-west-1",
    ),
    (
        "too few AZs in a secondary",
        _set("regions.2.availability_zones", ["ap-southeast-1a"]),
        "regions.2.availability_zones: expected 3 availability zones, got 1",
    ),
    ("bad CIDR", _set("regions.1.cidr", "10.1.0.0/40"), "regions.1.cidr: 10.1.0.0/40 is not a valid CIDR"),
    (
        "a secondary's subnet plan that does not fit",
        _set("regions.2.cidr", "10.2.0.0/20"),
        "network.subnet_prefix.public: 3 subnets of /20 do not fit in the public tier's quarter (10.2.0.0/22) of "
        "10.2.0.0/20",
    ),
    (
        "one ASN for two Transit Gateways",
        _set("regions.2.transit_gateway_asn", 64512),
        "regions.2.transit_gateway_asn: 64512 is regions.0's; peers need distinct ASNs",
    ),
    (
        "public ASN",
        _set("regions.0.transit_gateway_asn", 16509),
        "regions.0.transit_gateway_asn: 16509 is not a private ASN (64512-65534 or 4200000000-4294967294)",
    ),
    ("a standby primary", _set("regions.0.role", "standby"), "regions.0.role: the primary region serves traffic"),
    ("an unknown role", _set("regions.1.role", "passive"), "regions.1.role: passive is not one of active or standby"),
    (
        "a replica name S3 refuses",
        _set("tags.project", "ai-platform-of-the-company"),
        "recovery.replicate_buckets: the replica name "
        "ai-platform-of-the-company-prod-knowledge-docs-333333333333-eu-west-1 is longer",
    ),
    (
        "replication with one region",
        lambda d: d.update(regions=d["regions"][:1]),
        "recovery.replicate_tables: nothing to replicate to: the stage has one region",
    ),
    ("secondaries on RDS", _set("data.database.engine", "rds"),
     "data.database.engine: secondary regions need aurora-serverless-v2"),
    ("a table left in one region", _set("recovery.replicate_tables", ["sessions"]),
     "recovery.replicate_tables: lacks conversations: the workloads in the secondary regions use every table"),
    ("models left in one region", _set("recovery.replicate_buckets", ["images"]),
     "recovery.replicate_buckets: lacks models"),
    ("images left in one region behind CloudFront", _set("recovery.replicate_buckets", ["models"]),
     "recovery.replicate_buckets: lacks images: CloudFront's images path fails over to its replica"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "mutate", "expected"), REGION_CASES, ids=[c[0] for c in REGION_CASES])
def test_bad_region_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "prod", mutate, base="prod")
    assert any(p.startswith(f"{tmp_path / 'prod.yaml'}: {expected}") for p in problems), problems
    assert len(problems) == len(set(problems)), problems


def test_a_stage_may_add_regions(tmp_path: Path) -> None:
    """Any number of secondaries: a fourth region is one more entry."""
    data = _base("prod")
    data["regions"].append(_region("us-west-2", "10.3.0.0/16", 64515, "standby"))
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(data))
    config = load_stage("prod", tmp_path)
    assert [r.region for r in config.secondaries] == ["eu-west-1", "ap-southeast-1", "us-west-2"]
    assert config.in_region(config.secondaries[2]).network.cidr == "10.3.0.0/16"


def test_the_images_path_fails_over_to_the_first_active_secondary(tmp_path: Path) -> None:
    """The region the shared name fails over to first (an active one), a standby only when no secondary is active;
    none without the edge."""
    data = _base("prod")
    data["regions"][1:] = data["regions"][:0:-1]  # the standby ap-southeast-1 first, the active eu-west-1 second
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(data))
    failover = images_failover_region(load_stage("prod", tmp_path))
    assert failover is not None and failover.region == "eu-west-1"
    data["regions"][2]["role"] = "standby"
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(data))
    failover = images_failover_region(load_stage("prod", tmp_path))
    assert failover is not None and failover.region == "ap-southeast-1"
    data["edge"] = {"enabled": False}
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(data))
    assert images_failover_region(load_stage("prod", tmp_path)) is None


def test_replication_needs_versioned_buckets(tmp_path: Path) -> None:
    def unversioned_with_replication(data: dict[str, Any]) -> None:
        data["regions"].append(_region("us-west-2", "10.11.0.0/16", 64513))
        data["recovery"] = {"replicate_buckets": ["images"]}

    problems = _problems(tmp_path, "dev", unversioned_with_replication)
    assert (
        f"{tmp_path / 'dev.yaml'}: recovery.replicate_buckets: replication needs versioned buckets "
        "(data.buckets.versioned)"
    ) in problems


@pytest.mark.parametrize("field", ["origin_domain_name", "primary_origin_target", "secondary_origin_target"])
def test_the_origin_fields_are_derived_now(tmp_path: Path, field: str) -> None:
    problems = _problems(
        tmp_path, "prod", _set(f"edge.{field}", "k8s-platform-prod-0.us-east-1.elb.amazonaws.com"), base="prod"
    )
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'prod.yaml'}: edge.{field}: derived now: ")
    assert problems[0].endswith("; remove this key")


CHECKS_ACROSS_FIELDS = [
    (
        "AZ letter the region lacks",
        _set("regions.0.availability_zones", ["us-east-1a", "us-east-1b", "us-east-1g"]),
        "regions.0.availability_zones.2: us-east-1g is not an availability zone of us-east-1 (us-east-1a, ",
    ),
    (
        "unknown region",
        lambda d: d["regions"][0].update(region="us-east-7", availability_zones=[f"us-east-7{x}" for x in "abc"]),
        "regions.0.region: us-east-7 is not a region this project knows",
    ),
    (
        "cron with five fields",
        _set("analytics.glue.crawler_schedule", "cron(0 1 * * ?)"),
        "analytics.glue.crawler_schedule: 'cron(0 1 * * ?)' has 5 fields",
    ),
    (
        "cron without ?",
        _set("analytics.glue.crawler_schedule", "cron(0 1 * * * *)"),
        "analytics.glue.crawler_schedule: 'cron(0 1 * * * *)': exactly one of",
    ),
    (
        "cron minute 61",
        _set("analytics.glue.workflow_schedule", "cron(61 1 * * ? *)"),
        "analytics.glue.workflow_schedule: 'cron(61 1 * * ? *)': '61' is not a valid minutes",
    ),
    (
        "rate instead of cron",
        _set("analytics.glue.workflow_schedule", "rate(1 day)"),
        "analytics.glue.workflow_schedule: 'rate(1 day)' is not a cron(...) expression",
    ),
    (
        "cluster admin in another account",
        _set("platform.cluster_admin_principals", ["arn:aws:iam::999999999999:role/Admin"]),
        "platform.cluster_admin_principals.0: arn:aws:iam::999999999999:role/Admin is in account 999999999999, "
        "not the stage's 111111111111",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "mutate", "expected"), CHECKS_ACROSS_FIELDS, ids=[c[0] for c in CHECKS_ACROSS_FIELDS]
)
def test_checks_across_fields(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "dev", mutate)
    assert any(p.startswith(f"{tmp_path / 'dev.yaml'}: {expected}") for p in problems), problems


@pytest.mark.parametrize(
    "schedule", ["cron(0 1 * * ? *)", "cron(0/15 8-18 ? * MON-FRI *)", "cron(0 12 L * ? 2027)", "cron(5 0 ? JAN 2#1 *)"]
)
def test_cron_expressions_cloudwatch_accepts(tmp_path: Path, schedule: str) -> None:
    data = copy.deepcopy(_base())
    data["analytics"]["glue"]["crawler_schedule"] = schedule
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(data))
    assert load_stage("dev", tmp_path).analytics.glue.crawler_schedule == schedule


def _write_stages(tmp_path: Path, **stages: dict[str, Any]) -> None:
    for name, data in stages.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data))


def _without_detection(data: dict[str, Any]) -> dict[str, Any]:
    """A stage that owns none of the account's and Region's services (detection, Bedrock invocation logging)."""
    data["observability"]["detection"] = {name: False for name in data["observability"]["detection"]}
    data["ai"]["bedrock"].pop("invocation_logs")
    return data


def _as_qa(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stage file as stage qa: its repository credentials move under qa's prefix."""
    data["platform"]["gitops"]["credentials_secret"] = "/ai-platform/qa/gitops/repository"
    return data


def test_overlapping_stages_in_one_account_are_refused(tmp_path: Path) -> None:
    dev, qa = _base("dev"), _as_qa(_without_detection(_base("dev")))
    _write_stages(tmp_path, dev=dev, qa=qa)
    with pytest.raises(ConfigError) as raised:
        load_stages(config_dir=tmp_path)
    assert raised.value.problems == [
        f"{tmp_path / 'qa.yaml'}: regions.0.cidr: 10.10.0.0/16 (us-east-1) overlaps dev's regions.0.cidr "
        "10.10.0.0/16 in the same account"
    ]


def test_overlapping_stages_in_other_accounts_and_unpromoted_stages_are_warned_about(tmp_path: Path) -> None:
    dev, qa = _base("dev"), _as_qa(_base("dev"))
    qa["account"] = "999999999999"
    qa["platform"]["cluster_admin_principals"] = ["arn:aws:iam::999999999999:role/BreakGlass"]
    _write_stages(tmp_path, dev=dev, qa=qa)
    configs = load_stages(config_dir=tmp_path)
    pipeline = load_pipeline(EXAMPLE_CONFIG)
    assert config_warnings(configs, pipeline, tmp_path) == [
        f"warning: {tmp_path / 'qa.yaml'}: regions.0.cidr: 10.10.0.0/16 (us-east-1) overlaps dev's regions.0.cidr "
        "10.10.0.0/16 in account 111111111111",
        f"warning: {tmp_path / 'qa.yaml'}: not promoted by {tmp_path / 'pipeline.yaml'} "
        "(stages: dev, staging, prod); the pipeline will not deploy it",
    ]
    assert config_warnings(load_stages(config_dir=EXAMPLE_CONFIG), pipeline, EXAMPLE_CONFIG) == []


def test_bad_config_stops_the_test_session_with_one_line_per_problem(tmp_path: Path) -> None:
    """`make test` on a broken stage file: the loader's lines and one line saying nothing was synthesized,
    no traceback and no cascade of failing tests."""
    copy_of_repo = tmp_path / "repo"
    ignored = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "cdk.out", ".*_cache", "__snapshots__", "__pycache__"
    )
    shutil.copytree(REPO_ROOT, copy_of_repo, ignore=ignored)
    data = _base("dev")
    data["regions"][0]["cidr"] = "10.0.0.0/33"
    (copy_of_repo / "environments" / "dev.yaml").write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/config"],
        cwd=copy_of_repo, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1, output
    assert output == [
        "environments/dev.yaml: regions.0.cidr: 10.0.0.0/33 is not a valid CIDR",
        "Exit: the configuration above is invalid; nothing was synthesized",
    ]


COMPUTE19_CASES = [
    ("Graviton group on x86 types", _set("platform.node_groups.2.architecture", "arm64"),
     "platform.node_groups.2.architecture: arm64 but the instance types are amd64"),
    ("x86 group on Graviton types", _set("platform.node_groups.0.architecture", "amd64"),
     "platform.node_groups.0.architecture: amd64 but the instance types are arm64"),
    ("unknown architecture", _set("platform.node_groups.0.architecture", "riscv64"),
     "platform.node_groups.0.architecture: riscv64 is not one of amd64 or arm64"),
    ("Fargate in a namespace nobody made", _set("platform.fargate.profiles.0.selectors.0.namespace", "web"),
     "platform.fargate.profiles.0.selectors.0.namespace: web is not one of platform.namespaces"),
    ("Fargate for GPU workloads", _set("platform.fargate.profiles.0.selectors.0.namespace", "gpu-workers"),
     "platform.fargate.profiles.0.selectors.0.namespace: gpu-workers runs GPU workloads; Fargate has no GPUs"),
    ("two Fargate profiles of one name",
     lambda d: d["platform"]["fargate"]["profiles"].append(copy.deepcopy(d["platform"]["fargate"]["profiles"][0])),
     "platform.fargate.profiles: two profiles share a name"),
    ("six Fargate selectors", _set("platform.fargate.profiles.0.selectors", [{"namespace": "app"}] * 6),
     "platform.fargate.profiles.0.selectors: may have at most 5 entries"),
    ("six labels on a selector",
     _set("platform.fargate.profiles.0.selectors.0.labels", {f"k{i}": "v" for i in range(6)}),
     "platform.fargate.profiles.0.selectors.0.labels: may have at most 5 entries"),
    ("a label value Kubernetes refuses",
     _set("platform.fargate.profiles.0.selectors.0.labels", {"compute": "far gate"}),
     "platform.fargate.profiles.0.selectors.0.labels.compute: far gate is not a Kubernetes label value"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "mutate", "expected"), COMPUTE19_CASES, ids=[c[0] for c in COMPUTE19_CASES])
def test_bad_graviton_or_fargate_value(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "prod", mutate, base="prod")
    assert any(p.startswith(f"{tmp_path / 'prod.yaml'}: {expected}") for p in problems), problems


def test_fargate_is_off_when_absent_and_off_in_dev(tmp_path: Path) -> None:
    assert _base()["platform"].get("fargate") is None
    data = copy.deepcopy(_base("prod"))
    del data["platform"]["fargate"]
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(data))
    assert load_stage("prod", tmp_path).platform.fargate is None


COMPLIANCE_CASES = [
    (
        "unknown pack",
        _set("compliance.packs", ["AwsSolutions", "HIPAA"]),
        "compliance.packs: HIPAA is not a cdk-nag pack this project runs (choose from AwsSolutions, "
        "NIST.800.53.R5, HIPAA.Security, PCI.DSS.321)",
    ),
    ("pack twice", _set("compliance.packs", ["AwsSolutions", "AwsSolutions"]), "compliance.packs: lists a pack twice"),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), COMPLIANCE_CASES, ids=[c[0] for c in COMPLIANCE_CASES])
def test_bad_compliance_packs(tmp_path: Path, label: str, mutate: Mutation, expected: str) -> None:
    problems = _problems(tmp_path, "dev", mutate)
    assert any(p.startswith(f"{tmp_path / 'dev.yaml'}: {expected}") for p in problems), problems


def test_compliance_packs_default_and_examples(tmp_path: Path) -> None:
    """Without a compliance section a stage runs AwsSolutions and NIST 800-53; prod ships with all four."""
    data = _base("dev")
    data.pop("compliance")
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(data))
    assert load_stage("dev", tmp_path).compliance.packs == ("AwsSolutions", "NIST.800.53.R5")
    assert load_stage("prod", EXAMPLE_CONFIG).compliance.packs == (
        "AwsSolutions",
        "NIST.800.53.R5",
        "HIPAA.Security",
        "PCI.DSS.321",
    )


def test_two_stages_with_secondaries_cannot_share_a_registry(tmp_path: Path) -> None:
    """A registry has one replication configuration: a second stage replicating from the same account and
    primary region would replace the first's."""
    prod = _base("prod")
    qa = copy.deepcopy(prod)
    for index, region in enumerate(qa["regions"]):
        region["cidr"] = f"10.{20 + index}.0.0/16"
    gitops = qa["platform"]["gitops"]
    gitops["credentials_secret"] = gitops["credentials_secret"].replace("/prod/", "/qa/")
    (tmp_path / "prod.yaml").write_text(yaml.safe_dump(prod))
    (tmp_path / "qa.yaml").write_text(yaml.safe_dump(qa))
    with pytest.raises(ConfigError) as raised:
        load_stages(config_dir=tmp_path)
    assert (
        f"{tmp_path / 'qa.yaml'}: regions: prod already replicates the ECR registry of {prod['account']}/"
        f"{prod['regions'][0]['region']} to its secondaries (one replication configuration per registry); use "
        "another account"
    ) in raised.value.problems
    qa["regions"] = qa["regions"][:1]
    qa["recovery"] = {}
    (tmp_path / "qa.yaml").write_text(yaml.safe_dump(qa))
    with pytest.raises(ConfigError) as raised:
        load_stages(config_dir=tmp_path)
    assert not any("replicates the ECR registry" in problem for problem in raised.value.problems)
