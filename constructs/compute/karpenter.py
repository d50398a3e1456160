"""Karpenter v1 (seed 002's v1alpha5 Provisioner brought to NodePool + EC2NodeClass): the controller on the
system nodes, its interruption queue, a node role, a NodePool for each node group's headroom above its
managed minimum, and seed 002's Spot GPU burst pool."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from constructs.common.acknowledgments import acknowledge, acknowledge_all
from constructs.common.pod_identity import PodIdentityRole
from constructs.compute.eks_cluster import SYSTEM_NODE_SELECTOR, SYSTEM_TOLERATION, worker_node_role

from environments.schema.compute import GPU_BURST_POOL, KarpenterConfig, NodeGroupConfig

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
DISCOVERY_TAG = "karpenter.sh/discovery"
"""Subnets and security groups tagged with this key and the cluster's name are the ones Karpenter uses."""
INTERRUPTION_EVENTS = {
    "SpotInterruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "RebalanceRecommendation": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "InstanceStateChange": ("aws.ec2", "EC2 Instance State-change Notification"),
    "ScheduledChange": ("aws.health", "AWS Health Event"),
}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
CAPACITY_TYPES = {"ON_DEMAND": "on-demand", "SPOT": "spot"}
"""Node group capacity type -> Karpenter's karpenter.sh/capacity-type."""
HEADROOM_WEIGHT = 10
"""Pending pods that several NodePools fit go to the highest weight: a group's own headroom before the burst."""
CONTROLLER_POLICY = Path(__file__).parent / "policies" / "karpenter-controller-v1.14.1.json"
"""Karpenter's reference controller policy (aws/karpenter-provider-aws, Apache-2.0), vendored as the getting-started
CloudFormation template of 1.14.1 publishes it: one managed policy per concern, each statement scoped by resource
type and by this cluster's request and resource tags (`kubernetes.io/cluster/<name>`, `eks:eks-cluster-name`,
`karpenter.sh/nodepool`, `karpenter.k8s.aws/ec2nodeclass`), iam:PassRole only for the node role, to EC2."""
UNUSED_POLICIES = ("ZonalShiftPolicy",)
"""Only needed with the chart's `settings.enableZonalShift`, which the platform leaves off."""
WILDCARD_REASONS = {
    "*": "Upstream's controller policy leaves on * only the region-conditioned EC2 Describe calls, pricing:GetProducts "
    "and iam:ListInstanceProfiles, which have no resource-level permissions (read-only).",
    **dict.fromkeys(
        ("image", "snapshot", "security-group", "subnet", "capacity-reservation", "placement-group"),
        "Upstream's controller policy: RunInstances and CreateFleet reference the images, snapshots, security groups, "
        "subnets, capacity reservations and placement groups a launch uses; upstream leaves these unconditioned.",
    ),
    "instance-profile": "Upstream's controller policy: the instance profiles Karpenter creates for its node classes, "
    "every change conditioned on this cluster's and region's request or resource tags; GetInstanceProfile reads.",
    "parameter": "Karpenter resolves EKS-optimized AMIs from AWS's public SSM parameters (read-only).",
}
"""Why each kind of resource upstream names by wildcard is named so (any other: what Karpenter creates)."""
CREATED_REASON = (
    "Upstream's controller policy: the fleets, instances, volumes, interfaces, launch templates and Spot requests "
    "Karpenter creates (their ARNs do not exist before the call), each call conditioned on this cluster's request or "
    "resource tags (kubernetes.io/cluster, eks:eks-cluster-name, karpenter.sh/nodepool)."
)


@dataclass(frozen=True)
class Pool:
    """One NodePool and the EC2NodeClass of the same name that launches its nodes."""

    name: str
    labels: Mapping[str, str]
    taints: Sequence[Mapping[str, str]]
    instance_types: Sequence[str]
    capacity_type: str
    disk_gib: int
    limits: Mapping[str, str]
    weight: int | None = None
    architecture: str | None = None
    """Required as kubernetes.io/arch when set: a Graviton group's pool launches arm64 nodes only."""

    @property
    def gpu(self) -> bool:
        return "nvidia.com/gpu" in self.limits


def headroom_pool(group: NodeGroupConfig) -> Pool:
    """The nodes `group` may add above its managed minimum: same labels, taints, instance types and capacity
    type, limited to `max_size - min_size` nodes of its size (GPUs counted as nvidia.com/gpu)."""
    nodes, size = group.headroom, group.size
    gpus = {"nvidia.com/gpu": str(nodes * size.gpus)} if size.gpus else {}
    return Pool(
        name=group.name,
        labels=group.labels,
        taints=[{"key": t.key, "value": t.value, "effect": t.kubernetes_effect} for t in group.taints],
        instance_types=group.instance_types,
        capacity_type=CAPACITY_TYPES[group.capacity_type],
        disk_gib=group.disk_size_gib,
        limits={"cpu": str(nodes * size.vcpus), "memory": f"{nodes * size.memory_gib}Gi", **gpus},
        weight=HEADROOM_WEIGHT,
        architecture="arm64" if group.architecture == "arm64" else None,
    )


def burst_pool(karpenter: KarpenterConfig) -> Pool:
    """Seed 002's Spot GPU burst capacity, up to `gpu_limit` GPUs, for pods that select workload=gpu."""
    return Pool(
        name=GPU_BURST_POOL,
        labels={"workload": "gpu"},
        taints=[GPU_TAINT],
        instance_types=karpenter.gpu_instance_types,
        capacity_type="spot",
        disk_gib=200,
        limits={"nvidia.com/gpu": str(karpenter.gpu_limit)},
    )


class Karpenter(Construct):
    """`interruption_queue`, `node_role`, `controller_role` with upstream's `controller_policies`, `crd_chart`,
    `chart`, `pools` and `manifests` (an EC2NodeClass and a NodePool per pool), applied as `node_pools` (what
    workloads on those pools wait for)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        cluster_name: str,
        karpenter: KarpenterConfig,
        node_groups: Sequence[NodeGroupConfig],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.interruption_queue = sqs.Queue(
            self,
            "InterruptionQueue",
            retention_period=cdk.Duration.minutes(5),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        # CDK leaves SQS_MANAGED out of the template (SQS's default for new queues); written out, the
        # encryption is in the template for reviewers, and survives a change of SQS's default.
        cast(sqs.CfnQueue, self.interruption_queue.node.default_child).sqs_managed_sse_enabled = True
        acknowledge(
            self.interruption_queue,
            "CKV_AWS_27",
            "Encrypted with SQS-managed keys, as Karpenter's reference template does: AWS's EC2 and Health "
            "events reach it through EventBridge without a key policy, and a notice names instances only.",
        )
        stale = (
            "Interruption notices are only useful within minutes; Karpenter deletes what it handles and a "
            "dead-letter queue would only collect stale warnings."
        )
        acknowledge(self.interruption_queue, "AwsSolutions-SQS3", stale)
        for rule_id, (source, detail_type) in INTERRUPTION_EVENTS.items():
            events.Rule(
                self,
                f"{rule_id}Rule",
                event_pattern=events.EventPattern(source=[source], detail_type=[detail_type]),
                targets=[targets.SqsQueue(self.interruption_queue)],
            )

        self.node_role = worker_node_role(self, "NodeRole", description=f"{cluster_name}: nodes Karpenter launches")
        eks.AccessEntry(
            self,
            "NodeAccess",
            cluster=cluster,
            principal=self.node_role.role_arn,
            access_entry_type=eks.AccessEntryType.EC2_LINUX,
            access_policies=[],
        )

        self.controller_role = PodIdentityRole(
            self,
            "ControllerIdentity",
            cluster=cluster,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            description="Karpenter controller",
        )
        self.controller_policies = self._attach_controller_policies(stack, cluster_name)
        # Helm installs a chart's crds/ folder on the first install only and never upgrades it, so the CRDs
        # come from upstream's karpenter-crd chart at the same version (the upgrade guide's recommendation) and
        # the controller chart skips its own copy. A cluster whose CRDs the controller chart installed must
        # hand them to the karpenter-crd release once (troubleshooting guide: label managed-by=Helm, annotate
        # the release name and namespace) before this deploys.
        self.crd_chart = eks.HelmChart(
            self,
            "Crds",
            cluster=cluster,
            repository="oci://public.ecr.aws/karpenter/karpenter-crd",
            chart="karpenter-crd",
            release="karpenter-crd",
            version=karpenter.chart_version,
            namespace=NAMESPACE,
            wait=True,
        )
        self.chart = eks.HelmChart(
            self,
            "Chart",
            cluster=cluster,
            repository="oci://public.ecr.aws/karpenter/karpenter",
            chart="karpenter",
            release="karpenter",
            version=karpenter.chart_version,
            namespace=NAMESPACE,
            wait=True,
            skip_crds=True,
            values={
                "serviceAccount": {"name": SERVICE_ACCOUNT},
                "settings": {
                    "clusterName": cluster.cluster_name,
                    "interruptionQueue": self.interruption_queue.queue_name,
                },
                "tolerations": [SYSTEM_TOLERATION],
                "nodeSelector": SYSTEM_NODE_SELECTOR,
                "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},  # the chart's default, declared
            },
        )
        # The controller starts with its permissions: the association and every policy, then the CRDs.
        self.chart.node.add_dependency(self.controller_role.association, *self.controller_policies, self.crd_chart)

        self.pools = [*(headroom_pool(group) for group in node_groups if group.headroom), burst_pool(karpenter)]
        self.manifests: list[dict[str, Any]] = [
            obj
            for pool in self.pools
            for obj in (
                _node_class(pool, cluster_name, self.node_role, cluster.cluster_security_group_id),
                _node_pool(pool),
            )
        ]
        # The id predates the headroom pools. A new id would replace the resource, and deleting the old one
        # deletes the objects it applied, the same NodePools and EC2NodeClasses the new one just applied.
        self.node_pools = eks.KubernetesManifest(self, "GpuCapacity", cluster=cluster, manifest=self.manifests)
        self.node_pools.node.add_dependency(self.chart)

    def _attach_controller_policies(self, stack: cdk.Stack, cluster_name: str) -> list[iam.ManagedPolicy]:
        """Upstream's controller policies as managed policies of the controller's role, each wildcard they name
        acknowledged with what upstream scopes it by."""
        documents = upstream_controller_policies(stack, cluster_name, self.node_role, self.interruption_queue)
        policies = [
            iam.ManagedPolicy(
                self.controller_role,
                name,
                roles=[self.controller_role.role],
                document=iam.PolicyDocument.from_json(doc),
            )
            for name, doc in documents.items()
        ]
        wildcards = {
            resource
            for document in documents.values()
            for statement in document["Statement"]
            for resource in _listed(statement["Resource"])
            if "*" in resource
        }
        acknowledge_all(
            self.controller_role,
            [(f"AwsSolutions-IAM5[Resource::{r}]", _wildcard_reason(r)) for r in sorted(wildcards)],
        )
        return policies


def upstream_controller_policies(
    stack: cdk.Stack, cluster_name: str, node_role: iam.IRole, queue: sqs.IQueue
) -> dict[str, Any]:
    """The vendored controller policies (but UNUSED_POLICIES) for this cluster: the template's `${...}` variables
    replaced by this stack's partition, region and account, the cluster's name, the node role and the queue."""
    values = {
        "AWS::Partition": stack.partition,
        "AWS::Region": stack.region,
        "AWS::AccountId": stack.account,
        "ClusterName": cluster_name,
        "KarpenterNodeRole": node_role.role_arn,
        "KarpenterInterruptionQueue": queue.queue_arn,
    }
    policies = json.dumps(json.loads(CONTROLLER_POLICY.read_text())["policies"])
    text = re.sub(r"\$\{([^}]+)\}", lambda found: values[found[1]], policies)
    return {name: policy["PolicyDocument"] for name, policy in json.loads(text).items() if name not in UNUSED_POLICIES}


def _wildcard_reason(resource: str) -> str:
    """The acknowledgment of a wildcard in upstream's policy, by the kind of resource it names."""
    kind = resource if resource == "*" else resource.rsplit(":", 1)[-1].split("/")[0]
    return WILDCARD_REASONS.get(kind, CREATED_REASON)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _node_class(pool: Pool, cluster_name: str, node_role: iam.IRole, cluster_security_group_id: str) -> dict[str, Any]:
    """The nodes get the cluster security group, as the managed node groups' launch templates give it: it is
    their path to the private API endpoint (443) and the control plane's to their kubelets (10250). The
    tagged `workload` group adds the load balancer, the data tier and the other workloads."""
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": pool.name},
        "spec": {
            # The AL2023 alias resolves the NVIDIA variant for GPU instance types.
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "role": node_role.role_name,
            "subnetSelectorTerms": [{"tags": {DISCOVERY_TAG: cluster_name}}],
            "securityGroupSelectorTerms": [{"id": cluster_security_group_id}, {"tags": {DISCOVERY_TAG: cluster_name}}],
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"},
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {
                        "volumeSize": f"{pool.disk_gib}Gi",
                        "volumeType": "gp3",
                        "encrypted": True,
                        "deleteOnTermination": True,
                    },
                }
            ],
        },
    }


def _node_pool(pool: Pool) -> dict[str, Any]:
    """GPU pools consolidate only empty nodes (jobs run long); the others also repack underused ones."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": pool.name},
        "spec": {
            **({"weight": pool.weight} if pool.weight is not None else {}),
            "template": {
                "metadata": {"labels": dict(pool.labels)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool.name},
                    "requirements": [
                        {
                            "key": "node.kubernetes.io/instance-type",
                            "operator": "In",
                            "values": list(pool.instance_types),
                        },
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [pool.capacity_type]},
                        *(
                            [{"key": "kubernetes.io/arch", "operator": "In", "values": [pool.architecture]}]
                            if pool.architecture
                            else []
                        ),
                    ],
                    **({"taints": [dict(t) for t in pool.taints]} if pool.taints else {}),
                    "expireAfter": "168h",
                },
            },
            "limits": dict(pool.limits),
            "disruption": {
                "consolidationPolicy": "WhenEmpty" if pool.gpu else "WhenEmptyOrUnderutilized",
                "consolidateAfter": "5m",
            },
        },
    }
