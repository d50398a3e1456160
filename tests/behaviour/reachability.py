"""Reachability: a model of one stage's networks, built from its synthesized templates (every region), that
says whether one party reaches another on some traffic and, when it does not, which piece is missing.

The model holds what decides reachability in a VPC:
- VPCs and subnets, each subnet's tier read from CDK's `aws-cdk:subnet-name` tag;
- route tables: the implicit local route, internet and NAT gateways, Transit Gateways (followed through
  their route tables, VPC attachments and the accepted peering between regions), gateway endpoints;
- network ACLs: rules in number order, both directions, the final deny; a subnet without an association
  has the VPC's default ACL, which allows everything;
- security groups: inline and standalone rules with groups, CIDRs and prefix lists as peers, EC2's default
  egress rule where a template writes none, and the cluster security group EKS creates for each cluster;
- placements: the subnets and groups each workload's network interfaces get.

Identity: a resource is its stack and logical ID (`ResourceId`). `Ref`, `Fn::GetAtt` and the weak
cross-stack `Fn::GetStackOutput` are followed to that identity through the producer's Outputs, never
matched as strings. What the model cannot resolve raises `ModelError` rather than being skipped.

Addresses are IPv4. Prefix lists are symbolic: each gets a stand-in /8 inside the reserved 240.0.0.0/4, so a
0.0.0.0/0 rule or route covers it, a private CIDR never does, and a prefix-list rule or gateway endpoint
covers exactly that list. The internet is every other public address.

Not modelled: IPv6, ICMP, the network ACL of a Transit Gateway attachment's own subnet (here the app tier's,
like the workloads'), VPC peering connections, AWS-managed traffic (replication, the Route 53 resolver).
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

Interval = tuple[int, int]
"""An inclusive range of ports, or of IPv4 addresses as integers."""
ALL_PORTS: Interval = (0, 65535)
EPHEMERAL_PORTS: Interval = (1024, 65535)
"""Where replies go: the client ports AWS's network ACL guidance covers (NAT gateways, load balancers and
Lambda use all of 1024-65535)."""
ALL_ADDRESSES: Interval = (0, 2**32 - 1)
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
PREFIX_LIST_RANGE = ipaddress.IPv4Network("240.0.0.0/4")
MAX_TRANSIT_HOPS = 4

CLUSTER_SECURITY_GROUP = "#ClusterSecurityGroup"
"""Suffix of the pseudo group that stands for the security group EKS creates for a cluster."""
PEERING_ACCEPTANCE = "Custom::TransitGatewayPeeringAcceptance"
"""This app's accepter of a Transit Gateway peering (constructs/network/transit_peering.py): a peering
carries traffic once one of these accepts it, and its `AttachmentId` attribute is that attachment."""
KUBERNETES_RESOURCE = "Custom::AWSCDK-EKS-KubernetesResource"
AWS_SDK_CALL = "Custom::AWS"
"""An AwsCustomResource: a prefix list one of them looks up by name is named by that name."""


# --- ranges ---------------------------------------------------------------------------------------------


def cidr_interval(cidr: str) -> Interval:
    network = ipaddress.IPv4Network(cidr, strict=False)
    return int(network.network_address), int(network.broadcast_address)


def _overlap(a: Interval, b: Interval) -> Interval | None:
    low, high = max(a[0], b[0]), min(a[1], b[1])
    return (low, high) if low <= high else None


def _outside(interval: Interval, cut: Interval) -> list[Interval]:
    """The parts of `interval` that `cut` leaves."""
    parts = []
    if interval[0] < cut[0]:
        parts.append((interval[0], min(interval[1], cut[0] - 1)))
    if interval[1] > cut[1]:
        parts.append((max(interval[0], cut[1] + 1), interval[1]))
    return parts


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def intersection(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    others = list(b)
    return merge(common for x in a for y in others if (common := _overlap(x, y)))


def difference(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    remaining = merge(a)
    for cut in b:
        remaining = [part for piece in remaining for part in _outside(piece, cut)]
    return remaining


INTERNET: tuple[Interval, ...] = tuple(
    difference([ALL_ADDRESSES], [cidr_interval(c) for c in (*PRIVATE_RANGES, str(PREFIX_LIST_RANGE))])
)
"""The internet's addresses: everything but the private ranges and the prefix lists' stand-ins (AWS services
behind a gateway endpoint are not the internet)."""


def cidrs_text(intervals: Iterable[Interval]) -> str:
    return _cidrs_text(tuple(intervals))


@cache
def _cidrs_text(intervals: tuple[Interval, ...]) -> str:
    """Written once per set of ranges: a subnet's CIDR is spelled in every leg and problem that names it."""
    return ", ".join(
        str(network)
        for low, high in merge(intervals)
        for network in ipaddress.summarize_address_range(ipaddress.IPv4Address(low), ipaddress.IPv4Address(high))
    )


def ports_text(intervals: Iterable[Interval]) -> str:
    def listed(parts: list[Interval]) -> str:
        return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in parts)

    merged = merge(intervals)
    if merged == [ALL_PORTS]:
        return "any port"
    missing = difference([ALL_PORTS], merged)
    return f"any port but {listed(missing)}" if len(missing) < len(merged) else listed(merged)


@dataclass(frozen=True)
class Box:
    """Ports x addresses: the unit in which rules are compared."""

    ports: Interval
    addresses: Interval

    def overlap(self, other: Box) -> Box | None:
        ports, addresses = _overlap(self.ports, other.ports), _overlap(self.addresses, other.addresses)
        return Box(ports, addresses) if ports and addresses else None


def boxes(ports: Iterable[Interval], addresses: Iterable[Interval]) -> list[Box]:
    listed = list(addresses)
    return [Box(p, a) for p in ports for a in listed]


def subtract(region: Iterable[Box], cut: Box) -> list[Box]:
    left: list[Box] = []
    for box in region:
        common = box.overlap(cut)
        if common is None:
            left.append(box)
            continue
        left.extend(Box(ports, box.addresses) for ports in _outside(box.ports, cut.ports))
        left.extend(Box(common.ports, addresses) for addresses in _outside(box.addresses, cut.addresses))
    return left


@dataclass(frozen=True)
class Traffic:
    """A protocol (`tcp`, `udp`) on some destination ports."""

    protocol: str
    ports: tuple[Interval, ...]

    @classmethod
    def tcp(cls, first: int, last: int | None = None) -> Traffic:
        return cls("tcp", ((first, first if last is None else last),))

    @classmethod
    def udp(cls, first: int, last: int | None = None) -> Traffic:
        return cls("udp", ((first, first if last is None else last),))

    @classmethod
    def every_port(cls, protocol: str, *, but: Iterable[int] = ()) -> Traffic:
        return cls(protocol, tuple(difference([ALL_PORTS], [(port, port) for port in but])))

    def __str__(self) -> str:
        text = ports_text(self.ports)
        return f"{self.protocol} on {text}" if text.startswith("any port") else f"{self.protocol}/{text}"


class PrefixLists:
    """Stand-in address ranges of symbolic prefix lists, one /8 of 240.0.0.0/4 each (see the module docstring)."""

    def __init__(self) -> None:
        self._ranges: dict[str, Interval] = {}

    def range(self, name: str) -> Interval:
        if name not in self._ranges:
            stand_ins = list(PREFIX_LIST_RANGE.subnets(new_prefix=8))
            if len(self._ranges) == len(stand_ins):
                raise ModelError(f"more than {len(stand_ins)} prefix lists: {sorted(self._ranges)} and {name}")
            self._ranges[name] = cidr_interval(str(stand_ins[len(self._ranges)]))
        return self._ranges[name]

    def describe(self, intervals: Iterable[Interval]) -> str:
        merged = merge(intervals)
        if merged == merge(INTERNET):
            return "the internet"
        names = [name for name, stand_in in self._ranges.items() if merged == [stand_in]]
        return names[0] if names else cidrs_text(merged)


# --- the parts of a network -----------------------------------------------------------------------------


class ModelError(Exception):
    """The templates hold something the model cannot place: an unresolvable reference or an unknown shape."""


class _Producer(Protocol):
    """A synthesized stack as either model holds it (this module's StackTemplate or templates.py's)."""

    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def template(self) -> Mapping[str, Any]: ...


def follow_outputs(stacks: Mapping[str, _Producer], stack: str, value: Any) -> tuple[str, Any]:
    """Through weak cross-stack references (Fn::GetStackOutput) to the producing stack and its output's value;
    shared by the network and permission models."""
    while isinstance(value, dict) and "Fn::GetStackOutput" in value:
        reference = value["Fn::GetStackOutput"]
        producer = stacks.get(reference["StackName"])
        if producer is None or reference.get("Region", producer.region) != producer.region:
            raise ModelError(f"{stack}: no stack {reference['StackName']} in {reference.get('Region')}")
        output = producer.template.get("Outputs", {}).get(reference["OutputName"])
        if output is None:
            raise ModelError(f"{producer.name} has no output {reference['OutputName']} ({stack} reads it)")
        stack, value = producer.name, output["Value"]
    return stack, value


class Kind(enum.Enum):
    """What a placement is."""

    NODE_GROUP = "node group"
    KARPENTER_NODES = "Karpenter nodes"
    FARGATE_PODS = "Fargate pods"
    CONTROL_PLANE = "control plane"
    KUBECTL_HANDLER = "kubectl handler"
    EVENT_FUNCTION = "function"
    PROVIDER_FUNCTION = "custom-resource function"
    ROTATION = "rotation function"
    ECS_SERVICE = "ECS service"
    ECS_SCHEDULED_TASK = "scheduled ECS task"
    INTERFACE_ENDPOINT = "interface endpoint"
    LOAD_BALANCER = "load balancer"
    NAT_GATEWAY = "NAT gateway"
    RDS_PROXY = "RDS Proxy"
    DATABASE = "database"
    CACHE = "cache"
    FILE_SYSTEM = "EFS mount targets"
    KAFKA = "Kafka"
    SEARCH = "search domain"
    GRAPH = "Neptune cluster"
    TIME_SERIES = "InfluxDB instance"
    ACCELERATOR = "DAX cluster"
    SCRAPER = "Prometheus collector"
    STREAM_APPLICATION = "Flink application"
    FIREHOSE = "Firehose VPC delivery"
    KAFKA_POLLER = "Kafka event poller"
    INFERENCE_MODEL = "SageMaker model"


class Layer(enum.Enum):
    ROUTES = "routes"
    NETWORK_ACLS = "network ACLs"
    SECURITY_GROUPS = "security groups"


class Hop(enum.Enum):
    LOCAL = "local"
    INTERNET_GATEWAY = "internet gateway"
    NAT_GATEWAY = "NAT gateway"
    TRANSIT_GATEWAY = "Transit Gateway"
    GATEWAY_ENDPOINT = "gateway endpoint"
    OTHER = "a target the model does not follow"


@dataclass(frozen=True, order=True)
class ResourceId:
    stack: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id}"


def cluster_security_group(cluster: ResourceId) -> ResourceId:
    """The pseudo group standing for the security group EKS creates for `cluster`."""
    return ResourceId(cluster.stack, cluster.logical_id + CLUSTER_SECURITY_GROUP)


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack: the input of the model."""

    name: str
    region: str
    template: dict[str, Any]


@dataclass(frozen=True)
class Vpc:
    id: ResourceId
    region: str
    cidr: Interval
    label: str


@dataclass(frozen=True)
class Subnet:
    id: ResourceId
    vpc: ResourceId
    cidr: Interval
    tier: str
    zone: str
    label: str
    tags: tuple[tuple[str, str], ...]
    route_table: ResourceId | None
    acl: ResourceId | None

    def __str__(self) -> str:
        return f"{self.label} ({cidrs_text([self.cidr])})"


@dataclass(frozen=True)
class Route:
    destination: Interval
    destination_text: str
    hop: Hop
    target: ResourceId | None
    target_label: str
    resource: ResourceId | None = None
    """The route resource, or the gateway endpoint that writes it; None for the implicit local route."""

    def __str__(self) -> str:
        return f"{self.destination_text} -> {self.hop.value} {self.target_label}".rstrip()


@dataclass(frozen=True)
class RouteTable:
    id: ResourceId
    label: str
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class TransitAttachment:
    id: ResourceId
    label: str
    gateways: tuple[ResourceId, ...]
    """One gateway for a VPC attachment; the requester's and the accepter's for a peering."""
    vpc: ResourceId | None
    zones: frozenset[str]
    accepted: bool


@dataclass(frozen=True)
class TransitRoute:
    destination: Interval
    attachment: ResourceId | None
    """None: a blackhole route."""


@dataclass
class TransitRouteTable:
    id: ResourceId
    gateway: ResourceId
    label: str
    routes: list[TransitRoute] = field(default_factory=list)
    propagations: list[ResourceId] = field(default_factory=list)


@dataclass(frozen=True)
class AclEntry:
    number: int
    egress: bool
    protocol: str
    ports: Interval
    addresses: Interval
    cidr: str
    allow: bool
    resource: ResourceId

    def __str__(self) -> str:
        ports = "" if self.ports == ALL_PORTS else f" {ports_text([self.ports])}"
        action = "allow" if self.allow else "deny"
        return f"rule {self.number} ({action} {self.protocol}{ports} {'to' if self.egress else 'from'} {self.cidr})"


@dataclass(frozen=True)
class NetworkAcl:
    id: ResourceId
    label: str
    entries: tuple[AclEntry, ...]


@dataclass(frozen=True)
class GroupPeer:
    group: ResourceId


@dataclass(frozen=True)
class AddressPeer:
    addresses: Interval
    text: str


@dataclass(frozen=True)
class GroupRule:
    protocol: str
    ports: Interval
    peer: GroupPeer | AddressPeer
    origin: str
    """Where it is written, in words: the rule resource, the group's inline list, or a default of EC2 or EKS."""
    written_in: ResourceId | None = None
    """The rule resource, or the group whose inline list holds it (`index`); None for a default."""
    index: int | None = None


@dataclass
class SecurityGroup:
    id: ResourceId
    label: str
    vpc: ResourceId | None
    tags: dict[str, str]
    ingress: list[GroupRule] = field(default_factory=list)
    egress: list[GroupRule] = field(default_factory=list)


@dataclass(frozen=True)
class Placement:
    """Where one workload's network interfaces sit: its subnets and security groups."""

    kind: Kind
    name: str
    resource: ResourceId
    region: str
    subnets: tuple[ResourceId, ...]
    groups: frozenset[ResourceId]
    origin: str
    """How the model found its groups, for messages."""
    labels: tuple[tuple[str, str], ...] = ()
    """Kubernetes labels of the nodes (node groups)."""


@dataclass(frozen=True)
class Party:
    """One end of a path: a placement, a tier (any group may sit there), or addresses outside every VPC."""

    name: str
    subnets: tuple[ResourceId, ...] = ()
    groups: frozenset[ResourceId] | None = None
    """None: not bound to known groups (a tier as address space, the internet)."""
    outside: tuple[Interval, ...] = ()
    """Addresses outside every VPC: the internet, or a prefix list's stand-in."""
    origin: str = ""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Placed:
    """The placements of some kinds (every kind when empty) in a region, optionally only those in a tier."""

    kinds: frozenset[Kind] = frozenset()
    tier: str | None = None
    excluding: frozenset[Kind] = frozenset()
    named: str | None = None
    """Only the placements whose construct path ends so (one interface endpoint among them)."""


@dataclass(frozen=True)
class Internet:
    """Every public address outside the VPCs."""


@dataclass(frozen=True)
class Tier:
    """A tier's subnets as address space; `peer`: the tier of the stage's other VPCs (the peer region)."""

    tier: str
    peer: bool = False


@dataclass(frozen=True)
class Service:
    """An AWS service outside the VPC, reached at the addresses of its prefix list (S3, DynamoDB)."""

    label: str
    prefix_list: str


@dataclass(frozen=True)
class ClusterDns:
    """The nodes CoreDNS runs on: the node groups whose labels match the `coredns` add-on's nodeSelector."""


Selector = Placed | Internet | Tier | Service | ClusterDns


@dataclass(frozen=True)
class Problem:
    """A missing piece (required paths) or a layer that lets traffic through (forbidden paths)."""

    layer: Layer
    text: str

    def __str__(self) -> str:
        return f"{self.layer.value}: {self.text}"


@dataclass(frozen=True)
class _End:
    """One subnet of a party (or its outside addresses): paths are evaluated between ends."""

    subnet: Subnet | None
    addresses: tuple[Interval, ...]


@dataclass(frozen=True)
class _AclCheck:
    """One network ACL crossing: the subnet, the direction, the ports and the peer addresses it sees."""

    subnet: Subnet
    egress: bool
    ports: tuple[Interval, ...]
    addresses: tuple[Interval, ...]
    what: str
    reply: bool


@dataclass(frozen=True)
class _Leg:
    """Where a route table sends part of a destination, and whether it arrives."""

    addresses: tuple[Interval, ...]
    route: Route | None
    delivered: bool
    reason: str
    via: Subnet | None = None


# --- reading the templates ------------------------------------------------------------------------------


_PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
_PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}


def _protocol(value: Any) -> str:
    text = str(value).lower()
    return _PROTOCOLS.get(text, text)


class _Templates:
    """The stage's templates and the references between them, resolved to identities."""

    def __init__(self, stacks: Sequence[StackTemplate]) -> None:
        self.stacks = {stack.name: stack for stack in stacks}

    def resources(self, *types: str) -> Iterator[tuple[ResourceId, dict[str, Any]]]:
        for stack in self.stacks.values():
            for logical_id, resource in stack.template.get("Resources", {}).items():
                if resource.get("Type") in types:
                    yield ResourceId(stack.name, logical_id), resource.get("Properties", {})

    def resource(self, rid: ResourceId) -> dict[str, Any]:
        found = self.stacks[rid.stack].template.get("Resources", {}).get(rid.logical_id)
        if found is None:
            raise ModelError(f"{rid} is referenced but not in the templates")
        resource: dict[str, Any] = found
        return resource

    def properties(self, rid: ResourceId) -> dict[str, Any]:
        properties: dict[str, Any] = self.resource(rid).get("Properties", {})
        return properties

    def region(self, rid: ResourceId) -> str:
        return self.stacks[rid.stack].region

    def label(self, rid: ResourceId) -> str:
        """The construct path without the stage and CDK's `Resource`/`Default` leaves, else stack/logical ID."""
        if rid.logical_id.endswith(CLUSTER_SECURITY_GROUP):
            cluster = ResourceId(rid.stack, rid.logical_id.removesuffix(CLUSTER_SECURITY_GROUP))
            return f"the cluster security group of {self.label(cluster)}"
        path = self.resource(rid).get("Metadata", {}).get("aws:cdk:path")
        if not isinstance(path, str):
            return str(rid)
        parts = path.split("/")[1:]
        while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
            parts.pop()
        return "/".join(parts)

    def _follow(self, stack: str, value: Any) -> tuple[str, Any]:
        return follow_outputs(self.stacks, stack, value)

    def target(self, stack: str, value: Any) -> tuple[ResourceId, str | None] | None:
        """The resource (and attribute) a Ref, Fn::GetAtt or Fn::GetStackOutput points at."""
        stack, value = self._follow(stack, value)
        if isinstance(value, dict) and isinstance(value.get("Ref"), str) and not value["Ref"].startswith("AWS::"):
            return ResourceId(stack, value["Ref"]), None
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            name, attribute = (
                value["Fn::GetAtt"] if isinstance(value["Fn::GetAtt"], list) else value["Fn::GetAtt"].split(".", 1)
            )
            return ResourceId(stack, name), attribute
        return None

    def identity(self, stack: str, value: Any) -> ResourceId:
        """The resource a reference stands for: its target, or what the target's attribute names."""
        target = self.target(stack, value)
        if target is None:
            raise ModelError(f"{stack}: {json.dumps(value)} is not a reference to a resource")
        rid, attribute = target
        kind = self.resource(rid).get("Type")
        if kind == "AWS::EKS::Cluster" and attribute == "ClusterSecurityGroupId":
            return cluster_security_group(rid)
        if kind == PEERING_ACCEPTANCE and attribute == "AttachmentId":
            return self.identity(rid.stack, self.properties(rid)["AttachmentId"])
        return rid

    def literal(self, stack: str, value: Any) -> Any:
        """A plain value, with pseudo parameters, joins and the attributes the model knows resolved."""
        stack, value = self._follow(stack, value)
        if not isinstance(value, dict):
            return value
        if value.get("Ref") == "AWS::Region":
            return self.stacks[stack].region
        if value.get("Ref") in _PSEUDO_PARAMETERS:
            return _PSEUDO_PARAMETERS[value["Ref"]]
        if "Fn::Join" in value:
            delimiter, parts = value["Fn::Join"]
            return delimiter.join(str(self.literal(stack, part)) for part in parts)
        target = self.target(stack, value)
        if target and target[1] == "Endpoint.Port":  # the database's port (CDK writes it into group rules)
            properties = self.properties(target[0])
            if "Port" in properties:
                return int(self.literal(target[0].stack, properties["Port"]))
        raise ModelError(f"{stack}: cannot resolve {json.dumps(value)} to a value")

    def identities(self, stack: str, value: Any) -> list[ResourceId]:
        """A list of references, also in the comma-joined string form serverless applications take."""
        if isinstance(value, list):
            return [self.identity(stack, item) for item in value]
        if isinstance(value, dict) and "Fn::Join" in value:
            text, tokens = with_placeholders(value)
            items = [item.strip() for item in text.split(",") if item.strip()]
            if any(item not in tokens for item in items):
                raise ModelError(f"{stack}: {json.dumps(value)} is not a list of references")
            return [self.identity(stack, tokens[item]) for item in items]
        return [self.identity(stack, value)]

    def types(self, prefix: str) -> list[str]:
        """The resource types in the templates that start with `prefix`."""
        resources = (r for stack in self.stacks.values() for r in stack.template.get("Resources", {}).values())
        return sorted({r["Type"] for r in resources if r["Type"].startswith(prefix)})

    def tags(self, stack: str, value: Any) -> dict[str, str]:
        """Tags in either CloudFormation form (a list of Key/Value, or a map)."""
        if isinstance(value, dict):
            return {key: str(self.literal(stack, item)) for key, item in value.items()}
        return {str(tag["Key"]): str(self.literal(stack, tag["Value"])) for tag in value or []}


def with_placeholders(join: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The text of an Fn::Join with each token replaced by a placeholder, and the token of each placeholder."""
    delimiter, parts = join["Fn::Join"]
    tokens: dict[str, Any] = {}
    texts = []
    for part in parts:
        if not isinstance(part, str):
            placeholder = f"@@token{len(tokens)}@@"
            tokens[placeholder] = part
            part = placeholder
        texts.append(part)
    return delimiter.join(texts), tokens


def rejoined(text: str, tokens: dict[str, Any]) -> dict[str, Any]:
    """The Fn::Join `with_placeholders` took apart, from its (possibly edited) text."""
    pieces = re.split(f"({'|'.join(map(re.escape, tokens))})", text) if tokens else [text]
    return {"Fn::Join": ["", [tokens.get(piece, piece) for piece in pieces if piece]]}


def manifest_objects(manifest: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The objects of a KubernetesResource's manifest (tokens as placeholder strings) and the placeholders."""
    text, tokens = (manifest, {}) if isinstance(manifest, str) else with_placeholders(manifest)
    objects: list[dict[str, Any]] = json.loads(text)
    return objects, tokens


_PLACED_BY_PROPERTIES: dict[str, tuple[Kind, Callable[[dict[str, Any]], list[tuple[Any, Any]]]]] = {
    "AWS::ECS::Service": (
        Kind.ECS_SERVICE,
        lambda p: [
            (c["Subnets"], c.get("SecurityGroups"))
            for c in [p.get("NetworkConfiguration", {}).get("AwsvpcConfiguration")]
            if c
        ],
    ),
    "AWS::Scheduler::Schedule": (
        Kind.ECS_SCHEDULED_TASK,
        lambda p: [
            (c["Subnets"], c.get("SecurityGroups"))
            for c in [p["Target"].get("EcsParameters", {}).get("NetworkConfiguration", {}).get("AwsvpcConfiguration")]
            if c
        ],
    ),
    "AWS::EC2::VPCEndpoint": (
        Kind.INTERFACE_ENDPOINT,
        lambda p: [(p["SubnetIds"], p.get("SecurityGroupIds"))] if p.get("VpcEndpointType") == "Interface" else [],
    ),
    "AWS::APS::Scraper": (
        Kind.SCRAPER,
        lambda p: [
            (c["SubnetIds"], c.get("SecurityGroupIds")) for c in [p.get("Source", {}).get("EksConfiguration")] if c
        ],
    ),
    "AWS::SageMaker::Model": (
        Kind.INFERENCE_MODEL,
        lambda p: [(c["Subnets"], c.get("SecurityGroupIds")) for c in [p.get("VpcConfig")] if c],
    ),
    "AWS::RDS::DBProxy": (Kind.RDS_PROXY, lambda p: [(p["VpcSubnetIds"], p.get("VpcSecurityGroupIds"))]),
    "AWS::KinesisAnalyticsV2::Application": (
        Kind.STREAM_APPLICATION,
        lambda p: [
            (c["SubnetIds"], c.get("SecurityGroupIds"))
            for c in p.get("ApplicationConfiguration", {}).get("VpcConfigurations", [])
        ],
    ),
    "AWS::KinesisFirehose::DeliveryStream": (
        Kind.FIREHOSE,
        lambda p: [
            (c["SubnetIds"], c.get("SecurityGroupIds"))
            for c in [p.get("AmazonopensearchserviceDestinationConfiguration", {}).get("VpcConfiguration")]
            if c
        ],
    ),
    "AWS::MSK::Cluster": (
        Kind.KAFKA,
        lambda p: [(p["BrokerNodeGroupInfo"]["ClientSubnets"], p["BrokerNodeGroupInfo"].get("SecurityGroups"))],
    ),
    "AWS::MSK::ServerlessCluster": (
        Kind.KAFKA,
        lambda p: [(c["SubnetIds"], c.get("SecurityGroups")) for c in p["VpcConfigs"]],
    ),
    "AWS::Timestream::InfluxDBInstance": (
        Kind.TIME_SERIES,
        lambda p: [(p["VpcSubnetIds"], p.get("VpcSecurityGroupIds"))],
    ),
    "AWS::OpenSearchService::Domain": (
        Kind.SEARCH,
        lambda p: [(c["SubnetIds"], c.get("SecurityGroupIds")) for c in [p.get("VPCOptions")] if c],
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        Kind.LOAD_BALANCER,
        lambda p: [(p.get("Subnets") or [m["SubnetId"] for m in p.get("SubnetMappings", [])], p.get("SecurityGroups"))],
    ),
}
"""Resource type -> (kind, (subnets, groups) of each placement it makes), for resources placed by properties."""


class _Reader:
    """Reads the parts of the network and the placements out of the templates."""

    def __init__(self, templates: _Templates, prefix_lists: PrefixLists) -> None:
        self.t = templates
        self.prefix_lists = prefix_lists

    def vpcs(self) -> dict[ResourceId, Vpc]:
        return {
            rid: Vpc(
                rid, self.t.region(rid), cidr_interval(self.t.literal(rid.stack, p["CidrBlock"])), self.t.label(rid)
            )
            for rid, p in self.t.resources("AWS::EC2::VPC")
        }

    def subnets(self) -> dict[ResourceId, Subnet]:
        def associations(kind: str, key: str) -> dict[ResourceId, ResourceId]:
            return {
                self.t.identity(rid.stack, p["SubnetId"]): self.t.identity(rid.stack, p[key])
                for rid, p in self.t.resources(kind)
            }

        route_tables = associations("AWS::EC2::SubnetRouteTableAssociation", "RouteTableId")
        acls = associations("AWS::EC2::SubnetNetworkAclAssociation", "NetworkAclId")
        subnets = {}
        for rid, p in self.t.resources("AWS::EC2::Subnet"):
            tags = self.t.tags(rid.stack, p.get("Tags"))
            if "aws-cdk:subnet-name" not in tags:
                raise ModelError(f"{rid} has no aws-cdk:subnet-name tag, which the model reads its tier from")
            subnets[rid] = Subnet(
                id=rid,
                vpc=self.t.identity(rid.stack, p["VpcId"]),
                cidr=cidr_interval(self.t.literal(rid.stack, p["CidrBlock"])),
                tier=tags["aws-cdk:subnet-name"],
                zone=str(self.t.literal(rid.stack, p["AvailabilityZone"])),
                label=self.t.label(rid),
                tags=tuple(sorted(tags.items())),
                route_table=route_tables.get(rid),
                acl=acls.get(rid),
            )
        return subnets

    def internet_gateways(self) -> dict[ResourceId, ResourceId]:
        """Internet gateway -> the VPC it is attached to."""
        return {
            self.t.identity(rid.stack, p["InternetGatewayId"]): self.t.identity(rid.stack, p["VpcId"])
            for rid, p in self.t.resources("AWS::EC2::VPCGatewayAttachment")
            if "InternetGatewayId" in p
        }

    def nat_gateways(self) -> dict[ResourceId, ResourceId]:
        """NAT gateway -> its subnet."""
        return {rid: self.t.identity(rid.stack, p["SubnetId"]) for rid, p in self.t.resources("AWS::EC2::NatGateway")}

    def route_tables(self) -> dict[ResourceId, RouteTable]:
        routes: dict[ResourceId, list[Route]] = defaultdict(list)
        for rid, p in self.t.resources("AWS::EC2::Route"):
            stack = rid.stack
            if "DestinationCidrBlock" in p:
                text = str(self.t.literal(stack, p["DestinationCidrBlock"]))
                destination = cidr_interval(text)
            elif "DestinationPrefixListId" in p:
                text = self._prefix_list_name(stack, p["DestinationPrefixListId"])
                destination = self.prefix_lists.range(text)
            else:
                continue  # IPv6 routes: the model is IPv4 only
            hop, target = self._route_target(stack, p)
            label = self.t.label(target) if target else ""
            route = Route(destination, text, hop, target, label, rid)
            routes[self.t.identity(stack, p["RouteTableId"])].append(route)
        for rid, p in self.t.resources("AWS::EC2::VPCEndpoint"):
            if p.get("VpcEndpointType", "Gateway") != "Gateway":
                continue
            name = "pl-" + str(self.t.literal(rid.stack, p["ServiceName"])).rsplit(".", 1)[-1]
            route = Route(self.prefix_lists.range(name), name, Hop.GATEWAY_ENDPOINT, rid, self.t.label(rid), rid)
            for table in p.get("RouteTableIds", []):
                routes[self.t.identity(rid.stack, table)].append(route)
        return {
            rid: RouteTable(rid, self.t.label(rid), tuple(routes[rid]))
            for rid, _ in self.t.resources("AWS::EC2::RouteTable")
        }

    def _route_target(self, stack: str, p: dict[str, Any]) -> tuple[Hop, ResourceId | None]:
        if "NatGatewayId" in p:
            return Hop.NAT_GATEWAY, self.t.identity(stack, p["NatGatewayId"])
        if "TransitGatewayId" in p:
            return Hop.TRANSIT_GATEWAY, self.t.identity(stack, p["TransitGatewayId"])
        if "GatewayId" in p:
            gateway = self.t.identity(stack, p["GatewayId"])
            internet = self.t.resource(gateway).get("Type") == "AWS::EC2::InternetGateway"
            return (Hop.INTERNET_GATEWAY if internet else Hop.OTHER), gateway
        return Hop.OTHER, None  # endpoints, interfaces, peering connections: not followed

    def _prefix_list_name(self, stack: str, value: Any) -> str:
        """A prefix list by name: the one an AwsCustomResource looks up by name, else the resource's label or
        the literal ID."""
        target = self.t.target(stack, value)
        if target is None:
            return str(self.t.literal(stack, value))
        looked_up = self._looked_up_prefix_list(target[0]) if target[1] == "PrefixLists.0.PrefixListId" else None
        return looked_up or self.t.label(target[0])

    def _looked_up_prefix_list(self, rid: ResourceId) -> str | None:
        """The name an AwsCustomResource (`Custom::AWS`) filters ec2:DescribeManagedPrefixLists by."""
        resource = self.t.resource(rid)
        create = resource.get("Properties", {}).get("Create")
        if resource.get("Type") != AWS_SDK_CALL or not isinstance(create, str):
            return None
        call = json.loads(create)
        if (call.get("service"), call.get("action")) != ("EC2", "describeManagedPrefixLists"):
            return None
        names = [
            value
            for condition in call.get("parameters", {}).get("Filters", [])
            if condition.get("Name") == "prefix-list-name"
            for value in condition.get("Values", [])
        ]
        if len(names) != 1:
            raise ModelError(f"{rid} looks up {names or 'no'} prefix list by name; the model needs exactly one")
        return str(names[0])

    def acls(self) -> dict[ResourceId, NetworkAcl]:
        entries: dict[ResourceId, list[AclEntry]] = defaultdict(list)
        for rid, p in self.t.resources("AWS::EC2::NetworkAclEntry"):
            if "CidrBlock" not in p:
                continue  # IPv6
            stack = rid.stack
            protocol = _protocol(self.t.literal(stack, p["Protocol"]))
            ports = (
                (int(self.t.literal(stack, p["PortRange"]["From"])), int(self.t.literal(stack, p["PortRange"]["To"])))
                if protocol in ("tcp", "udp") and "PortRange" in p
                else ALL_PORTS
            )
            cidr = str(self.t.literal(stack, p["CidrBlock"]))
            entries[self.t.identity(stack, p["NetworkAclId"])].append(
                AclEntry(
                    number=int(self.t.literal(stack, p["RuleNumber"])),
                    egress=bool(self.t.literal(stack, p.get("Egress", False))),
                    protocol=protocol,
                    ports=ports,
                    addresses=cidr_interval(cidr),
                    cidr=cidr,
                    allow=str(self.t.literal(stack, p["RuleAction"])).lower() == "allow",
                    resource=rid,
                )
            )
        return {
            rid: NetworkAcl(rid, self.t.label(rid), tuple(sorted(entries[rid], key=lambda entry: entry.number)))
            for rid, _ in self.t.resources("AWS::EC2::NetworkAcl")
        }

    def security_groups(self, cluster_vpcs: dict[ResourceId, ResourceId]) -> dict[ResourceId, SecurityGroup]:
        """Every group with its rules. A group whose template writes no egress keeps EC2's allow-all egress
        rule, and a standalone egress rule removes that default (CloudFormation revokes it:
        aws-cloudformation/cfn-language-discussion#157), for the EKS-created group too."""
        groups: dict[ResourceId, SecurityGroup] = {}
        own_egress: set[ResourceId] = set()
        for rid, p in self.t.resources("AWS::EC2::SecurityGroup"):
            stack = rid.stack
            group = SecurityGroup(
                rid,
                self.t.label(rid),
                self.t.identity(stack, p["VpcId"]) if "VpcId" in p else None,
                self.t.tags(stack, p.get("Tags")),
            )
            for direction, rules in (("ingress", group.ingress), ("egress", group.egress)):
                for index, entry in enumerate(p.get(f"SecurityGroup{direction.title()}", [])):
                    rule = self._rule(stack, entry, direction, f"inline {direction} rule {index + 1}", rid, index)
                    rules.extend([rule] if rule else [])
            if p.get("SecurityGroupEgress"):
                own_egress.add(rid)
            groups[rid] = group
        for cluster, vpc in cluster_vpcs.items():
            groups[cluster_security_group(cluster)] = self._eks_cluster_group(cluster, vpc)
        for direction in ("ingress", "egress"):
            for rid, p in self.t.resources(f"AWS::EC2::SecurityGroup{direction.title()}"):
                owner = self.t.identity(rid.stack, p["GroupId"])
                if owner not in groups:
                    raise ModelError(f"{rid} adds a rule to {owner}, which is not a group in the templates")
                rule = self._rule(rid.stack, p, direction, f"rule {self.t.label(rid)}", rid, None)
                if rule:
                    (groups[owner].ingress if direction == "ingress" else groups[owner].egress).append(rule)
                if direction == "egress":
                    own_egress.add(owner)
        for rid, group in groups.items():
            if rid in own_egress:
                group.egress = [rule for rule in group.egress if rule.written_in is not None]
            elif not group.egress:
                everywhere = AddressPeer(ALL_ADDRESSES, "0.0.0.0/0")
                group.egress.append(GroupRule("all", ALL_PORTS, everywhere, "default egress rule of EC2"))
        return groups

    def _eks_cluster_group(self, cluster: ResourceId, vpc: ResourceId) -> SecurityGroup:
        """The group EKS creates for a cluster, with its documented default rules and tags
        (https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html)."""
        rid = cluster_security_group(cluster)
        name = str(self.t.literal(cluster.stack, self.t.properties(cluster).get("Name", cluster.logical_id)))
        origin = "default rule EKS creates"
        return SecurityGroup(
            rid,
            self.t.label(rid),
            vpc,
            {"aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"},
            ingress=[GroupRule("all", ALL_PORTS, GroupPeer(rid), origin)],
            egress=[GroupRule("all", ALL_PORTS, AddressPeer(ALL_ADDRESSES, "0.0.0.0/0"), origin)],
        )

    def _rule(
        self, stack: str, entry: dict[str, Any], direction: str, origin: str, written_in: ResourceId, index: int | None
    ) -> GroupRule | None:
        protocol = _protocol(self.t.literal(stack, entry["IpProtocol"]))
        ports = (
            (int(self.t.literal(stack, entry["FromPort"])), int(self.t.literal(stack, entry["ToPort"])))
            if protocol in ("tcp", "udp")
            else ALL_PORTS
        )
        side = "Source" if direction == "ingress" else "Destination"
        peer: GroupPeer | AddressPeer
        if "CidrIp" in entry:
            cidr = str(self.t.literal(stack, entry["CidrIp"]))
            peer = AddressPeer(cidr_interval(cidr), cidr)
        elif f"{side}SecurityGroupId" in entry:
            peer = GroupPeer(self.t.identity(stack, entry[f"{side}SecurityGroupId"]))
        elif f"{side}PrefixListId" in entry:
            name = self._prefix_list_name(stack, entry[f"{side}PrefixListId"])
            peer = AddressPeer(self.prefix_lists.range(name), name)
        else:
            return None  # IPv6 peers: the model is IPv4 only
        return GroupRule(protocol, ports, peer, origin, written_in, index)

    def transit(
        self, subnets: dict[ResourceId, Subnet]
    ) -> tuple[
        dict[ResourceId, str],
        dict[ResourceId, TransitAttachment],
        dict[ResourceId, TransitRouteTable],
        dict[tuple[ResourceId, ResourceId], ResourceId],
    ]:
        """Gateways (with labels), attachments, route tables, and (attachment, gateway) -> associated table."""
        gateways = {rid: self.t.label(rid) for rid, _ in self.t.resources("AWS::EC2::TransitGateway")}
        accepted = {self.t.identity(rid.stack, p["AttachmentId"]) for rid, p in self.t.resources(PEERING_ACCEPTANCE)}
        attachments: dict[ResourceId, TransitAttachment] = {}
        for rid, p in self.t.resources("AWS::EC2::TransitGatewayVpcAttachment"):
            zones = frozenset(subnets[s].zone for s in self.t.identities(rid.stack, p["SubnetIds"]))
            gateway = (self.t.identity(rid.stack, p["TransitGatewayId"]),)
            vpc = self.t.identity(rid.stack, p["VpcId"])
            attachments[rid] = TransitAttachment(rid, self.t.label(rid), gateway, vpc, zones, accepted=True)
        for rid, p in self.t.resources("AWS::EC2::TransitGatewayPeeringAttachment"):
            pair = tuple(self.t.identity(rid.stack, p[key]) for key in ("TransitGatewayId", "PeerTransitGatewayId"))
            attachments[rid] = TransitAttachment(rid, self.t.label(rid), pair, None, frozenset(), rid in accepted)
        tables = {
            rid: TransitRouteTable(rid, self.t.identity(rid.stack, p["TransitGatewayId"]), self.t.label(rid))
            for rid, p in self.t.resources("AWS::EC2::TransitGatewayRouteTable")
        }
        associations: dict[tuple[ResourceId, ResourceId], ResourceId] = {}

        def attachment_and_table(rid: ResourceId, p: dict[str, Any]) -> tuple[ResourceId, TransitRouteTable]:
            table = tables[self.t.identity(rid.stack, p["TransitGatewayRouteTableId"])]
            return self.t.identity(rid.stack, p["TransitGatewayAttachmentId"]), table

        for rid, p in self.t.resources("AWS::EC2::TransitGatewayRouteTableAssociation"):
            attachment, table = attachment_and_table(rid, p)
            associations[(attachment, table.gateway)] = table.id
        for rid, p in self.t.resources("AWS::EC2::TransitGatewayRouteTablePropagation"):
            attachment, table = attachment_and_table(rid, p)
            table.propagations.append(attachment)
        for rid, p in self.t.resources("AWS::EC2::TransitGatewayRoute"):
            table = tables[self.t.identity(rid.stack, p["TransitGatewayRouteTableId"])]
            target = None if p.get("Blackhole") else self.t.identity(rid.stack, p["TransitGatewayAttachmentId"])
            table.routes.append(
                TransitRoute(cidr_interval(self.t.literal(rid.stack, p["DestinationCidrBlock"])), target)
            )
        return gateways, attachments, tables, associations

    # --- placements ---

    def clusters(self, subnets: dict[ResourceId, Subnet]) -> dict[ResourceId, ResourceId]:
        """EKS cluster -> its VPC (that of the subnets its control plane sits in)."""
        vpcs = {}
        for rid, p in self.t.resources("AWS::EKS::Cluster"):
            placed = self.t.identities(rid.stack, p["ResourcesVpcConfig"]["SubnetIds"])
            vpcs[rid] = subnets[placed[0]].vpc
        return vpcs

    def placements(self, subnets: dict[ResourceId, Subnet], groups: dict[ResourceId, SecurityGroup]) -> list[Placement]:
        return [
            *self._control_planes(),
            *self._node_groups(),
            *self._karpenter_nodes(subnets, groups),
            *self._fargate_pods(),
            *self._functions(),
            *self._kafka_pollers(),
            *self._rotations(),
            *self._by_properties(),
            *self._behind_subnet_groups(),
            *self._file_systems(),
            *self._nat_gateways(),
        ]

    def _placement(
        self, kind: Kind, rid: ResourceId, subnets: Any, groups: Iterable[ResourceId], origin: str
    ) -> Placement:
        placed = tuple(self.t.identities(rid.stack, subnets))
        return Placement(kind, self.t.label(rid), rid, self.t.region(rid), placed, frozenset(groups), origin)

    def _groups_of(self, rid: ResourceId, value: Any, where: str) -> tuple[list[ResourceId], str]:
        if not value:
            return [], f"no groups in its {where}: the VPC's default group, which CDK strips of every rule"
        return self.t.identities(rid.stack, value), f"groups from its {where}"

    def _control_planes(self) -> Iterator[Placement]:
        """The control plane's cross-account network interfaces: in the cluster's subnets, with its
        additional groups and the cluster security group."""
        for rid, p in self.t.resources("AWS::EKS::Cluster"):
            config = p["ResourcesVpcConfig"]
            extra = self.t.identities(rid.stack, config.get("SecurityGroupIds", []))
            groups = [*extra, cluster_security_group(rid)]
            origin = "ResourcesVpcConfig.SecurityGroupIds and the cluster security group"
            yield self._placement(Kind.CONTROL_PLANE, rid, config["SubnetIds"], groups, origin)

    def _node_groups(self) -> Iterator[Placement]:
        """Managed node groups: the groups of their launch template, else EKS's cluster security group."""
        for rid, p in self.t.resources("AWS::EKS::Nodegroup"):
            cluster = self.t.identity(rid.stack, p["ClusterName"])
            groups: list[ResourceId] = []
            origin = "no launch template: EKS gives the nodes the cluster security group"
            if "LaunchTemplate" in p:
                template = self.t.identity(rid.stack, p["LaunchTemplate"]["Id"])
                data = self.t.properties(template).get("LaunchTemplateData", {})
                listed = data.get("SecurityGroupIds") or [
                    group for interface in data.get("NetworkInterfaces", []) for group in interface.get("Groups", [])
                ]
                groups = self.t.identities(template.stack, listed) if listed else []
                origin = f"groups from launch template {self.t.label(template)}"
                if not groups:
                    origin = f"launch template {self.t.label(template)} names no groups: EKS adds the cluster's"
            placement = self._placement(
                Kind.NODE_GROUP, rid, p["Subnets"], groups or [cluster_security_group(cluster)], origin
            )
            labels = self.t.tags(rid.stack, p.get("Labels", {}))
            yield dataclasses.replace(placement, labels=tuple(sorted(labels.items())))

    def dns_node_selectors(self) -> dict[str, dict[str, str]]:
        """Region -> the nodeSelector of its cluster's `coredns` add-on ({}: it may run on any node)."""
        selectors = {}
        for rid, p in self.t.resources("AWS::EKS::Addon"):
            if self.t.literal(rid.stack, p["AddonName"]) == "coredns":
                values = p.get("ConfigurationValues") or "{}"
                configuration = json.loads(values) if isinstance(values, str) else values
                selectors[self.t.region(rid)] = dict(configuration.get("nodeSelector", {}))
        return selectors

    def _karpenter_nodes(
        self, subnets: dict[ResourceId, Subnet], groups: dict[ResourceId, SecurityGroup]
    ) -> Iterator[Placement]:
        """The nodes of each EC2NodeClass: the subnets and groups of the cluster's VPC its selector terms
        choose (terms are alternatives; a term's tags must all match; `id` names one resource)."""
        for rid, p in self.t.resources(KUBERNETES_RESOURCE):
            objects, tokens = manifest_objects(p["Manifest"])
            for node_class in (o for o in objects if o.get("kind") == "EC2NodeClass"):
                cluster = self.t.identity(rid.stack, p["ClusterName"])
                vpc = groups[cluster_security_group(cluster)].vpc
                spec = node_class["spec"]
                subnet_tags = {s.id: dict(s.tags) for s in subnets.values() if s.vpc == vpc}
                group_tags = {g.id: g.tags for g in groups.values() if g.vpc == vpc}
                chosen_subnets = self._selected(rid.stack, spec.get("subnetSelectorTerms", []), subnet_tags, tokens)
                chosen_groups = self._selected(
                    rid.stack, spec.get("securityGroupSelectorTerms", []), group_tags, tokens
                )
                name = node_class["metadata"]["name"]
                yield Placement(
                    Kind.KARPENTER_NODES,
                    f"EC2NodeClass {name}",
                    rid,
                    self.t.region(rid),
                    tuple(sorted(chosen_subnets)),
                    frozenset(chosen_groups),
                    f"what EC2NodeClass {name}'s securityGroupSelectorTerms select",
                )

    def _fargate_pods(self) -> Iterator[Placement]:
        """Each Fargate profile selector's pods: in the profile's subnets, with the groups of the
        SecurityGroupPolicies of the selector's namespace whose podSelector its pods match (every one that
        matches: the VPC resource controller attaches them all), else the cluster security group, which EKS gives
        a Fargate pod by default (EKS user guide, security groups for Fargate pods)."""
        policies = []
        for rid, p in self.t.resources(KUBERNETES_RESOURCE):
            objects, tokens = manifest_objects(p["Manifest"])
            policies += [(rid, o, tokens) for o in objects if o.get("kind") == "SecurityGroupPolicy"]
        for rid, p in self.t.resources("AWS::EKS::FargateProfile"):
            cluster = self.t.identity(rid.stack, p["ClusterName"])
            name = self.t.literal(rid.stack, p.get("FargateProfileName", rid.logical_id))
            for selector in p["Selectors"]:
                namespace = selector["Namespace"]
                labels = {label["Key"]: label["Value"] for label in selector.get("Labels", [])}
                chosen = [
                    self.t.identity(policy_rid.stack, tokens.get(group, group))
                    for policy_rid, policy, tokens in policies
                    if policy["metadata"].get("namespace") == namespace
                    and policy["spec"].get("podSelector", {}).get("matchLabels", {}).items() <= labels.items()
                    for group in policy["spec"]["securityGroups"]["groupIds"]
                ]
                origin = (
                    "SecurityGroupPolicy groups" if chosen else "no SecurityGroupPolicy: the cluster security group"
                )
                placement = self._placement(
                    Kind.FARGATE_PODS, rid, p["Subnets"], chosen or [cluster_security_group(cluster)], origin
                )
                yield dataclasses.replace(placement, name=f"Fargate profile {name} ({namespace})")

    def _selected(
        self,
        stack: str,
        terms: list[dict[str, Any]],
        candidates: dict[ResourceId, dict[str, str]],
        tokens: dict[str, Any],
    ) -> set[ResourceId]:
        def value(text: str) -> Any:
            return tokens.get(text, text)

        chosen: set[ResourceId] = set()
        for term in terms:
            if "id" in term:
                chosen.add(self.t.identity(stack, value(term["id"])))
            elif "tags" in term:
                wanted = {key: str(self.t.literal(stack, value(v))) for key, v in term["tags"].items()}
                chosen |= {
                    rid
                    for rid, tags in candidates.items()
                    if all(key in tags and v in ("*", tags[key]) for key, v in wanted.items())
                }
            else:
                raise ModelError(f"{stack}: selector term {term} is neither by id nor by tags")
        return chosen

    def _functions(self) -> Iterator[Placement]:
        """Lambda functions in a VPC: driven by an event source, kubectl handlers (the user function behind
        a cluster manifest's provider), or other custom-resource functions."""
        event_sourced = {
            self.t.identity(rid.stack, p["FunctionName"])
            for rid, p in self.t.resources("AWS::Lambda::EventSourceMapping")
        }
        kubectl = set()
        for rid, p in self.t.resources(*self.t.types("Custom::AWSCDK-EKS-")):
            framework = self.t.identity(rid.stack, p["ServiceToken"])
            variables = self.t.properties(framework).get("Environment", {}).get("Variables", {})
            if (handler := variables.get("USER_ON_EVENT_FUNCTION_ARN")) is not None:
                kubectl.add(self.t.identity(framework.stack, handler))
        for rid, p in self.t.resources("AWS::Lambda::Function"):
            if "VpcConfig" not in p:
                continue
            kind = (
                Kind.EVENT_FUNCTION
                if rid in event_sourced
                else Kind.KUBECTL_HANDLER
                if rid in kubectl
                else Kind.PROVIDER_FUNCTION
            )
            groups, origin = self._groups_of(rid, p["VpcConfig"].get("SecurityGroupIds"), "VpcConfig")
            yield self._placement(kind, rid, p["VpcConfig"]["SubnetIds"], groups, origin)

    def _kafka_pollers(self) -> Iterator[Placement]:
        """Lambda's pollers for an MSK event source: their interfaces sit in the cluster's subnets with the
        cluster's security groups (Lambda developer guide, MSK event source networking), one per mapping."""
        clusters = dict(self.t.resources("AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster"))
        for rid, p in self.t.resources("AWS::Lambda::EventSourceMapping"):
            cluster = self.t.identity(rid.stack, p["EventSourceArn"])
            if cluster not in clusters:
                continue
            _, where = _PLACED_BY_PROPERTIES[self.t.resource(cluster)["Type"]]
            for placed, listed in where(clusters[cluster]):
                groups, origin = self._groups_of(cluster, listed, "cluster's properties")
                yield self._placement(Kind.KAFKA_POLLER, rid, placed, groups, origin)

    def _rotations(self) -> Iterator[Placement]:
        """Secrets Manager rotation functions: the serverless application a rotation schedule invokes."""
        for rid, p in self.t.resources("AWS::SecretsManager::RotationSchedule"):
            if "RotationLambdaARN" not in p:
                continue
            application = self.t.identity(rid.stack, p["RotationLambdaARN"])
            parameters = self.t.properties(application).get("Parameters", {})
            if "vpcSubnetIds" in parameters:
                groups, origin = self._groups_of(application, parameters.get("vpcSecurityGroupIds"), "parameters")
                yield self._placement(Kind.ROTATION, application, parameters["vpcSubnetIds"], groups, origin)

    def _by_properties(self) -> Iterator[Placement]:
        for kind_name, (kind, where) in _PLACED_BY_PROPERTIES.items():
            for rid, p in self.t.resources(kind_name):
                for placed, listed in where(p):
                    groups, origin = self._groups_of(rid, listed, "properties")
                    yield self._placement(kind, rid, placed, groups, origin)

    def _behind_subnet_groups(self) -> Iterator[Placement]:
        """Databases, caches, the graph and DAX, placed by their subnet groups."""
        shapes = {
            "AWS::RDS::DBCluster": (Kind.DATABASE, "DBSubnetGroupName", "VpcSecurityGroupIds"),
            "AWS::RDS::DBInstance": (Kind.DATABASE, "DBSubnetGroupName", "VPCSecurityGroups"),
            "AWS::ElastiCache::ReplicationGroup": (Kind.CACHE, "CacheSubnetGroupName", "SecurityGroupIds"),
            "AWS::Neptune::DBCluster": (Kind.GRAPH, "DBSubnetGroupName", "VpcSecurityGroupIds"),
            "AWS::DAX::Cluster": (Kind.ACCELERATOR, "SubnetGroupName", "SecurityGroupIds"),
        }
        for kind_name, (kind, subnet_group, listed) in shapes.items():
            for rid, p in self.t.resources(kind_name):
                if kind_name == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in p:
                    continue  # an Aurora instance sits where its cluster does
                if subnet_group not in p:
                    raise ModelError(f"{rid} has no {subnet_group}: the model does not place default subnet groups")
                group_id = self.t.identity(rid.stack, p[subnet_group])
                groups, origin = self._groups_of(rid, p.get(listed), "properties")
                yield self._placement(kind, rid, self.t.properties(group_id)["SubnetIds"], groups, origin)

    def _file_systems(self) -> Iterator[Placement]:
        """EFS: one placement per file system and set of groups, over its mount targets' subnets."""
        targets: dict[tuple[ResourceId, frozenset[ResourceId]], list[Any]] = defaultdict(list)
        for rid, p in self.t.resources("AWS::EFS::MountTarget"):
            groups = frozenset(self.t.identities(rid.stack, p["SecurityGroups"]))
            targets[(self.t.identity(rid.stack, p["FileSystemId"]), groups)].append(p["SubnetId"])
        for (file_system, groups), placed in targets.items():
            yield self._placement(Kind.FILE_SYSTEM, file_system, placed, groups, "groups of its mount targets")

    def _nat_gateways(self) -> Iterator[Placement]:
        for rid, p in self.t.resources("AWS::EC2::NatGateway"):
            origin = "a NAT gateway has no security group and takes no connection from outside"
            yield self._placement(Kind.NAT_GATEWAY, rid, [p["SubnetId"]], [], origin)


# --- the model ------------------------------------------------------------------------------------------


class VpcModel:
    """One stage's networks in every region, and the answers to "does this path hold?"."""

    def __init__(self, stage: str, stacks: Sequence[StackTemplate]) -> None:
        self.stage = stage
        self.prefix_lists = PrefixLists()
        self._templates = _Templates(stacks)
        reader = _Reader(self._templates, self.prefix_lists)
        self.vpcs = reader.vpcs()
        self.subnets = reader.subnets()
        self.route_tables = reader.route_tables()
        self.internet_gateways = reader.internet_gateways()
        self.nat_gateways = reader.nat_gateways()
        self.acls = reader.acls()
        self.groups = reader.security_groups(reader.clusters(self.subnets))
        self.transit_gateways, self.attachments, self.transit_route_tables, self.associations = reader.transit(
            self.subnets
        )
        self.placements = reader.placements(self.subnets, self.groups)
        self.dns_node_selectors = reader.dns_node_selectors()
        self._cache: dict[tuple[Any, ...], list[Problem]] = {}
        self._network_cache: dict[tuple[_End, _End, Traffic], list[Problem]] = {}

    # --- what is where ---

    @property
    def regions(self) -> list[str]:
        return sorted({vpc.region for vpc in self.vpcs.values()})

    def vpc_in(self, region: str) -> Vpc:
        found = [vpc for vpc in self.vpcs.values() if vpc.region == region]
        if len(found) != 1:
            raise ModelError(f"{self.stage}: {len(found)} VPCs in {region}; the model expects one per region")
        return found[0]

    def tiers_of(self, placement: Placement) -> set[str]:
        return {self.subnets[s].tier for s in placement.subnets}

    def placements_in(self, region: str) -> list[Placement]:
        return [p for p in self.placements if p.region == region]

    def resolve(self, stack: str, value: Any) -> ResourceId:
        """The resource a reference in `stack`'s template stands for (for tests that edit templates)."""
        return self._templates.identity(stack, value)

    def group_label(self, group: ResourceId) -> str:
        return self.groups[group].label if group in self.groups else f"{group} (not in the templates)"

    def parties(self, region: str, selector: Selector) -> list[Party]:
        """The ends a selector stands for in `region`."""
        if isinstance(selector, Internet):
            return [Party("the internet", outside=INTERNET)]
        if isinstance(selector, Service):
            return [
                Party(
                    f"{selector.label} ({selector.prefix_list})",
                    outside=(self.prefix_lists.range(selector.prefix_list),),
                )
            ]
        if isinstance(selector, ClusterDns):
            wanted = self.dns_node_selectors.get(region)
            return [
                Party(f"{p.kind.value} {p.name} (CoreDNS)", p.subnets, p.groups, origin=p.origin)
                for p in self.placements_in(region)
                if wanted is not None and p.kind is Kind.NODE_GROUP and wanted.items() <= set(p.labels)
            ]
        if isinstance(selector, Tier):
            home = self.vpc_in(region)
            vpcs = [v for v in self.vpcs.values() if (v.id != home.id) == selector.peer]
            return [
                Party(
                    f"the {selector.tier} tier of {vpc.label} ({vpc.region})",
                    tuple(s.id for s in self.subnets.values() if s.vpc == vpc.id and s.tier == selector.tier),
                )
                for vpc in vpcs
            ]
        return [
            Party(f"{p.kind.value} {p.name}", p.subnets, p.groups, origin=p.origin)
            for p in self.placements_in(region)
            if (not selector.kinds or p.kind in selector.kinds)
            and p.kind not in selector.excluding
            and (selector.tier is None or self.tiers_of(p) == {selector.tier})
            and (selector.named is None or p.name.endswith(selector.named))
        ]

    # --- evaluation ---

    def required(self, source: Party, destination: Party, traffic: Traffic) -> list[Problem]:
        """What is missing for every address of `source` to reach `destination` on every port of `traffic`
        (and for the replies to come back); empty when the path holds."""
        problems = self._over_ends(source, destination, traffic, None)
        if any(p.layer is Layer.SECURITY_GROUPS for p in problems):
            problems += [
                Problem(
                    Layer.SECURITY_GROUPS, f"{party.name} carries {self._groups_text(party.groups)} ({party.origin})"
                )
                for party in (source, destination)
                if party.groups is not None
            ]
        return problems

    def forbidden(self, source: Party, destination: Party, traffic: Traffic, layers: Sequence[Layer]) -> list[Problem]:
        """How each of `layers` lets some address of `source` reach `destination` on some port of `traffic`;
        empty when every one of them denies all of it on its own."""
        return self._over_ends(source, destination, traffic, tuple(layers))

    def _over_ends(
        self, source: Party, destination: Party, traffic: Traffic, layers: tuple[Layer, ...] | None
    ) -> list[Problem]:
        found: dict[Problem, None] = {}
        for s in self._ends(source):
            for d in self._ends(destination):
                key = (layers, source.groups, s, destination.groups, d, traffic)
                if key not in self._cache:
                    self._cache[key] = (
                        self._missing(source.groups, s, destination.groups, d, traffic)
                        if layers is None
                        else [
                            problem
                            for layer in layers
                            for problem in self._breach(layer, source.groups, s, destination.groups, d, traffic)
                        ]
                    )
                found.update(dict.fromkeys(self._cache[key]))
        return list(found)

    def _ends(self, party: Party) -> list[_End]:
        if party.outside:
            return [_End(None, party.outside)]
        return [_End(self.subnets[s], (self.subnets[s].cidr,)) for s in party.subnets]

    def _where(self, end: _End) -> str:
        return str(end.subnet) if end.subnet else self.prefix_lists.describe(end.addresses)

    def _groups_text(self, groups: Iterable[ResourceId]) -> str:
        return ", ".join(sorted(self.group_label(g) for g in groups)) or "no group"

    def _missing(
        self,
        source_groups: frozenset[ResourceId] | None,
        s: _End,
        destination_groups: frozenset[ResourceId] | None,
        d: _End,
        traffic: Traffic,
    ) -> list[Problem]:
        return self._groups_missing(source_groups, s, destination_groups, d, traffic) + self._network_missing(
            s, d, traffic
        )

    def _network_missing(self, s: _End, d: _End, traffic: Traffic) -> list[Problem]:
        """What the routes and network ACLs lack between two ends, whoever's groups they carry: asked once per
        pair of subnets and traffic, as many parties share a tier's subnets."""
        key = (s, d, traffic)
        if key not in self._network_cache:
            legs = [leg for direction in self._directions(s, d) for leg in direction]
            problems = [Problem(Layer.ROUTES, leg.reason) for leg in legs if not leg.delivered]
            hops = [leg.via for leg in legs if leg.via]
            self._network_cache[key] = problems + self._acls_missing(s, d, traffic, hops)
        return self._network_cache[key]

    # --- security groups ---

    def _rule_boxes(
        self,
        groups: Iterable[ResourceId],
        direction: str,
        protocol: str,
        other_groups: frozenset[ResourceId] | None,
        other: _End,
        *,
        any_group: bool,
    ) -> list[tuple[ResourceId, GroupRule, Box]]:
        """The (group, rule, ports x addresses) of every rule of `groups` in `direction` that applies to
        `other`. A group peer applies to members of it in its own VPC; when `other` may hold any group (a
        tier), it applies only if `any_group`."""
        found = []
        for group in sorted(groups):
            owner = self.groups.get(group)
            for rule in (owner.ingress if direction == "ingress" else owner.egress) if owner else []:
                if rule.protocol not in ("all", protocol):
                    continue
                if isinstance(rule.peer, AddressPeer):
                    found.append((group, rule, Box(rule.ports, rule.peer.addresses)))
                    continue
                peer = self.groups.get(rule.peer.group)
                same_vpc = other.subnet is not None and peer is not None and peer.vpc == other.subnet.vpc
                member = any_group if other_groups is None else rule.peer.group in other_groups
                if same_vpc and member:
                    found.append((group, rule, Box(rule.ports, ALL_ADDRESSES)))
        return found

    def _rule_text(self, group: ResourceId, rule: GroupRule, direction: str) -> str:
        peer = rule.peer.text if isinstance(rule.peer, AddressPeer) else self.group_label(rule.peer.group)
        ports = "" if rule.ports == ALL_PORTS else f"/{ports_text([rule.ports])}"
        where = "from" if direction == "ingress" else "to"
        return f"{self.group_label(group)} {direction} {rule.protocol}{ports} {where} {peer} ({rule.origin})"

    def _groups_missing(
        self,
        source_groups: frozenset[ResourceId] | None,
        s: _End,
        destination_groups: frozenset[ResourceId] | None,
        d: _End,
        traffic: Traffic,
    ) -> list[Problem]:
        problems = []
        for groups, direction, other_groups, other in (
            (source_groups, "egress", destination_groups, d),
            (destination_groups, "ingress", source_groups, s),
        ):
            if groups is None:
                continue
            region = boxes(traffic.ports, other.addresses)
            for _, _, box in self._rule_boxes(
                groups, direction, traffic.protocol, other_groups, other, any_group=False
            ):
                region = subtract(region, box)
            if region:
                ports = ports_text(b.ports for b in region)
                # A party with groups is named by them (the same for each of its subnets), a tier by its subnet.
                peer = (
                    f"{self._groups_text(other_groups)} (or its subnets' addresses)"
                    if other_groups is not None
                    else self._where(other)
                )
                towards = "to" if direction == "egress" else "from"
                problems.append(
                    Problem(
                        Layer.SECURITY_GROUPS,
                        f"no {direction} rule of {self._groups_text(groups)} allows {traffic.protocol}/{ports} "
                        f"{towards} {peer}",
                    )
                )
        return problems

    # --- routes ---

    def _directions(self, s: _End, d: _End) -> list[list[_Leg]]:
        """The legs of each direction a connection needs: from the internet, the replies' way out; to
        addresses outside, the way out (replies return the way they left); between subnets, there and back."""
        if s.subnet is None:
            assert d.subnet is not None
            return [self._legs(d.subnet, s.addresses, None, inbound=True)]
        if d.subnet is None:
            return [self._legs(s.subnet, d.addresses, None, inbound=False)]
        return [
            self._legs(s.subnet, d.addresses, d.subnet, inbound=False),
            self._legs(d.subnet, s.addresses, s.subnet, inbound=False),
        ]

    def _legs(
        self, subnet: Subnet, addresses: Iterable[Interval], destination: Subnet | None, *, inbound: bool
    ) -> list[_Leg]:
        """Where `subnet`'s route table sends each part of `addresses` (longest prefix first), and whether it
        arrives: in `destination`, or outside every VPC when that is None. `inbound`: the traffic came in
        from the internet, so the replies must leave through an internet gateway."""
        vpc = self.vpcs[subnet.vpc]
        table = self.route_tables.get(subnet.route_table) if subnet.route_table else None
        local = Route(vpc.cidr, cidrs_text([vpc.cidr]), Hop.LOCAL, None, "")
        routes = sorted([local, *(table.routes if table else ())], key=lambda r: r.destination[1] - r.destination[0])
        table_text = f"{subnet} (route table {table.label if table else 'the main one'})"
        legs = []
        remaining = merge(addresses)
        for route in routes:
            if parts := intersection(remaining, [route.destination]):
                legs.append(self._leg(subnet, route, tuple(parts), destination, inbound, table_text))
                remaining = difference(remaining, [route.destination])
        if remaining:
            where = self.prefix_lists.describe(remaining)
            legs.append(_Leg(tuple(remaining), None, False, f"{table_text} has no route to {where}"))
        return legs

    def _leg(
        self,
        subnet: Subnet,
        route: Route,
        part: tuple[Interval, ...],
        destination: Subnet | None,
        inbound: bool,
        table: str,
    ) -> _Leg:
        where = self.prefix_lists.describe(part)
        if route.hop is Hop.LOCAL:
            arrives = destination is not None and destination.vpc == subnet.vpc
            return _Leg(part, route, arrives, f"{table} sends {where} to the local VPC, which does not hold it")
        if route.hop is Hop.INTERNET_GATEWAY:
            attached = self.internet_gateways.get(route.target) == subnet.vpc if route.target else False
            arrives = destination is None and attached
            return _Leg(part, route, arrives, f"{table} routes {where} to {route}, which does not reach it")
        if route.hop is Hop.NAT_GATEWAY and route.target is not None:
            if inbound or destination is not None:
                why = "takes no connection from outside" if inbound else "does not reach other VPCs"
                return _Leg(part, route, False, f"{table} routes {where} to {route}, which {why}")
            nat_subnet = self.subnets[self.nat_gateways[route.target]]
            onward = self._legs(nat_subnet, part, None, inbound=False)
            arrives = all(leg.delivered and leg.route and leg.route.hop is Hop.INTERNET_GATEWAY for leg in onward)
            why = f"{table} routes {where} to {route}, whose subnet does not route it to an internet gateway"
            return _Leg(part, route, arrives, why, via=nat_subnet)
        if route.hop is Hop.TRANSIT_GATEWAY and route.target is not None:
            if destination is None or destination.vpc == subnet.vpc:
                return _Leg(part, route, False, f"{table} routes {where} to {route}, which does not reach it")
            stuck = self._transit(route.target, subnet, destination)
            return _Leg(part, route, stuck is None, f"{table} routes {where} to {route}: {stuck}")
        if route.hop is Hop.GATEWAY_ENDPOINT:
            return _Leg(part, route, destination is None and not inbound, f"{table} sends {where} to {route}")
        return _Leg(part, route, False, f"{table} routes {where} to {route}")

    def _transit(self, gateway: ResourceId, source: Subnet, destination: Subnet) -> str | None:
        """Why the Transit Gateway chain from `source`'s VPC does not deliver to `destination`, or None."""
        attachment = next(
            (a for a in self.attachments.values() if a.vpc == source.vpc and a.gateways == (gateway,)), None
        )
        if attachment is None:
            return f"{self.vpcs[source.vpc].label} is not attached to it"
        if source.zone not in attachment.zones:
            return f"{attachment.label} has no subnet in {source.zone}"
        current, at = attachment, gateway
        for _ in range(MAX_TRANSIT_HOPS):
            table_id = self.associations.get((current.id, at))
            if table_id is None:
                return f"{current.label} is associated with no route table of {self.transit_gateways.get(at, at)}"
            table = self.transit_route_tables[table_id]
            target = self._transit_route(table, destination.cidr)
            if target is None:
                return f"{table.label} has no route to {cidrs_text([destination.cidr])}"
            following = self.attachments[target]
            if following.vpc is not None:
                if following.vpc != destination.vpc or destination.zone not in following.zones:
                    return f"{table.label} sends {cidrs_text([destination.cidr])} to {following.label}"
                return None
            if not following.accepted:
                return f"peering {following.label} is never accepted"
            if at not in following.gateways:
                return f"{following.label} does not connect {self.transit_gateways.get(at, at)}"
            at = next(g for g in following.gateways if g != at)
            current = following
        return "the Transit Gateway routes loop"

    def _transit_route(self, table: TransitRouteTable, cidr: Interval) -> ResourceId | None:
        """The attachment `table` sends all of `cidr` to (static routes and propagated VPCs, longest first)."""
        candidates = [(route.destination, route.attachment) for route in table.routes]
        for propagated in table.propagations:
            vpc = self.attachments[propagated].vpc if propagated in self.attachments else None
            if vpc is not None:
                candidates.append((self.vpcs[vpc].cidr, propagated))
        covering = [c for c in candidates if c[0][0] <= cidr[0] and cidr[1] <= c[0][1]]
        return min(covering, key=lambda c: c[0][1] - c[0][0])[1] if covering else None

    # --- network ACLs ---

    def _acl_checks(self, s: _End, d: _End, traffic: Traffic, hops: Sequence[Subnet]) -> list[_AclCheck]:
        """Every network ACL crossing of the request and its reply; none when both ends share a subnet."""
        if s.subnet is not None and d.subnet is not None and s.subnet.id == d.subnet.id:
            return []
        request, reply = traffic.ports, (EPHEMERAL_PORTS,)
        replies = f"replies ({traffic.protocol}/{ports_text(reply)})"
        src, dst = self._where(s), self._where(d)
        checks = []
        if s.subnet:
            checks += [
                _AclCheck(s.subnet, True, request, d.addresses, f"{traffic} to {dst}", reply=False),
                _AclCheck(s.subnet, False, reply, d.addresses, f"{replies} from {dst}", reply=True),
            ]
        for hop in hops:
            checks += [
                _AclCheck(hop, False, request, s.addresses, f"{traffic} from {src} on its way out", reply=False),
                _AclCheck(hop, True, request, d.addresses, f"{traffic} to {dst}", reply=False),
                _AclCheck(hop, False, reply, d.addresses, f"{replies} from {dst}", reply=True),
                _AclCheck(hop, True, reply, s.addresses, f"{replies} to {src}", reply=True),
            ]
        if d.subnet:
            checks += [
                _AclCheck(d.subnet, False, request, s.addresses, f"{traffic} from {src}", reply=False),
                _AclCheck(d.subnet, True, reply, s.addresses, f"{replies} to {src}", reply=True),
            ]
        return checks

    def _acl_label(self, subnet: Subnet, egress: bool) -> str:
        name = self.acls[subnet.acl].label if subnet.acl else "the default network ACL"
        return f"network ACL {name} ({subnet.label}) {'outbound' if egress else 'inbound'}"

    def _acls_missing(self, s: _End, d: _End, traffic: Traffic, hops: Sequence[Subnet]) -> list[Problem]:
        problems = []
        for check in self._acl_checks(s, d, traffic, hops):
            subnet, egress, what = check.subnet, check.egress, check.what
            if subnet.acl is None:
                continue  # the default ACL allows everything
            remaining = boxes(check.ports, check.addresses)
            for entry in self.acls[subnet.acl].entries:
                if entry.egress != egress or entry.protocol not in ("all", traffic.protocol):
                    continue
                box = Box(entry.ports, entry.addresses)
                if not entry.allow and any(r.overlap(box) for r in remaining):
                    problems.append(
                        Problem(Layer.NETWORK_ACLS, f"{self._acl_label(subnet, egress)}: {what}: {entry} denies it")
                    )
                    remaining = []
                    break
                remaining = subtract(remaining, box)
            if remaining:
                left = f"{traffic.protocol}/{ports_text(b.ports for b in remaining)}"
                problems.append(
                    Problem(
                        Layer.NETWORK_ACLS,
                        f"{self._acl_label(subnet, egress)}: {what}: no rule allows {left} (the final deny)",
                    )
                )
        return problems

    def _acl_admits(
        self, subnet: Subnet, egress: bool, protocol: str, ports: Sequence[Interval], addresses: Sequence[Interval]
    ) -> tuple[list[Interval], list[str]]:
        """The ports on which `subnet`'s ACL lets some of `addresses` through, and the rules that do."""
        if subnet.acl is None:
            return merge(ports), ["the default network ACL (allows everything)"]
        remaining = boxes(ports, addresses)
        admitted: list[Interval] = []
        rules = []
        for entry in self.acls[subnet.acl].entries:
            if entry.egress != egress or entry.protocol not in ("all", protocol):
                continue
            box = Box(entry.ports, entry.addresses)
            hits = [common for r in remaining if (common := r.overlap(box))]
            if hits and entry.allow:
                admitted += [hit.ports for hit in hits]
                rules.append(f"{self._acl_label(subnet, egress)} {entry}")
            remaining = subtract(remaining, box)
        return merge(admitted), rules

    # --- forbidden paths ---

    def _breach(
        self,
        layer: Layer,
        source_groups: frozenset[ResourceId] | None,
        s: _End,
        destination_groups: frozenset[ResourceId] | None,
        d: _End,
        traffic: Traffic,
    ) -> list[Problem]:
        if layer is Layer.SECURITY_GROUPS:
            text = self._groups_breach(source_groups, s, destination_groups, d, traffic)
        elif layer is Layer.ROUTES:
            text = self._routes_breach(s, d)
        else:
            text = self._acls_breach(s, d, traffic)
        return [Problem(layer, text)] if text else []

    def _groups_breach(
        self,
        source_groups: frozenset[ResourceId] | None,
        s: _End,
        destination_groups: frozenset[ResourceId] | None,
        d: _End,
        traffic: Traffic,
    ) -> str | None:
        if destination_groups is None:
            raise ModelError("the security-group layer can only hold a path whose destination carries groups")
        admitted: dict[str, list[Interval]] = {}
        rules: list[str] = []
        for groups, direction, other_groups, other in (
            (destination_groups, "ingress", source_groups, s),
            (source_groups, "egress", destination_groups, d),
        ):
            if groups is None:
                admitted[direction] = list(traffic.ports)
                continue
            wanted = boxes(traffic.ports, other.addresses)
            ports = []
            for group, rule, box in self._rule_boxes(
                groups, direction, traffic.protocol, other_groups, other, any_group=True
            ):
                hits = [common for w in wanted if (common := w.overlap(box))]
                if hits:
                    ports += [hit.ports for hit in hits]
                    rules.append(self._rule_text(group, rule, direction))
            admitted[direction] = merge(ports)
        through = intersection(admitted["ingress"], admitted["egress"])
        if not through:
            return None
        return f"{traffic.protocol}/{ports_text(through)} from {self._where(s)} to {self._where(d)}: {'; '.join(rules)}"

    def _routes_breach(self, s: _End, d: _End) -> str | None:
        directions = self._directions(s, d)
        if not all(any(leg.delivered for leg in direction) for direction in directions):
            return None
        delivered = [leg for direction in directions for leg in direction if leg.delivered]
        return "; ".join(dict.fromkeys(f"{self._where(s)} -> {self._where(d)} via {leg.route}" for leg in delivered))

    def _acls_breach(self, s: _End, d: _End, traffic: Traffic) -> str | None:
        checks = self._acl_checks(s, d, traffic, [])
        if not checks:
            return f"{self._where(s)} and {self._where(d)} share a subnet: no network ACL lies between them"
        request: list[Interval] = list(traffic.ports)
        reply: list[Interval] = [EPHEMERAL_PORTS]
        rules: list[str] = []
        for check in checks:
            admitted, admitting = self._acl_admits(
                check.subnet, check.egress, traffic.protocol, check.ports, check.addresses
            )
            if check.reply:
                reply = intersection(reply, admitted)
            else:
                request = intersection(request, admitted)
            rules += admitting
        if not request or not reply:
            return None
        allowing = "; ".join(dict.fromkeys(rules))
        return f"{traffic.protocol}/{ports_text(request)} from {self._where(s)} to {self._where(d)}: {allowing}"
