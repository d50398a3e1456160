"""The security groups that cross tiers (seed 002's chain ALB -> workloads -> PostgreSQL/cache/EFS).

They live with the network so the data stack can admit `workload` without depending on the platform
stack. No group admits SSH: instances are reached through SSM Session Manager.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import aws_ec2 as ec2
from constructs import Construct
from constructs.common.acknowledgments import acknowledge, acknowledge_all

PortRange = tuple[int, int]
"""An inclusive range of TCP ports."""
POSTGRES_PORT = 5432
CACHE_PORT = 6379
EFS_PORT = 2049
KAFKA_IAM_PORT = 9098
"""MSK brokers: TLS with IAM authentication (provisioned and serverless)."""
HTTPS_PORT = 443
GRAPH_PORT = 8182
"""Neptune: HTTPS and WebSockets (Gremlin, openCypher, SPARQL), TLS only."""
TIME_SERIES_PORT = 8086
"""Timestream for InfluxDB: the InfluxDB HTTP API over TLS."""
ACCELERATOR_TLS_PORT = 9111
"""DAX with endpoint encryption (8111 is its unencrypted port, which a TLS cluster does not open)."""


def port_ranges(ports: Iterable[int]) -> list[PortRange]:
    """`ports` as the fewest inclusive ranges (8001, 8002, 8003 -> 8001-8003): one rule per range."""
    ranges: list[PortRange] = []
    for port in sorted(set(ports)):
        if ranges and port == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], port)
        else:
            ranges.append((port, port))
    return ranges


class TierSecurityGroups(Construct):
    """`alb`, `workload`, and the data-tier groups `postgres`, `cache`, `efs`, `kafka` and `search`, each
    admitting only `workload` on its one port; `graph`, `time_series` and `accelerator` likewise for the
    stores the stage turns on (None when off)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        service_ports: Sequence[PortRange],
        cloudfront_prefix_list_id: str | None = None,
        peer_app_blocks: Sequence[str] = (),
        graph: bool = False,
        time_series: bool = False,
        accelerator: bool = False,
    ) -> None:
        """`service_ports`: where the services behind the load balancer listen (platform.services);
        `cloudfront_prefix_list_id`: with the edge on, `alb` admits only CloudFront, on 443 (without it, 80 and
        443 from anywhere); `peer_app_blocks`: the peered regions' app tiers, admitted to `workload` on the
        service ports; `graph`, `time_series`, `accelerator`: whether Neptune, InfluxDB and DAX are on."""
        super().__init__(scope, construct_id)
        workload_ports = [ec2.Port.tcp_range(first, last) for first, last in service_ports]

        self.alb = self._group("Alb", vpc, "Application load balancer: HTTP/HTTPS from the internet")
        self.workload = ec2.SecurityGroup(
            self,
            "Workload",
            vpc=vpc,
            description="EKS nodes, pods and ECS tasks: service ports from the ALB, all from each other",
            allow_all_outbound=True,
        )
        if cloudfront_prefix_list_id:
            # The list counts as its 55 entries against the group's 60 inbound rules: this is the only one, and
            # CloudFront reaches origins on HTTPS only, so 80 (another 55) is not admitted.
            self.alb.add_ingress_rule(
                ec2.Peer.prefix_list(cloudfront_prefix_list_id), ec2.Port.tcp(443), "HTTPS from CloudFront only"
            )
        else:
            for port in (80, 443):
                self.alb.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(port), f"Port {port} from the internet")
            internet_facing = "The internet-facing load balancer must accept 80/443 from anywhere; the WAF filters it."
            acknowledge_all(
                self.alb,
                [
                    (f, internet_facing)
                    for f in ("AwsSolutions-EC23", *(f"Platform-OpenIngress[tcp:{p}]" for p in (80, 443)))
                ],
            )
        for ports in workload_ports:
            # The workload ingress and, since the ALB group has no open egress, the matching egress rule.
            self.workload.connections.allow_from(self.alb, ports, "Service ports from the ALB")
        self.workload.add_ingress_rule(self.workload, ec2.Port.all_traffic(), "Workloads talk to each other")
        for peer_app_block in peer_app_blocks:
            # Over the Transit Gateway peering: the other regions' services call these during failover.
            for ports in workload_ports:
                self.workload.add_ingress_rule(
                    ec2.Peer.ipv4(peer_app_block), ports, "Service ports from the peered region's app tier"
                )
        acknowledge(
            self.workload,
            "NIST.800.53.R5-EC2RestrictedCommonPorts",
            "The all-ports rule admits only members of this same group, not an address range: pods on "
            "different nodes use arbitrary ports (CNI, DNS, webhooks, service mesh).",
        )

        self.data_ports: list[int] = []
        """Ports the data-tier groups open to workloads; the data tier's network ACL opens exactly these."""
        self.postgres = self._data_group("Postgres", vpc, "PostgreSQL", POSTGRES_PORT)
        self.cache = self._data_group("Cache", vpc, "Valkey cache", CACHE_PORT)
        self.efs = self._data_group("Efs", vpc, "EFS mount targets (NFS)", EFS_PORT)
        self.kafka = self._data_group("Kafka", vpc, "MSK brokers (TLS + IAM)", KAFKA_IAM_PORT)
        self.search = self._data_group("Search", vpc, "OpenSearch domain (HTTPS)", HTTPS_PORT)
        self.graph = self._data_group("Graph", vpc, "Neptune (TLS + IAM)", GRAPH_PORT) if graph else None
        self.time_series = (
            self._data_group("TimeSeries", vpc, "InfluxDB (TLS)", TIME_SERIES_PORT) if time_series else None
        )
        self.accelerator = (
            self._data_group("Accelerator", vpc, "DAX (TLS)", ACCELERATOR_TLS_PORT) if accelerator else None
        )

    def _group(self, construct_id: str, vpc: ec2.IVpc, description: str) -> ec2.SecurityGroup:
        """A group with no egress: it only receives connections."""
        return ec2.SecurityGroup(self, construct_id, vpc=vpc, description=description, allow_all_outbound=False)

    def _data_group(self, construct_id: str, vpc: ec2.IVpc, what: str, port: int) -> ec2.SecurityGroup:
        group = self._group(construct_id, vpc, f"{what}: port {port} from workloads only")
        group.connections.allow_from(self.workload, ec2.Port.tcp(port), f"{what} from workloads")
        self.data_ports.append(port)
        return group
