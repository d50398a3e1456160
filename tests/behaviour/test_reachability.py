"""It works once deployed, contract 1: reachability. On the model tests/behaviour/reachability.py builds from
each stage's templates (every region), every required path holds and no forbidden one is open; every
placement sits in its tier; the model finds every workload the config enables (so nothing passes because
nothing was found). Each contract is also run on templates broken on purpose, and must name the break.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from constructs.network.cloudfront_prefix_list import CLOUDFRONT_ORIGIN_FACING

from environments.schema.stage import StageConfig
from tests.behaviour.reachability import (
    ClusterDns,
    GroupPeer,
    GroupRule,
    Hop,
    Internet,
    Kind,
    Layer,
    Party,
    Placed,
    Placement,
    ResourceId,
    Selector,
    Service,
    StackTemplate,
    Tier,
    Traffic,
    VpcModel,
    cidrs_text,
    cluster_security_group,
    rejoined,
    with_placeholders,
)
from tests.behaviour.templates import copied
from tests.synthesis import SynthesizedPlatform

EKS_SECURITY_GROUPS = "https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html"
FARGATE_SECURITY_GROUPS = "https://repost.aws/knowledge-center/eks-configure-fargate-pod-security-group"
README_NETWORK = "README, The network"
AMP_COLLECTOR = "https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-collector-how-to.html"
README_SECONDARY = "README, The secondary region and recovery"
README_EDGE = "README, The edge"
CLOUDFRONT = Service("CloudFront", CLOUDFRONT_ORIGIN_FACING)


TrafficOf = tuple[Traffic, ...] | Callable[[StageConfig], tuple[Traffic, ...]]
"""The traffic a path is about: fixed, or what the stage's config makes of it."""


def service_traffic(config: StageConfig) -> tuple[Traffic, ...]:
    """Each port a service behind the load balancer listens on (platform.services)."""
    return tuple(Traffic.tcp(service.port) for service in config.platform.services)


def always(_: StageConfig) -> bool:
    return True


def with_edge(config: StageConfig) -> bool:
    return config.edge.enabled


def with_kafka_consumer(config: StageConfig) -> bool:
    return config.analytics.stream_processing.kafka_consumer.enabled and config.analytics.msk.mode != "off"


def without_edge(config: StageConfig) -> bool:
    return not config.edge.enabled


def with_bedrock(config: StageConfig) -> bool:
    return config.ai.bedrock.enabled


def with_sagemaker(config: StageConfig) -> bool:
    return config.ai.sagemaker.enabled


@dataclass(frozen=True)
class RequiredPath:
    name: str
    source: Selector
    destination: Selector
    traffic: TrafficOf
    reference: str
    applies: Callable[[StageConfig], bool] = always
    """Whether the stage has this path at all (the load balancer is open to the internet or to CloudFront)."""


@dataclass(frozen=True)
class ForbiddenPath:
    name: str
    source: Selector
    destination: Selector
    traffic: TrafficOf
    held_by: tuple[Layer, ...]
    """Each of these layers must deny it on its own: the defence in depth the reference promises."""
    reference: str
    applies: Callable[[StageConfig], bool] = always


def of(*kinds: Kind) -> Placed:
    return Placed(frozenset(kinds))


LOAD_BALANCER = of(Kind.LOAD_BALANCER)
CONTROL_PLANE = of(Kind.CONTROL_PLANE)
NODES = of(Kind.NODE_GROUP, Kind.KARPENTER_NODES)
FARGATE = of(Kind.FARGATE_PODS)
SERVING = of(*NODES.kinds, Kind.FARGATE_PODS, Kind.ECS_SERVICE)
"""What the load balancer and the peer region send requests to."""
WORKLOADS = of(*SERVING.kinds, Kind.EVENT_FUNCTION, Kind.ECS_SCHEDULED_TASK)
"""What uses the data stores."""
APP_TIER = Placed(tier="app", excluding=frozenset({Kind.INTERFACE_ENDPOINT, Kind.CONTROL_PLANE}))
"""Everything in the app tier that opens connections: not the endpoints (they are the destination) and not the
control plane's interfaces (they answer; EKS runs the control plane's clients)."""
SERVICE_PORTS = {
    Kind.RDS_PROXY: 5432,
    Kind.DATABASE: 5432,
    Kind.CACHE: 6379,
    Kind.FILE_SYSTEM: 2049,
    Kind.KAFKA: 9098,
    Kind.SEARCH: 443,
    Kind.GRAPH: 8182,
    Kind.TIME_SERIES: 8086,
    Kind.ACCELERATOR: 9111,
}
"""Each data store's one port: PostgreSQL, Valkey and NFS (seed 002's chain), MSK with IAM, OpenSearch's HTTPS,
Neptune (TLS), InfluxDB's API (TLS) and DAX's TLS endpoint."""
TOGGLED: dict[Kind, Callable[[StageConfig], bool]] = {
    Kind.KAFKA: lambda config: config.analytics.msk.mode != "off",
    Kind.GRAPH: lambda config: config.data.graph.mode != "off",
    Kind.TIME_SERIES: lambda config: config.data.time_series.enabled,
    Kind.ACCELERATOR: lambda config: config.data.accelerator.enabled,
}
"""The stores a stage may turn off (their groups, ports and ACL entries go with them)."""


def data_ports(config: StageConfig) -> list[int]:
    """The ports of the data stores the stage builds: what the data tier's ACL may open."""
    return sorted({port for kind, port in SERVICE_PORTS.items() if TOGGLED.get(kind, always)(config)})


def non_data_ports(config: StageConfig) -> tuple[Traffic, ...]:
    return (Traffic.every_port("tcp", but=data_ports(config)), Traffic.every_port("udp"))


ANY_TRAFFIC = (Traffic.every_port("tcp"), Traffic.every_port("udp"))
EXPECTED_TIER = {
    **dict.fromkeys(
        (
            Kind.NODE_GROUP, Kind.KARPENTER_NODES, Kind.FARGATE_PODS, Kind.CONTROL_PLANE, Kind.KUBECTL_HANDLER,
            Kind.EVENT_FUNCTION, Kind.PROVIDER_FUNCTION, Kind.ROTATION, Kind.ECS_SERVICE, Kind.ECS_SCHEDULED_TASK,
            Kind.INTERFACE_ENDPOINT, Kind.SCRAPER, Kind.STREAM_APPLICATION, Kind.FIREHOSE, Kind.INFERENCE_MODEL,
        ),
        "app",
    ),
    Kind.KAFKA_POLLER: "data",
    **dict.fromkeys((Kind.LOAD_BALANCER, Kind.NAT_GATEWAY), "public"),
    **dict.fromkeys(SERVICE_PORTS, "data"),
}  # fmt: skip
"""Seed 001's tiers: load balancers and NAT public; compute, and the endpoints it calls, app; data stores data."""

BEDROCK_RUNTIME = Placed(frozenset({Kind.INTERFACE_ENDPOINT}), named="/BedrockRuntimeEndpoint")
SAGEMAKER_RUNTIME = Placed(frozenset({Kind.INTERFACE_ENDPOINT}), named="/SagemakerRuntimeEndpoint")
SAGEMAKER_VPC = "https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html"

REQUIRED = (
    RequiredPath("internet -> load balancer", Internet(), LOAD_BALANCER, (Traffic.tcp(443), Traffic.tcp(80)),
                 f"seed 002's chain ALB -> workloads; {README_NETWORK}: without the edge, alb admits 80 and 443 "
                 "from anywhere", applies=without_edge),
    RequiredPath("CloudFront -> load balancer", CLOUDFRONT, LOAD_BALANCER, (Traffic.tcp(443),),
                 f"{README_EDGE}: CloudFront connects to its origin over HTTPS from its origin-facing prefix list",
                 applies=with_edge),
    RequiredPath("load balancer -> workloads", LOAD_BALANCER, SERVING, service_traffic,
                 "seed 002: the services listen behind the load balancer (platform.services)"),
    RequiredPath("nodes -> control plane", NODES, CONTROL_PLANE, (Traffic.tcp(443),), EKS_SECURITY_GROUPS),
    RequiredPath("control plane -> kubelet", CONTROL_PLANE, NODES, (Traffic.tcp(10250),), EKS_SECURITY_GROUPS),
    RequiredPath("control plane -> webhooks on nodes", CONTROL_PLANE, NODES, (Traffic.tcp(443),),
                 EKS_SECURITY_GROUPS),
    RequiredPath("nodes -> CoreDNS", NODES, ClusterDns(), (Traffic.udp(53), Traffic.tcp(53)),
                 f"{EKS_SECURITY_GROUPS} (CoreDNS, which the coredns add-on places on the system nodes)"),
    RequiredPath("Fargate pods -> control plane", FARGATE, CONTROL_PLANE, (Traffic.tcp(443),),
                 f"{FARGATE_SECURITY_GROUPS}: a Fargate pod's groups must let it reach the control plane"),
    RequiredPath("control plane -> Fargate kubelet", CONTROL_PLANE, FARGATE, (Traffic.tcp(10250),),
                 f"{EKS_SECURITY_GROUPS} (logs, exec and probes through the pod's kubelet)"),
    RequiredPath("Fargate pods -> CoreDNS", FARGATE, ClusterDns(), (Traffic.udp(53), Traffic.tcp(53)),
                 f"{FARGATE_SECURITY_GROUPS}: an outbound rule to the CoreDNS pods on TCP and UDP 53"),
    RequiredPath("Prometheus collector -> exporters", of(Kind.SCRAPER), NODES,
                 (Traffic.tcp(8080), Traffic.tcp(9100), Traffic.tcp(9400)),
                 f"{AMP_COLLECTOR}: the collector scrapes each target at its address from the cluster's subnets "
                 "(kube-state-metrics 8080, the node exporter on the node's own 9100, DCGM 9400)"),
    RequiredPath("Prometheus collector -> control plane", of(Kind.SCRAPER), CONTROL_PLANE, (Traffic.tcp(443),),
                 f"{AMP_COLLECTOR}: it discovers its targets through the cluster's private API endpoint"),
    RequiredPath("kubectl handler -> control plane", of(Kind.KUBECTL_HANDLER), CONTROL_PLANE, (Traffic.tcp(443),),
                 "https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_eks_v2-readme.html (the kubectl "
                 "handler applies manifests through the private endpoint)"),
    RequiredPath("workloads -> RDS Proxy", WORKLOADS, of(Kind.RDS_PROXY), (Traffic.tcp(5432),),
                 "seed 002's chain workloads -> PostgreSQL; README, The data: clients connect to the proxy"),
    RequiredPath("RDS Proxy -> database", of(Kind.RDS_PROXY), of(Kind.DATABASE), (Traffic.tcp(5432),),
                 "README, The data: the database admits the proxy and the rotation function"),
    RequiredPath("rotation -> database", of(Kind.ROTATION), of(Kind.DATABASE), (Traffic.tcp(5432),),
                 "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-function-network-access.html"),
    RequiredPath("workloads -> cache", WORKLOADS, of(Kind.CACHE), (Traffic.tcp(6379),),
                 "seed 002's chain workloads -> cache"),
    RequiredPath("workloads -> EFS", WORKLOADS, of(Kind.FILE_SYSTEM), (Traffic.tcp(2049),),
                 "seed 002's chain workloads -> EFS (the shared models)"),
    RequiredPath("workloads -> Kafka", WORKLOADS, of(Kind.KAFKA), (Traffic.tcp(9098),),
                 "seeds 000, 004: Kafka with IAM auth; https://docs.aws.amazon.com/msk/latest/developerguide/"
                 "port-info.html"),
    RequiredPath("workloads -> search", WORKLOADS, of(Kind.SEARCH), (Traffic.tcp(443),),
                 "seeds 000, 004: OpenSearch over HTTPS"),
    RequiredPath("Kafka event pollers -> Kafka", of(Kind.KAFKA_POLLER), of(Kind.KAFKA), (Traffic.tcp(9098),),
                 "seed 000: MSK -> Lambda; the pollers use the cluster's subnets and groups: "
                 "https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html", with_kafka_consumer),
    RequiredPath("Firehose -> search", of(Kind.FIREHOSE), of(Kind.SEARCH), (Traffic.tcp(443),),
                 "seed 000: Firehose to OpenSearch, delivered inside the VPC over HTTPS"),
    RequiredPath("Flink application -> interface endpoints", of(Kind.STREAM_APPLICATION),
                 of(Kind.INTERFACE_ENDPOINT), (Traffic.tcp(443),),
                 "seed 000: Kinesis -> Flink; the application's ENIs call STS, KMS and CloudWatch Logs"),
    RequiredPath("Flink application -> S3", of(Kind.STREAM_APPLICATION), Service("S3", "pl-s3"), (Traffic.tcp(443),),
                 "seed 000: Flink -> S3 (the lake's processed zone)"),
    RequiredPath("Flink application -> internet", of(Kind.STREAM_APPLICATION), Internet(), (Traffic.tcp(443),),
                 "the Kinesis stream has no interface endpoint here: Flink reads it through NAT"),
    RequiredPath("workloads -> graph", WORKLOADS, of(Kind.GRAPH), (Traffic.tcp(8182),),
                 "seed 000: Neptune (topology and dependencies); https://docs.aws.amazon.com/neptune/latest/"
                 "userguide/security-vpc.html", applies=TOGGLED[Kind.GRAPH]),
    RequiredPath("workloads -> time series", WORKLOADS, of(Kind.TIME_SERIES), (Traffic.tcp(8086),),
                 "seed 000: time series (Timestream for InfluxDB's API port)", applies=TOGGLED[Kind.TIME_SERIES]),
    RequiredPath("workloads -> DAX", WORKLOADS, of(Kind.ACCELERATOR), (Traffic.tcp(9111),),
                 "seed 000: DynamoDB with DAX; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                 "DAX.encryption.html (a TLS cluster listens on 9111)", applies=TOGGLED[Kind.ACCELERATOR]),
    RequiredPath("app tier -> interface endpoints", APP_TIER, of(Kind.INTERFACE_ENDPOINT), (Traffic.tcp(443),),
                 f"{README_NETWORK}: the interface endpoints serve the app tier over HTTPS"),
    RequiredPath("app tier -> internet", APP_TIER, Internet(), (Traffic.tcp(443),),
                 f"{README_NETWORK}: the app tier's egress goes through NAT (EC2, EKS and the public chart "
                 "repositories have no endpoint here)"),
    RequiredPath("app tier -> S3", APP_TIER, Service("S3", "pl-s3"), (Traffic.tcp(443),),
                 "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html (image layers come "
                 "from S3); the data lake and buckets"),
    RequiredPath("app tier -> DynamoDB", APP_TIER, Service("DynamoDB", "pl-dynamodb"), (Traffic.tcp(443),),
                 "seed 001's tables; seed 000's stream state"),
    RequiredPath("workloads -> bedrock-runtime endpoint", WORKLOADS, BEDROCK_RUNTIME, (Traffic.tcp(443),),
                 "seed 000: Bedrock; https://docs.aws.amazon.com/bedrock/latest/userguide/vpc-interface-endpoints.html",
                 applies=with_bedrock),
    RequiredPath("workloads -> sagemaker.runtime endpoint", WORKLOADS, SAGEMAKER_RUNTIME, (Traffic.tcp(443),),
                 f"seed 000: SageMaker endpoints, called with InvokeEndpoint; {SAGEMAKER_VPC}",
                 applies=with_sagemaker),
    RequiredPath("SageMaker model -> S3", of(Kind.INFERENCE_MODEL), Service("S3", "pl-s3"), (Traffic.tcp(443),),
                 f"{SAGEMAKER_VPC}: the model data comes from S3 through the VPC's gateway endpoint",
                 applies=with_sagemaker),
    RequiredPath("SageMaker model -> ECR endpoints", of(Kind.INFERENCE_MODEL),
                 Placed(frozenset({Kind.INTERFACE_ENDPOINT}), named="/EcrDkrEndpoint"), (Traffic.tcp(443),),
                 f"{SAGEMAKER_VPC}: the image comes from ECR through its interface endpoints",
                 applies=with_sagemaker),
    RequiredPath("peer region's app tier -> workloads", Tier("app", peer=True), SERVING, service_traffic,
                 f"seed 000: Transit Gateways peered between the regions; {README_SECONDARY}"),
)  # fmt: skip

FORBIDDEN = (
    ForbiddenPath("internet -> load balancer, past CloudFront", Internet(), LOAD_BALANCER, ANY_TRAFFIC,
                  (Layer.SECURITY_GROUPS,),
                  f"{README_EDGE}: with the edge, alb admits CloudFront's origin-facing prefix list only",
                  applies=with_edge),
    ForbiddenPath("internet -> app tier", Internet(), Placed(tier="app"), ANY_TRAFFIC,
                  (Layer.ROUTES, Layer.SECURITY_GROUPS),
                  f"seed 001; {README_NETWORK}: only the public tier routes to the internet gateway"),
    ForbiddenPath("internet -> data tier", Internet(), Placed(tier="data"), ANY_TRAFFIC,
                  (Layer.NETWORK_ACLS, Layer.SECURITY_GROUPS),
                  f"seed 001; {README_NETWORK}: the data ACL admits the app tier only, each data group workloads "
                  "only"),
    ForbiddenPath("internet -> public tier but the load balancer", Internet(),
                  Placed(tier="public", excluding=frozenset({Kind.LOAD_BALANCER})), ANY_TRAFFIC,
                  (Layer.SECURITY_GROUPS,),
                  "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html (a NAT gateway takes no "
                  "connection from outside)"),
    ForbiddenPath("data tier -> internet", Tier("data"), Internet(), ANY_TRAFFIC, (Layer.ROUTES, Layer.NETWORK_ACLS),
                  f"seed 001; {README_NETWORK}: data is isolated, with no internet route"),
    ForbiddenPath("data tier -> peer region", Tier("data"), Tier("app", peer=True), ANY_TRAFFIC, (Layer.ROUTES,),
                  f"{README_SECONDARY}: the data tiers have no route to the peer"),
    ForbiddenPath("peer region -> data tier", Tier("app", peer=True), Tier("data"), ANY_TRAFFIC,
                  (Layer.ROUTES, Layer.NETWORK_ACLS), f"{README_SECONDARY}: only the app tiers reach each other"),
    ForbiddenPath("public tier -> data tier", Tier("public"), Tier("data"), ANY_TRAFFIC, (Layer.NETWORK_ACLS,),
                  "seed 001's tiers Public <-> Private <-> Database: the data ACL admits the app tier only"),
    ForbiddenPath("app tier -> data tier on a non-data port", Tier("app"), Tier("data"),
                  non_data_ports, (Layer.NETWORK_ACLS,),
                  f"seed 001; {README_NETWORK}: the data ACL admits only the data groups' ports"),
    *(
        ForbiddenPath(f"app tier -> {kind.value} on another port", Tier("app"), of(kind),
                      (Traffic.every_port("tcp", but=[port]), Traffic.every_port("udp")), (Layer.SECURITY_GROUPS,),
                      f"{README_NETWORK}: each data group admits its one port")
        for kind, port in SERVICE_PORTS.items()
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """A required path that does not hold, or a forbidden one a layer lets through, with what to fix."""

    stage: str
    region: str
    path: str
    source: str
    destination: str
    traffic: str
    reference: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        details = "".join(f"\n    - {problem}" for problem in self.problems)
        head = f"{self.stage} {self.region}: {self.path}: {self.source} -> {self.destination} {self.traffic}"
        return f"{head} [{self.reference}]{details}"


def pairs(model: VpcModel, region: str, path: RequiredPath | ForbiddenPath) -> Iterable[tuple[Party, Party]]:
    return itertools.product(model.parties(region, path.source), model.parties(region, path.destination))


def traffic_of(path: RequiredPath | ForbiddenPath, config: StageConfig) -> tuple[Traffic, ...]:
    return path.traffic(config) if callable(path.traffic) else path.traffic


def required_failures(model: VpcModel, config: StageConfig) -> list[Failure]:
    return [
        Failure(model.stage, region, path.name, str(source), str(destination), str(traffic), path.reference,
                tuple(map(str, problems)))
        for region in model.regions
        for path in REQUIRED
        if path.applies(config)
        for source, destination in pairs(model, region, path)
        for traffic in traffic_of(path, config)
        if (problems := model.required(source, destination, traffic))
    ]  # fmt: skip


def forbidden_failures(model: VpcModel, config: StageConfig) -> list[Failure]:
    return [
        Failure(model.stage, region, path.name, str(source), str(destination), str(traffic), path.reference,
                tuple(f"{problem} (must deny it on its own)" for problem in problems))
        for region in model.regions
        for path in FORBIDDEN
        if path.applies(config)
        for source, destination in pairs(model, region, path)
        for traffic in traffic_of(path, config)
        if (problems := model.forbidden(source, destination, traffic, path.held_by))
    ]  # fmt: skip


IN_ITS_TIER = "placement in its tier"
FOUND_AS_CONFIGURED = "every workload the config enables"


def tier_failures(model: VpcModel) -> list[Failure]:
    return [
        Failure(model.stage, placement.region, IN_ITS_TIER, f"{placement.kind.value} {placement.name}",
                f"the {EXPECTED_TIER[placement.kind]} tier", "", "seed 001's tiers",
                (f"sits in {', '.join(sorted(tiers)) or 'no subnet'} ({placement.origin})",))
        for placement in model.placements
        if (tiers := model.tiers_of(placement)) != {EXPECTED_TIER[placement.kind]}
    ]  # fmt: skip


def lake_placements(config: StageConfig) -> dict[Kind, int]:
    """What a region running a lake (the primary and every active secondary) places: the stream processor and the
    Kafka consumer, the ECS jobs, Kafka, search, Flink, the log delivery and the consumer's pollers."""
    processing = config.analytics.stream_processing
    return {
        Kind.EVENT_FUNCTION: 1 + with_kafka_consumer(config),
        Kind.ECS_SERVICE: 1,
        Kind.ECS_SCHEDULED_TASK: sum(1 for task in config.platform.ecs_tasks if task.schedule),
        Kind.KAFKA: int(TOGGLED[Kind.KAFKA](config)),
        Kind.SEARCH: 1,
        Kind.STREAM_APPLICATION: int(processing.flink.enabled),
        Kind.FIREHOSE: int(processing.log_delivery.enabled),  # the log flow's delivery into the domain
        # one mapping per topic, each with its pollers in the cluster's subnets
        Kind.KAFKA_POLLER: len(processing.kafka_consumer.topics) if with_kafka_consumer(config) else 0,
    }


def expected_placements(config: StageConfig) -> dict[str, dict[Kind, int | None]]:
    """Per region, how many placements of each kind the config makes there (None: at least one)."""
    network = config.network
    fargate = config.platform.fargate
    expected: dict[str, dict[Kind, int | None]] = {}
    for region in config.regions:
        regional = config.in_region(region)
        lake = lake_placements(config) if region.role == "active" else {}
        expected[region.region] = {
            # Each pool's minimum is a managed group; Karpenter's headroom pools and the GPU burst pool add the rest.
            Kind.NODE_GROUP: sum(1 for group in regional.platform.node_groups if group.min_size),
            Kind.KARPENTER_NODES: sum(1 for group in regional.platform.node_groups if group.headroom) + 1,
            Kind.FARGATE_PODS: sum(len(p.selectors) for p in fargate.profiles) if fargate else 0,
            Kind.CONTROL_PLANE: 1,
            Kind.KUBECTL_HANDLER: 1,
            Kind.PROVIDER_FUNCTION: None,  # the kubectl provider's framework
            Kind.INTERFACE_ENDPOINT: len(config.interface_endpoints),
            Kind.NAT_GATEWAY: network.nat_gateways,
            Kind.LOAD_BALANCER: 1,
            Kind.CACHE: 1,
            Kind.FILE_SYSTEM: 1,  # the models file system (a secondary's: the replica or its own)
            Kind.SCRAPER: 1,  # each region's Managed Prometheus collector for its cluster
            **lake,
            # the action-requests consumer, and the lake's functions where it runs
            Kind.EVENT_FUNCTION: 1 + lake.get(Kind.EVENT_FUNCTION, 0),
        }
    # The primary's stores (a secondary has the Aurora secondary, and the replicas of the global tables and buckets)
    primary = expected[config.region]
    primary |= {
        Kind.ROTATION: 1,
        Kind.RDS_PROXY: 1,
        Kind.DATABASE: 1,
        **{kind: int(on(config)) for kind, on in TOGGLED.items()},
        Kind.INFERENCE_MODEL: 1 if config.ai.sagemaker.enabled else 0,
    }
    for secondary in config.secondaries:
        expected[secondary.region][Kind.DATABASE] = 1 if config.data.database.engine == "aurora-serverless-v2" else 0
    return expected


def kind_failures(model: VpcModel, config: StageConfig) -> list[Failure]:
    expected = expected_placements(config)
    found = Counter((placement.region, placement.kind) for placement in model.placements)
    failures = []
    for region in sorted({*expected, *model.regions}):
        for kind in Kind:
            want, got = expected.get(region, {}).get(kind, 0), found[(region, kind)]
            if (got == 0) if want is None else (got != want):
                wanted = "at least 1" if want is None else str(want)
                failures.append(
                    Failure(model.stage, region, FOUND_AS_CONFIGURED, kind.value, "", "",
                            f"environments/{model.stage}.yaml", (f"expected {wanted}, the model found {got}",))
                )  # fmt: skip
    return failures


def report(failures: list[Failure]) -> str:
    return "\n".join(map(str, failures))


# --- the contracts, over every stage ---------------------------------------------------------------------


@pytest.fixture
def model(model_stacks: Callable[[str], list[StackTemplate]], stage: str) -> VpcModel:
    return VpcModel(stage, model_stacks(stage))


def test_every_required_path_holds(model: VpcModel, platform: SynthesizedPlatform, stage: str) -> None:
    assert not (failures := required_failures(model, platform.configs[stage])), report(failures)


def test_no_forbidden_path_is_open(model: VpcModel, platform: SynthesizedPlatform, stage: str) -> None:
    assert not (failures := forbidden_failures(model, platform.configs[stage])), report(failures)


def test_every_placement_sits_in_its_tier(model: VpcModel) -> None:
    assert not (failures := tier_failures(model)), report(failures)


def test_the_model_finds_every_workload_the_config_enables(
    model: VpcModel, platform: SynthesizedPlatform, stage: str
) -> None:
    assert not (failures := kind_failures(model, platform.configs[stage])), report(failures)


# --- each contract fails on a template broken on purpose -------------------------------------------------

Stacks = dict[str, StackTemplate]
"""Stack name -> a deep copy of the stack for a mutation to edit."""


def placed(model: VpcModel, region: str, kind: Kind) -> list[Placement]:
    found = [p for p in model.placements_in(region) if p.kind is kind]
    assert found, f"{model.stage} {region}: no {kind.value} to break"
    return found


def resources(stacks: Stacks, rid: ResourceId) -> dict[str, Any]:
    found: dict[str, Any] = stacks[rid.stack].template["Resources"]
    return found


def remove_rule(stacks: Stacks, owner: ResourceId, rule: GroupRule, direction: str) -> None:
    assert rule.written_in is not None, rule
    if rule.index is None:
        del resources(stacks, rule.written_in)[rule.written_in.logical_id]
    else:
        del resources(stacks, owner)[owner.logical_id]["Properties"][f"SecurityGroup{direction}"][rule.index]


def remove_workload_ingress(kind: Kind) -> Callable[[VpcModel, Stacks, str], None]:
    """Drop the rules admitting the workloads into the groups of the `kind` store."""

    def apply(model: VpcModel, stacks: Stacks, region: str) -> None:
        workload = frozenset.intersection(*(p.groups for p in model.parties(region, WORKLOADS) if p.groups is not None))
        for group in placed(model, region, kind)[0].groups:
            for rule in model.groups[group].ingress:
                if isinstance(rule.peer, GroupPeer) and rule.peer.group in workload:
                    remove_rule(stacks, group, rule, "Ingress")

    return apply


def drop_the_data_acl_entry_for(port: int) -> Callable[[VpcModel, Stacks, str], None]:
    """Drop the data tier's inbound allow for `port` (the entry the network stack adds with its store)."""

    def apply(model: VpcModel, stacks: Stacks, region: str) -> None:
        vpc = model.vpc_in(region).id
        for acl in {s.acl for s in model.subnets.values() if s.vpc == vpc and s.tier == "data" and s.acl}:
            for entry in model.acls[acl].entries:
                if not entry.egress and entry.allow and entry.ports == (port, port):
                    del resources(stacks, entry.resource)[entry.resource.logical_id]

    return apply


def drop_app_tier_ephemeral_return(model: VpcModel, stacks: Stacks, region: str) -> None:
    vpc = model.vpc_in(region).id
    for acl in {s.acl for s in model.subnets.values() if s.vpc == vpc and s.tier == "app" and s.acl}:
        for entry in model.acls[acl].entries:
            if not entry.egress and entry.allow and entry.cidr == "0.0.0.0/0" and entry.ports == (1024, 65535):
                del resources(stacks, entry.resource)[entry.resource.logical_id]


def remove_app_tier_nat_routes(model: VpcModel, stacks: Stacks, region: str) -> None:
    vpc = model.vpc_in(region).id
    for subnet in model.subnets.values():
        if subnet.vpc == vpc and subnet.tier == "app" and subnet.route_table:
            for route in model.route_tables[subnet.route_table].routes:
                if route.hop is Hop.NAT_GATEWAY and route.resource:
                    resources(stacks, route.resource).pop(route.resource.logical_id, None)


def drop_the_pollers_self_rule(model: VpcModel, stacks: Stacks, region: str) -> None:
    """The Kafka group's rules admitting itself on 9098 (the pollers share the brokers' group)."""
    for stack in stacks.values():
        found = stack.template["Resources"]
        for logical_id in [k for k, r in found.items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
                           and "PollerIngress" in k]:  # fmt: skip
            found.pop(logical_id)


def open_cache_to_the_internet(model: VpcModel, stacks: Stacks, region: str) -> None:
    for group in placed(model, region, Kind.CACHE)[0].groups:
        resources(stacks, group)["MutationCacheFromAnywhere"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": [group.logical_id, "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "CidrIp": "0.0.0.0/0",
            },
        }


def route_data_tier_to_the_internet_gateway(model: VpcModel, stacks: Stacks, region: str) -> None:
    vpc = model.vpc_in(region).id
    gateway = next(igw for igw, attached in model.internet_gateways.items() if attached == vpc)
    for subnet in model.subnets.values():
        if subnet.vpc == vpc and subnet.tier == "data" and subnet.route_table:
            assert subnet.route_table.stack == gateway.stack
            resources(stacks, gateway)[f"MutationToInternet{subnet.route_table.logical_id}"] = {
                "Type": "AWS::EC2::Route",
                "Properties": {
                    "RouteTableId": {"Ref": subnet.route_table.logical_id},
                    "DestinationCidrBlock": "0.0.0.0/0",
                    "GatewayId": {"Ref": gateway.logical_id},
                },
            }


def drop_cluster_group_from_a_launch_template(model: VpcModel, stacks: Stacks, region: str) -> None:
    node_group = placed(model, region, Kind.NODE_GROUP)[0].resource
    properties = resources(stacks, node_group)[node_group.logical_id]["Properties"]
    launch_template = model.resolve(node_group.stack, properties["LaunchTemplate"]["Id"])
    cluster_group = cluster_security_group(model.resolve(node_group.stack, properties["ClusterName"]))
    data = resources(stacks, launch_template)[launch_template.logical_id]["Properties"]["LaunchTemplateData"]
    data["SecurityGroupIds"] = [
        g for g in data["SecurityGroupIds"] if model.resolve(launch_template.stack, g) != cluster_group
    ]


def select_only_tagged_groups_for_karpenter(model: VpcModel, stacks: Stacks, region: str) -> None:
    """Undo the fix: the EC2NodeClass selects groups by the discovery tag only, as it did."""
    manifest = placed(model, region, Kind.KARPENTER_NODES)[0].resource
    properties = resources(stacks, manifest)[manifest.logical_id]["Properties"]
    text, tokens = with_placeholders(properties["Manifest"])
    objects = json.loads(text)
    for node_class in (o for o in objects if o["kind"] == "EC2NodeClass"):
        terms = node_class["spec"]["securityGroupSelectorTerms"]
        node_class["spec"]["securityGroupSelectorTerms"] = [term for term in terms if "id" not in term]
    properties["Manifest"] = rejoined(json.dumps(objects, separators=(",", ":")), tokens)


def drop_the_cluster_group_from_fargate_pods(model: VpcModel, stacks: Stacks, region: str) -> None:
    """The SecurityGroupPolicies give Fargate pods `workload` alone, without the cluster security group."""
    stack = resources(stacks, placed(model, region, Kind.FARGATE_PODS)[0].resource)
    for resource in stack.values():
        manifest = resource["Properties"].get("Manifest")
        if resource["Type"] != "Custom::AWSCDK-EKS-KubernetesResource" or "SecurityGroupPolicy" not in json.dumps(
            manifest
        ):
            continue
        text, tokens = with_placeholders(manifest)
        objects = json.loads(text)
        for policy in (o for o in objects if o["kind"] == "SecurityGroupPolicy"):
            policy["spec"]["securityGroups"]["groupIds"] = policy["spec"]["securityGroups"]["groupIds"][1:]
        resource["Properties"]["Manifest"] = rejoined(json.dumps(objects, separators=(",", ":")), tokens)


def deny_postgres_into_the_data_tier_first(model: VpcModel, stacks: Stacks, region: str) -> None:
    """Denies numbered below the data ACL's allows: the rule order decides."""
    vpc = model.vpc_in(region).id
    acls = {s.acl for s in model.subnets.values() if s.vpc == vpc and s.tier == "data" and s.acl}
    app_tier = [s.cidr for s in model.subnets.values() if s.vpc == vpc and s.tier == "app"]
    for acl in acls:
        first = min(entry.number for entry in model.acls[acl].entries if not entry.egress)
        for offset, cidr in enumerate(app_tier, start=1):
            resources(stacks, acl)[f"MutationDenyPostgres{offset}"] = {
                "Type": "AWS::EC2::NetworkAclEntry",
                "Properties": {
                    "NetworkAclId": {"Ref": acl.logical_id},
                    "RuleNumber": first - offset,
                    "Protocol": 6,
                    "PortRange": {"From": 5432, "To": 5432},
                    "CidrBlock": cidrs_text([cidr]),
                    "Egress": False,
                    "RuleAction": "deny",
                },
            }


def remove_the_peer_regions_transit_routes(model: VpcModel, stacks: Stacks, region: str) -> None:
    for stack in stacks.values():
        if stack.region != region:
            transit = stack.template["Resources"]
            for logical_id in [k for k, r in transit.items() if r["Type"] == "AWS::EC2::TransitGatewayRoute"]:
                del transit[logical_id]


def move_an_interface_endpoint_into_the_data_tier(model: VpcModel, stacks: Stacks, region: str) -> None:
    endpoint = placed(model, region, Kind.INTERFACE_ENDPOINT)[0].resource
    vpc = model.vpc_in(region).id
    data = [s.id for s in model.subnets.values() if s.vpc == vpc and s.tier == "data"]
    assert all(subnet.stack == endpoint.stack for subnet in data)
    properties = resources(stacks, endpoint)[endpoint.logical_id]["Properties"]
    properties["SubnetIds"] = [{"Ref": subnet.logical_id} for subnet in data]


def guard_bedrock_runtime_with_a_data_group(model: VpcModel, stacks: Stacks, region: str) -> None:
    """The bedrock-runtime endpoint behind the PostgreSQL group (5432 from workloads only) instead of its own."""
    (endpoint,) = [p.resource for p in placed(model, region, Kind.INTERFACE_ENDPOINT)
                   if p.name.endswith(BEDROCK_RUNTIME.named or "")]  # fmt: skip
    (postgres,) = placed(model, region, Kind.RDS_PROXY)[0].groups
    assert postgres.stack == endpoint.stack
    properties = resources(stacks, endpoint)[endpoint.logical_id]["Properties"]
    properties["SecurityGroupIds"] = [{"Fn::GetAtt": [postgres.logical_id, "GroupId"]}]


def drop_the_sagemaker_models_egress(model: VpcModel, stacks: Stacks, region: str) -> None:
    (group,) = placed(model, region, Kind.INFERENCE_MODEL)[0].groups
    resources(stacks, group)[group.logical_id]["Properties"]["SecurityGroupEgress"] = [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]  # fmt: skip  (what CDK writes for a group with no egress)


def open_the_load_balancer_to_the_internet(model: VpcModel, stacks: Stacks, region: str) -> None:
    for group in placed(model, region, Kind.LOAD_BALANCER)[0].groups:
        resources(stacks, group)["MutationHttpsFromAnywhere"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": [group.logical_id, "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "CidrIp": "0.0.0.0/0",
            },
        }


def remove_the_load_balancers_https_ingress(model: VpcModel, stacks: Stacks, region: str) -> None:
    for group in placed(model, region, Kind.LOAD_BALANCER)[0].groups:
        for rule in reversed(model.groups[group].ingress):  # inline rules by index: the last first
            if rule.ports[0] <= 443 <= rule.ports[1]:
                remove_rule(stacks, group, rule, "Ingress")


def remove_the_file_system_mount_targets(model: VpcModel, stacks: Stacks, region: str) -> None:
    for file_system in placed(model, region, Kind.FILE_SYSTEM):
        stack = resources(stacks, file_system.resource)
        for logical_id in [k for k, r in stack.items() if r["Type"] == "AWS::EFS::MountTarget"]:
            del stack[logical_id]


@dataclass(frozen=True)
class Mutation:
    breaks: str
    apply: Callable[[VpcModel, Stacks, str], None]
    contract: str
    paths: frozenset[str]
    """The paths the contract must report: exactly these (those the stage has)."""
    names: str
    """What every reported failure must name: the missing piece, or the party it concerns."""
    applies: Callable[[StageConfig], bool] = always
    """Whether the stage builds what the mutation breaks."""


RETURN_INTO_THE_APP_TIER = frozenset({
    "workloads -> RDS Proxy", "rotation -> database", "workloads -> cache", "workloads -> EFS", "workloads -> Kafka",
    "workloads -> search", "workloads -> graph", "workloads -> time series", "workloads -> DAX", "app tier -> internet",
    "app tier -> S3", "app tier -> DynamoDB", "Firehose -> search", "Flink application -> S3",
    "Flink application -> internet", "peer region's app tier -> workloads",
    "SageMaker model -> S3",
})  # fmt: skip
"""Every required path whose replies enter the app tier from another tier."""
CONTROL_PLANE_PATHS = frozenset(
    {"nodes -> control plane", "control plane -> kubelet", "control plane -> webhooks on nodes"}
)
CLUSTER_GROUP_PATHS = CONTROL_PLANE_PATHS | {"Prometheus collector -> exporters"}
"""What the cluster security group on the nodes carries: the control plane's paths and the collector's, which
sits in that group too."""

MUTATIONS = (
    Mutation("the workload -> postgres ingress rule", remove_workload_ingress(Kind.RDS_PROXY), "required",
             frozenset({"workloads -> RDS Proxy"}), "no ingress rule of network/SecurityGroups/Postgres"),
    Mutation("the workload -> graph ingress rule", remove_workload_ingress(Kind.GRAPH), "required",
             frozenset({"workloads -> graph"}), "no ingress rule of network/SecurityGroups/Graph"),
    Mutation("the workload -> time series ingress rule", remove_workload_ingress(Kind.TIME_SERIES), "required",
             frozenset({"workloads -> time series"}), "no ingress rule of network/SecurityGroups/TimeSeries"),
    Mutation("the data ACL's DAX entry", drop_the_data_acl_entry_for(9111), "required",
             frozenset({"workloads -> DAX"}), "NetworkAcls/DataAcl"),
    Mutation("the app tier's ephemeral return rule", drop_app_tier_ephemeral_return, "required",
             RETURN_INTO_THE_APP_TIER, "NetworkAcls/AppAcl"),
    Mutation("the app subnets' NAT routes", remove_app_tier_nat_routes, "required",
             frozenset({"app tier -> internet", "Flink application -> internet"}), "has no route to the internet"),
    Mutation("the Kafka group admitting itself (the pollers)", drop_the_pollers_self_rule, "required",
             frozenset({"Kafka event pollers -> Kafka"}), "Kafka event poller"),
    Mutation("0.0.0.0/0 on the cache group", open_cache_to_the_internet, "forbidden",
             frozenset({"internet -> data tier"}), "from 0.0.0.0/0"),
    Mutation("a data-tier route to the internet gateway", route_data_tier_to_the_internet_gateway, "forbidden",
             frozenset({"data tier -> internet"}), "internet gateway"),
    Mutation("the cluster group in a node group's launch template", drop_cluster_group_from_a_launch_template,
             "required", CLUSTER_GROUP_PATHS, "cluster security group"),
    Mutation("the cluster group in the EC2NodeClass", select_only_tagged_groups_for_karpenter, "required",
             CLUSTER_GROUP_PATHS, "securityGroupSelectorTerms"),
    Mutation("the cluster group in the Fargate pods' SecurityGroupPolicy", drop_the_cluster_group_from_fargate_pods,
             "required", frozenset({"Fargate pods -> control plane", "control plane -> Fargate kubelet"}),
             "Fargate profile"),
    Mutation("a deny before the data tier's postgres allow", deny_postgres_into_the_data_tier_first, "required",
             frozenset({"workloads -> RDS Proxy", "rotation -> database"}), "denies it"),
    Mutation("the peer region's Transit Gateway routes", remove_the_peer_regions_transit_routes, "required",
             frozenset({"peer region's app tier -> workloads"}), "has no route to"),
    Mutation("an interface endpoint's tier", move_an_interface_endpoint_into_the_data_tier, "tiers",
             frozenset({IN_ITS_TIER}), "sits in data"),
    Mutation("0.0.0.0/0 on the load balancer's group", open_the_load_balancer_to_the_internet, "forbidden",
             frozenset({"internet -> load balancer, past CloudFront"}), "from 0.0.0.0/0"),
    Mutation("the load balancer's HTTPS ingress", remove_the_load_balancers_https_ingress, "required",
             frozenset({"internet -> load balancer", "CloudFront -> load balancer"}),
             "no ingress rule of network/SecurityGroups/Alb"),
    Mutation("the EFS mount targets", remove_the_file_system_mount_targets, "kinds",
             frozenset({FOUND_AS_CONFIGURED}), "EFS mount targets"),
    Mutation("the bedrock-runtime endpoint's group", guard_bedrock_runtime_with_a_data_group, "required",
             frozenset({"workloads -> bedrock-runtime endpoint", "app tier -> interface endpoints",
                        "Flink application -> interface endpoints"}),
             "BedrockRuntimeEndpoint", with_bedrock),
    Mutation("the SageMaker model's HTTPS egress", drop_the_sagemaker_models_egress, "required",
             frozenset({"SageMaker model -> S3", "SageMaker model -> ECR endpoints", "app tier -> interface endpoints",
                        "app tier -> internet", "app tier -> S3", "app tier -> DynamoDB"}),
             "SageMaker model", with_sagemaker),
)  # fmt: skip


CONTRACTS: dict[str, Callable[[VpcModel, StageConfig], list[Failure]]] = {
    "required": required_failures,
    "forbidden": forbidden_failures,
    "tiers": lambda model, _: tier_failures(model),
    "kinds": kind_failures,
}


def evaluated_paths(model: VpcModel, config: StageConfig) -> set[str]:
    """The paths this stage has at least one pair of parties for, and the two placement contracts."""
    paths: tuple[RequiredPath | ForbiddenPath, ...] = (*REQUIRED, *FORBIDDEN)
    found = {
        path.name
        for path in paths
        if path.applies(config)
        for region in model.regions
        if any(pairs(model, region, path))
    }
    return found | {IN_ITS_TIER, FOUND_AS_CONFIGURED}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.breaks)
def test_each_contract_reports_exactly_what_a_mutation_breaks(
    mutation: Mutation,
    model: VpcModel,
    model_stacks: Callable[[str], list[StackTemplate]],
    platform: SynthesizedPlatform,
    stage: str,
) -> None:
    config = platform.configs[stage]
    expected = mutation.paths & evaluated_paths(model, config)
    if not expected or not mutation.applies(config):
        pytest.skip(f"{stage} has none of the paths that depend on {mutation.breaks}")
    contract = CONTRACTS[mutation.contract]
    assert not contract(model, config), "the unbroken templates must pass first"
    stacks = copied(model_stacks(stage))
    mutation.apply(model, {stack.name: stack for stack in stacks}, config.region)
    failures = contract(VpcModel(stage, stacks), config)
    assert {f.path for f in failures} == expected, report(failures)
    unnamed = [f for f in failures if mutation.names not in str(f)]
    assert not unnamed, f"these do not name {mutation.names!r}:\n{report(unnamed)}"
