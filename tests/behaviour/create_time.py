"""Create-time rules: what AWS services reject when CloudFormation creates a resource, and cfn-lint's
schemas do not know. Each rule is a row of RULES (its source, the scope it aggregates over, its check);
tests/behaviour/test_create_time.py runs every row on every stage and proves each one with a mutation.

A check reads the synthesized templates (tests/behaviour/templates.py) and returns one line per problem,
each naming the stage (construct paths start with it), the resource and what is missing.

Scopes: `stage` rules read one stage's stacks, in every region it deploys to. Quotas and singletons are
per account and region (`region`: every stage sharing an account and region together), IAM names are per
account in every region (`account`), S3 bucket names per partition (`partition`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from environments.schema.ai import has_local_storage
from tests.behaviour.templates import (
    StackTemplate,
    attribute,
    estimate,
    graph,
    json_text,
    literal,
    nested_dicts,
    size,
    target,
)

Scope = Literal["stage", "region", "account", "partition"]
Check = Callable[[Sequence[StackTemplate]], list[str]]


@dataclass(frozen=True)
class Rule:
    """One thing AWS rejects at create time: `summary`, where it is documented, and how to find it."""

    id: str
    summary: str
    source: str
    scope: Scope
    check: Check


def groups(stacks: Sequence[StackTemplate], scope: Scope) -> list[list[StackTemplate]]:
    """`stacks` split by what `scope` counts together."""
    keys: dict[Scope, Callable[[StackTemplate], tuple[str, ...]]] = {
        "stage": lambda s: (s.stage,),
        "region": lambda s: (s.account, s.region),
        "account": lambda s: (s.account,),
        "partition": lambda s: (),
    }
    split: dict[tuple[str, ...], list[StackTemplate]] = defaultdict(list)
    for stack in stacks:
        split[keys[scope](stack)].append(stack)
    return list(split.values())


def _all(stacks: Sequence[StackTemplate], *types: str) -> Iterator[tuple[StackTemplate, str, dict[str, Any]]]:
    for stack in stacks:
        for logical_id, props in stack.of_type(*types):
            yield stack, logical_id, props


def _key(stack: StackTemplate, value: Any, group: Sequence[StackTemplate]) -> str:
    """One spelling for the resource `value` points at (or the literal itself), to compare references."""
    found = target(stack, value, group)
    return f"{found[0].name}/{found[1]}" if found else json.dumps(value, sort_keys=True)


# --- names --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameRule:
    """How a resource type's name must look, and where it must be unique (`unique`; None: not checked)."""

    resource_type: str
    prop: str
    max_length: int
    pattern: str
    unique: Scope | None
    source: str
    min_length: int = 1
    case_insensitive: bool = False


IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
API = "https://docs.aws.amazon.com/"
IAM_NAME = r"^[A-Za-z0-9_+=,.@-]+$"
RDS_NAME = r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]*(?<!-)$"
S3_NAME = (
    r"^(?!xn--|sthree-|amzn-s3-demo-)(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]*[a-z0-9]"
    r"(?<!-s3alias)(?<!--ol-s3)(?<!\.mrap)(?<!--x-s3)(?<!--table-s3)$"
)
ELB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"
"""Load balancer and target group names: letters, digits and inner hyphens."""
ECR_NAME = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
NAME_RULES = (
    NameRule("AWS::IAM::Role", "RoleName", 64, IAM_NAME, "account", IAM_QUOTAS, case_insensitive=True),
    NameRule("AWS::IAM::ManagedPolicy", "ManagedPolicyName", 128, IAM_NAME, "account", IAM_QUOTAS),
    NameRule("AWS::IAM::InstanceProfile", "InstanceProfileName", 128, IAM_NAME, "account", IAM_QUOTAS,
             case_insensitive=True),
    NameRule("AWS::IAM::Policy", "PolicyName", 128, r"^[^\\/*? ]+$", None, IAM_QUOTAS),
    NameRule("AWS::Lambda::Function", "FunctionName", 64, r"^[a-zA-Z0-9_-]+$", "region",
             API + "lambda/latest/api/API_CreateFunction.html"),
    NameRule("AWS::ElastiCache::ReplicationGroup", "ReplicationGroupId", 40, r"^[a-z](?!.*--)[a-z0-9-]*(?<!-)$",
             "region", API + "AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html",
             case_insensitive=True),
    NameRule("AWS::RDS::DBCluster", "DBClusterIdentifier", 63, RDS_NAME, "region",
             API + "AmazonRDS/latest/APIReference/API_CreateDBCluster.html", case_insensitive=True),
    NameRule("AWS::RDS::DBInstance", "DBInstanceIdentifier", 63, RDS_NAME, "region",
             API + "AmazonRDS/latest/APIReference/API_CreateDBInstance.html", case_insensitive=True),
    NameRule("AWS::RDS::DBProxy", "DBProxyName", 64, RDS_NAME, "region",
             API + "AmazonRDS/latest/APIReference/API_CreateDBProxy.html", case_insensitive=True),
    NameRule("AWS::RDS::GlobalCluster", "GlobalClusterIdentifier", 63, r"^[a-zA-Z][0-9A-Za-z:._-]*$", "account",
             API + "AmazonRDS/latest/APIReference/API_CreateGlobalCluster.html"),
    NameRule("AWS::S3::Bucket", "BucketName", 63, S3_NAME, "partition",
             API + "AmazonS3/latest/userguide/bucketnamingrules.html", min_length=3),
    NameRule("AWS::KMS::Alias", "AliasName", 256, r"^alias/(?![aA][wW][sS]/)[a-zA-Z0-9/_-]+$", "region",
             API + "kms/latest/developerguide/alias-create.html"),
    NameRule("AWS::SQS::Queue", "QueueName", 80, r"^[A-Za-z0-9_-]+(\.fifo)?$", "region",
             API + "AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"),
    NameRule("AWS::SNS::Topic", "TopicName", 256, r"^[A-Za-z0-9_-]+(\.fifo)?$", "region",
             API + "sns/latest/api/API_CreateTopic.html"),
    NameRule("AWS::MSK::Cluster", "ClusterName", 64, r"^[0-9A-Za-z][0-9A-Za-z-]*$", "region",
             API + "msk/1.0/apireference/clusters.html"),
    NameRule("AWS::MSK::ServerlessCluster", "ClusterName", 64, r"^[0-9A-Za-z][0-9A-Za-z-]*$", "region",
             API + "msk/1.0/apireference/clusters.html"),
    NameRule("AWS::OpenSearchService::Domain", "DomainName", 28, r"^[a-z][a-z0-9-]+$", "region",
             API + "opensearch-service/latest/APIReference/API_DomainInfo.html", min_length=3),
    NameRule("AWS::Kinesis::Stream", "Name", 128, r"^[a-zA-Z0-9_.-]+$", "region",
             API + "kinesis/latest/APIReference/API_CreateStream.html"),
    NameRule("AWS::KinesisFirehose::DeliveryStream", "DeliveryStreamName", 64, r"^[a-zA-Z0-9._-]+$", "region",
             API + "firehose/latest/APIReference/API_CreateDeliveryStream.html"),
    NameRule("AWS::CloudWatch::Alarm", "AlarmName", 255, r"^[^\x00-\x1f]+$", "region",
             API + "AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"),
    NameRule("AWS::CloudWatch::CompositeAlarm", "AlarmName", 255, r"^[^\x00-\x1f]+$", "region",
             API + "AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"),
    NameRule("AWS::Logs::LogGroup", "LogGroupName", 512, r"^[.\-_/#A-Za-z0-9]+$", "region",
             API + "AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"),
    NameRule("AWS::WAFv2::WebACL", "Name", 128, r"^[0-9A-Za-z_-]+$", "region",
             API + "waf/latest/APIReference/API_CreateWebACL.html"),
    NameRule("AWS::Backup::BackupVault", "BackupVaultName", 50, r"^[a-zA-Z0-9_-]+$", "region",
             API + "aws-backup/latest/devguide/API_CreateBackupVault.html", min_length=2),
    NameRule("AWS::ECR::Repository", "RepositoryName", 256, ECR_NAME, "region",
             API + "AmazonECR/latest/APIReference/API_CreateRepository.html", min_length=2),
    NameRule("AWS::Events::Rule", "Name", 64, r"^[.\-_A-Za-z0-9]+$", None,
             API + "eventbridge/latest/APIReference/API_PutRule.html"),
    NameRule("AWS::Events::EventBus", "Name", 256, r"^[/.\-_A-Za-z0-9]+$", "region",
             API + "eventbridge/latest/APIReference/API_CreateEventBus.html"),
    NameRule("AWS::Events::Archive", "ArchiveName", 48, r"^[.\-_A-Za-z0-9]+$", "region",
             API + "eventbridge/latest/APIReference/API_CreateArchive.html"),
    NameRule("AWS::EKS::Cluster", "Name", 100, r"^[0-9A-Za-z][A-Za-z0-9_-]*$", "region",
             API + "eks/latest/APIReference/API_CreateCluster.html"),
    NameRule("AWS::DynamoDB::Table", "TableName", 255, r"^[a-zA-Z0-9_.-]+$", "region",
             API + "amazondynamodb/latest/APIReference/API_CreateTable.html", min_length=3),
    NameRule("AWS::DynamoDB::GlobalTable", "TableName", 255, r"^[a-zA-Z0-9_.-]+$", "region",
             API + "amazondynamodb/latest/APIReference/API_CreateTable.html", min_length=3),
    NameRule("AWS::SecretsManager::Secret", "Name", 512, r"^[A-Za-z0-9/_+=.@-]+$", "region",
             API + "secretsmanager/latest/apireference/API_CreateSecret.html"),
    NameRule("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name", 32, rf"^(?!internal-){ELB_NAME}", "region",
             API + "elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"),
    NameRule("AWS::ElasticLoadBalancingV2::TargetGroup", "Name", 32, rf"^{ELB_NAME}", "region",
             API + "elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"),
    NameRule("AWS::SageMaker::Endpoint", "EndpointName", 63, r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$", "region",
             "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html"),
    NameRule("AWS::Bedrock::Guardrail", "Name", 50, r"^[0-9a-zA-Z_-]+$", "region",
             "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CreateGuardrail.html"),
    NameRule("AWS::CloudTrail::Trail", "TrailName", 128, r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$", "region",
             API + "awscloudtrail/latest/APIReference/API_CreateTrail.html", min_length=3),
)  # fmt: skip
"""Each type's name limits; `unique` is where AWS keeps one of a name (IAM ignores case, and so does RDS,
which stores identifiers in lowercase)."""


def _named(stacks: Sequence[StackTemplate]) -> Iterator[tuple[NameRule, StackTemplate, str, Any]]:
    by_type = {rule.resource_type: rule for rule in NAME_RULES}
    for stack in stacks:
        for logical_id, resource in stack.resources.items():
            rule = by_type.get(resource["Type"])
            value = resource.get("Properties", {}).get(rule.prop) if rule else None
            if rule and value is not None:
                yield rule, stack, logical_id, value


def name_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Every name the app sets, at its longest, within its type's length and characters (the pattern only
    when the whole name is known before deploy)."""
    problems = []
    for rule, stack, logical_id, value in _named(stacks):
        name = literal(value)
        longest = estimate(value, stack, stacks) if name is None else name
        what = f"{stack.where(logical_id)}: {rule.prop} {name or json.dumps(value)!r}"
        if not rule.min_length <= len(longest) <= rule.max_length:
            problems.append(
                f"{what} can be {len(longest)} characters; {rule.resource_type} allows "
                f"{rule.min_length}-{rule.max_length} ({rule.source})"
            )
        if name is not None and not re.match(rule.pattern, name):
            problems.append(f"{what} does not match {rule.pattern} ({rule.source})")
    return problems


def duplicate_name_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Names the app sets are unique where AWS requires it: IAM per account (in every region, ignoring case),
    regional resources per account and region, buckets per partition."""
    problems = []
    for scope in ("region", "account", "partition"):
        for group in groups(stacks, scope):
            seen: dict[tuple[str, str], str] = {}
            for rule, stack, logical_id, value in _named(group):
                name = literal(value)
                if rule.unique != scope or name is None:
                    continue
                key = (rule.resource_type.split("::")[1], name.lower() if rule.case_insensitive else name)
                if key in seen:
                    problems.append(
                        f"{stack.where(logical_id)}: {rule.prop} {name!r} is also the name of "
                        f"{seen[key]} in {_scope_label(stack, scope)}; CloudFormation fails with "
                        "AlreadyExists"
                    )
                seen.setdefault(key, stack.where(logical_id))
    return problems


def _scope_label(stack: StackTemplate, scope: Scope) -> str:
    return {"region": f"{stack.account}/{stack.region}", "account": stack.account, "partition": "the partition"}[scope]


def global_bucket_name_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A bucket name the app sets includes the account and the region: S3 names are global, and a retained
    bucket keeps its name after its stack is gone, so a name without them collides elsewhere."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::S3::Bucket"):
        if "BucketName" not in props:
            continue
        raw = json.dumps(props["BucketName"])
        for pseudo, actual in (("AWS::AccountId", stack.account), ("AWS::Region", stack.region)):
            if pseudo not in raw and actual not in raw:
                problems.append(
                    f"{stack.where(logical_id)}: bucket name {literal(props['BucketName'])!r} does not "
                    f"include the {pseudo.split('::')[1]} ({actual})"
                )
    return problems


# --- EKS ----------------------------------------------------------------------------------------------------

EKS_VERSIONS = frozenset({"1.32", "1.33", "1.34", "1.35", "1.36"})
"""Offered by EKS in standard or extended support as of 2026-12 (1.31's extended support ended 2026-11-26)."""
EKS_ADDONS = frozenset({
    "vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver", "aws-efs-csi-driver",
    "aws-fsx-csi-driver", "aws-mountpoint-s3-csi-driver", "snapshot-controller", "adot", "aws-guardduty-agent",
    "amazon-cloudwatch-observability", "eks-node-monitoring-agent", "aws-network-flow-monitoring-agent",
    "aws-secrets-store-csi-driver-provider", "metrics-server", "kube-state-metrics", "prometheus-node-exporter",
    "cert-manager", "external-dns", "fluent-bit",
})  # fmt: skip
"""Add-on names EKS offers (AWS add-ons and EKS community add-ons)."""
IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(role|user)/")
NODE_ENTRY_TYPES = frozenset({"EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2"})


def access_entry_principal_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Each access entry names one IAM principal that exists when the entry is created: a role or user the app
    creates, or an ARN from the stage's file (which the loader checked is in the stage's account). One entry
    per principal and cluster."""
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for stack, logical_id, props in _all(stacks, "AWS::EKS::AccessEntry"):
        where, principal = stack.where(logical_id), props.get("PrincipalArn")
        found = target(stack, principal, stacks)
        if found:
            kind = found[0].type_of(found[1])
            if kind not in ("AWS::IAM::Role", "AWS::IAM::User") or attribute(principal) not in ("Arn", ""):
                problems.append(
                    f"{where}: PrincipalArn reads {found[0].where(found[1])} ({kind}), not an IAM role or user's ARN"
                )
        elif _scraper_role(stack, principal):
            pass  # the managed collector's service-linked role, which its scraper creates first
        elif not isinstance(principal, str):
            problems.append(f"{where}: PrincipalArn {json.dumps(principal)} is not a principal the app creates")
        elif not (match := IAM_PRINCIPAL.match(principal)) or match[1] != stack.account or "*" in principal:
            problems.append(f"{where}: PrincipalArn {principal} is not one IAM role or user in {stack.account}")
        elif principal not in stack.stage_arns:
            problems.append(
                f"{where}: PrincipalArn {principal} is neither created by the app nor in {stack.stage}'s "
                "stage file; EKS rejects an access entry whose principal does not exist"
            )
        key = (_key(stack, props.get("ClusterName"), stacks), _key(stack, principal, stacks))
        if key in seen:
            problems.append(f"{where}: {seen[key]} already gives this principal an access entry on this cluster")
        seen.setdefault(key, where)
    return problems


def _scraper_role(stack: StackTemplate, principal: Any) -> bool:
    """Whether `principal` is arn:...:role/<the last part of an AWS::APS::Scraper's RoleArn> in this stack: the
    service-linked role the scraper has once CloudFormation created it (the access entry reads its attribute, so
    it waits for it)."""
    parts = principal.get("Fn::Join", [None, []])[1] if isinstance(principal, dict) else []
    if len(parts) != 2 or not str(parts[0]).endswith(":role/"):
        return False
    select = parts[1].get("Fn::Select") if isinstance(parts[1], dict) else None
    split = select[1].get("Fn::Split") if select and isinstance(select[1], dict) else None
    role = split[1].get("Fn::GetAtt") if split and isinstance(split[1], dict) else None
    return isinstance(role, list) and role[1] == "RoleArn" and stack.type_of(role[0]) == "AWS::APS::Scraper"


def node_role_access_entry_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """No access entry for a managed node group's role: EKS creates that entry itself, and a second one for
    the same principal is rejected."""
    node_roles = {
        _key(stack, props.get("NodeRole"), stacks): stack.where(logical_id)
        for stack, logical_id, props in _all(stacks, "AWS::EKS::Nodegroup")
    }
    return [
        f"{stack.where(logical_id)}: the principal is the node role of {node_roles[principal]}, whose access "
        "entry EKS creates itself"
        for stack, logical_id, props in _all(stacks, "AWS::EKS::AccessEntry")
        if (principal := _key(stack, props.get("PrincipalArn"), stacks)) in node_roles
    ]


def node_access_entry_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A node access entry (EC2_LINUX, EC2_WINDOWS, ...) names a role and carries no access policies or
    Kubernetes groups: EKS assigns the node permissions itself."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::EKS::AccessEntry"):
        if props.get("Type") not in NODE_ENTRY_TYPES:
            continue
        where = stack.where(logical_id)
        for field in ("AccessPolicies", "KubernetesGroups"):
            if props.get(field):
                problems.append(f"{where}: a {props['Type']} access entry takes no {field}")
        principal = props.get("PrincipalArn")
        found = target(stack, principal, stacks)
        is_role = found[0].type_of(found[1]) == "AWS::IAM::Role" if found else ":role/" in str(principal)
        if not is_role:
            problems.append(f"{where}: a {props['Type']} access entry's principal must be an IAM role")
    return problems


def kubernetes_version_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """The cluster's Kubernetes version is one EKS offers."""
    return [
        f"{stack.where(logical_id)}: Kubernetes {props['Version']} is not offered by EKS "
        f"(offered: {', '.join(sorted(EKS_VERSIONS))})"
        for stack, logical_id, props in _all(stacks, "AWS::EKS::Cluster")
        if "Version" in props and props["Version"] not in EKS_VERSIONS
    ]


def addon_name_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Every add-on is one EKS offers."""
    return [
        f"{stack.where(logical_id)}: EKS offers no add-on named {props.get('AddonName')!r}"
        for stack, logical_id, props in _all(stacks, "AWS::EKS::Addon")
        if props.get("AddonName") not in EKS_ADDONS
    ]


def pod_identity_agent_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A cluster with Pod Identity associations runs the eks-pod-identity-agent add-on, which serves the
    credentials (without it, pods bound to a role get none)."""
    agents = {
        _key(stack, props.get("ClusterName"), stacks)
        for stack, _, props in _all(stacks, "AWS::EKS::Addon")
        if props.get("AddonName") == "eks-pod-identity-agent"
    }
    return [
        f"{stack.where(logical_id)}: binds {props.get('Namespace')}/{props.get('ServiceAccount')} to a role, but "
        "its cluster has no eks-pod-identity-agent add-on"
        for stack, logical_id, props in _all(stacks, "AWS::EKS::PodIdentityAssociation")
        if _key(stack, props.get("ClusterName"), stacks) not in agents
    ]


# --- EKS ordering: charts and manifests wait for the nodes (and the CRDs) they need -------------------------

HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
POD_TEMPLATES = {
    "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
"""Where each kind that creates pods keeps the pod spec."""
BUILT_IN_GROUPS = frozenset({
    "", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "scheduling.k8s.io", "storage.k8s.io",
    "rbac.authorization.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "coordination.k8s.io",
    "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
})  # fmt: skip
CRD_SOURCES = {
    "karpenter.sh": (HELM_CHART, "karpenter"),
    "karpenter.k8s.aws": (HELM_CHART, "karpenter"),
    "elbv2.k8s.aws": (HELM_CHART, "aws-load-balancer-controller"),
    "secrets-store.csi.x-k8s.io": (HELM_CHART, "secrets-store-csi-driver"),
    "argoproj.io": (HELM_CHART, "argo-cd"),
    "crd.k8s.amazonaws.com": ("AWS::EKS::Addon", "vpc-cni"),
    "networking.k8s.aws": ("AWS::EKS::Addon", "vpc-cni"),
    "snapshot.storage.k8s.io": ("AWS::EKS::Addon", "snapshot-controller"),
    "vpcresources.k8s.aws": ("AWS::EKS::Cluster", ""),
}
"""API group -> what installs its CustomResourceDefinitions: a chart or an add-on (by name), or EKS itself
with the cluster (SecurityGroupPolicy)."""
INSTALLERS = {HELM_CHART: "chart", "AWS::EKS::Addon": "add-on", "AWS::EKS::Cluster": "cluster"}
CHART_PLACEMENT = {"secrets-store-csi-driver": "linux", "argo-cd": "global"}
"""Charts that read their pods' nodeSelector and tolerations under this key of their values, not at the top
(the driver's `linux.*`; Argo CD's `global.*`, which every component falls back to)."""
WELL_KNOWN_LABELS = {"kubernetes.io/os": "linux"}
EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
INSTANCE_TYPE = "node.kubernetes.io/instance-type"


@dataclass(frozen=True)
class Nodes:
    """Something that provides nodes: a managed node group or a Karpenter NodePool (the manifest holding it).
    `fixed` is the nodes a managed group always keeps; `node_class` a NodePool's EC2NodeClass; `instance_types`
    what it launches."""

    logical_id: str
    name: str
    labels: dict[str, str]
    taints: tuple[tuple[str, str, str], ...]
    fixed: int = 0
    node_class: str = ""
    instance_types: tuple[str, ...] = ()

    def run(self, placement: dict[str, Any]) -> bool:
        """Whether a pod with this nodeSelector and these tolerations can be scheduled on these nodes."""
        labels = {**WELL_KNOWN_LABELS, **self.labels}
        if any(labels.get(key) != value for key, value in (placement.get("nodeSelector") or {}).items()):
            return False
        tolerations = placement.get("tolerations") or []
        return all(
            any(_tolerates(toleration, taint) for toleration in tolerations)
            for taint in self.taints
            if taint[2] != "PreferNoSchedule"
        )


def _tolerates(toleration: dict[str, Any], taint: tuple[str, str, str]) -> bool:
    key, value, effect = taint
    if toleration.get("effect") not in (None, "", effect):
        return False
    if toleration.get("operator") == "Exists":
        return toleration.get("key") in (None, "", key)
    return bool(toleration.get("key") == key and toleration.get("value", "") == value)


def node_providers(stack: StackTemplate) -> list[Nodes]:
    """The stack's managed node groups and Karpenter NodePools."""
    providers = [
        Nodes(
            logical_id,
            f"node group {stack.where(logical_id)}",
            dict(props.get("Labels") or {}),
            tuple(
                (t["Key"], t.get("Value", ""), EFFECTS.get(t["Effect"], t["Effect"])) for t in props.get("Taints", [])
            ),
            fixed=int(props.get("ScalingConfig", {}).get("MinSize", 0)),
            instance_types=tuple(props.get("InstanceTypes", [])),
        )
        for logical_id, props in stack.of_type("AWS::EKS::Nodegroup")
    ]
    for logical_id, props in stack.of_type(MANIFEST):
        for obj in json_text(props.get("Manifest")) or []:
            if obj.get("kind") == "NodePool" and obj.get("apiVersion", "").startswith("karpenter.sh/"):
                template = obj.get("spec", {}).get("template", {})
                spec = template.get("spec", {})
                types = [r.get("values", []) for r in spec.get("requirements", []) if r.get("key") == INSTANCE_TYPE]
                providers.append(
                    Nodes(
                        logical_id,
                        f"Karpenter NodePool {obj['metadata']['name']} ({stack.where(logical_id)})",
                        dict(template.get("metadata", {}).get("labels", {})),
                        tuple((t["key"], t.get("value", ""), t["effect"]) for t in spec.get("taints", [])),
                        node_class=spec.get("nodeClassRef", {}).get("name", ""),
                        instance_types=tuple(t for values in types for t in values),
                    )
                )
    return providers


POD_FREE_CHARTS = {
    "karpenter-crd": "only CustomResourceDefinitions (aws/karpenter-provider-aws charts/karpenter-crd/templates)",
}
"""Charts that create no pods, so they need no nodes, with what they hold instead."""


def _pods(stack: StackTemplate, logical_id: str, props: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(what, placement) of the pods a chart or manifest creates; a chart's placement is in its values."""
    if stack.type_of(logical_id) == HELM_CHART:
        if props.get("Chart") in POD_FREE_CHARTS:
            return []
        values = json_text(props.get("Values", "{}")) or {}
        key = CHART_PLACEMENT.get(str(props.get("Chart")))
        return [(f"Helm chart {props.get('Chart')!r}", values.get(key, {}) if key else values)]
    pods = []
    for obj in json_text(props.get("Manifest")) or []:
        path = POD_TEMPLATES.get(obj.get("kind", ""))
        if path:
            spec: Any = obj
            for part in path:
                spec = spec.get(part, {})
            pods.append((f"{obj['kind']} {obj.get('metadata', {}).get('name')}", spec))
    return pods


def _placement(placement: dict[str, Any]) -> str:
    selector = ", ".join(f"{k}={v}" for k, v in (placement.get("nodeSelector") or {}).items()) or "any node"
    tolerated = ", ".join(str(t.get("key", "*")) for t in placement.get("tolerations") or []) or "no taints"
    return f"nodeSelector {selector}; tolerates {tolerated}"


def node_ordering_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Every Helm chart and every manifest that creates pods depends, directly or through others, on a node
    group or Karpenter NodePool that can run them (by nodeSelector and tolerations; affinities are not
    modelled). Without it CloudFormation installs the chart while the nodes are still being created, and
    `helm --wait` times out on a first deploy."""
    problems = []
    for stack in stacks:
        providers, dependencies = node_providers(stack), graph(stack)
        for logical_id, props in stack.of_type(HELM_CHART, MANIFEST):
            unreadable = [key for key in ("Values", "Manifest") if key in props and json_text(props[key]) is None]
            problems += [
                f"{stack.where(logical_id)}: its {key} is not JSON; its pods cannot be checked" for key in unreadable
            ]
            for what, placement in [] if unreadable else _pods(stack, logical_id, props):
                able = [p for p in providers if p.run(placement)]
                where = f"{stack.where(logical_id)}: {what} ({_placement(placement)})"
                if not able:
                    problems.append(f"{where}: no node group or NodePool in {stack.name} can run its pods")
                elif not dependencies.reaches(logical_id, {p.logical_id for p in able}):
                    problems.append(
                        f"{where} depends on none of the nodes that can run it: {'; '.join(p.name for p in able)}"
                    )
    return problems


def crd_ordering_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A manifest with custom resources depends on the chart or add-on that installs their CRDs: the API
    server rejects an object whose kind does not exist yet ("no matches for kind")."""
    problems = []
    for stack in stacks:
        installers: dict[tuple[str, str], set[str]] = defaultdict(set)
        for logical_id, props in stack.of_type(*INSTALLERS):
            name = props.get("Chart") or props.get("AddonName") or ""
            installers[(stack.type_of(logical_id), str(name))].add(logical_id)
        for logical_id, props in stack.of_type(MANIFEST):
            for obj in json_text(props.get("Manifest")) or []:
                group = obj.get("apiVersion", "").rpartition("/")[0]
                if group in BUILT_IN_GROUPS:
                    continue
                what = f"{stack.where(logical_id)}: {obj.get('kind')} {obj.get('metadata', {}).get('name')} ({group})"
                source = CRD_SOURCES.get(group)
                kind = INSTALLERS[source[0]] if source else ""
                if source is None:
                    problems.append(f"{what}: nothing is known to install the CRDs of {group} (CRD_SOURCES)")
                elif not installers[source]:
                    problems.append(f"{what}: needs the {source[1]} {kind} for its CRDs, and {stack.name} has none")
                elif not graph(stack).reaches(logical_id, installers[source]):
                    problems.append(f"{what}: does not depend on the {source[1]} {kind}, which installs its CRDs")
    return problems


PREREQUISITES = (
    (
        "AWS::Config::DeliveryChannel",
        "AWS::Config::ConfigurationRecorder",
        "https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html",
    ),
    (
        "AWS::Config::ConfigRule",
        "AWS::Config::ConfigurationRecorder",
        "https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigRule.html",
    ),
    (
        "AWS::SecurityHub::Standard",
        "AWS::SecurityHub::Hub",
        "https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchEnableStandards.html",
    ),
)
"""(resource, what must exist before it, source): AWS rejects the first while the second is missing."""


def prerequisite_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A resource whose prerequisite is in the same stack depends on it (otherwise CloudFormation creates
    both at once, and the first call fails)."""
    problems = []
    for stack in stacks:
        for dependent, prerequisite, source in PREREQUISITES:
            needed = {logical_id for logical_id, _ in stack.of_type(prerequisite)}
            problems += [
                f"{stack.where(logical_id)}: does not depend on the {prerequisite} it needs ({source})"
                for logical_id, _ in stack.of_type(dependent)
                if needed and not graph(stack).reaches(logical_id, needed)
            ]
    return problems


# --- IAM ----------------------------------------------------------------------------------------------------

MANAGED_POLICY_SIZE = 6144
INLINE_POLICIES_PER_ROLE = 10240
MANAGED_POLICIES_PER_ROLE = 10
TRUST_POLICY_SIZE = 2048


def managed_policy_size_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A customer-managed policy document is at most 6,144 characters (whitespace not counted)."""
    return [
        f"{stack.where(logical_id)}: the policy can be {length} characters, over IAM's {MANAGED_POLICY_SIZE}"
        for stack, logical_id, props in _all(stacks, "AWS::IAM::ManagedPolicy")
        if (length := size(props.get("PolicyDocument"), stack, stacks)) > MANAGED_POLICY_SIZE
    ]


def _role_policies(stacks: Sequence[StackTemplate]) -> dict[tuple[str, str], list[tuple[StackTemplate, str, str]]]:
    """(role's stack, role) -> (policy's stack, policy, kind) for every policy attached to it."""
    attached = defaultdict(list)
    for stack, logical_id, props in _all(stacks, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for role in props.get("Roles", []):
            found = target(stack, role, stacks)
            if found:
                attached[(found[0].name, found[1])].append((stack, logical_id, stack.type_of(logical_id)))
    for stack, logical_id, props in _all(stacks, "AWS::IAM::RolePolicy"):
        found = target(stack, props.get("RoleName"), stacks)
        if found:
            attached[(found[0].name, found[1])].append((stack, logical_id, "AWS::IAM::Policy"))
    return attached


def inline_policy_size_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """All inline policies of one role together are at most 10,240 characters."""
    attached = _role_policies(stacks)
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::IAM::Role"):
        total = sum(size(p.get("PolicyDocument"), stack, stacks) for p in props.get("Policies", []))
        total += sum(
            size(policy_stack.resources[policy]["Properties"]["PolicyDocument"], policy_stack, stacks)
            for policy_stack, policy, kind in attached[(stack.name, logical_id)]
            if kind == "AWS::IAM::Policy"
        )
        if total > INLINE_POLICIES_PER_ROLE:
            problems.append(
                f"{stack.where(logical_id)}: its inline policies can be {total} characters together, "
                f"over IAM's {INLINE_POLICIES_PER_ROLE} per role"
            )
    return problems


def managed_policy_count_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """At most 10 managed policies per role (the default quota)."""
    attached = _role_policies(stacks)
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::IAM::Role"):
        count = len(props.get("ManagedPolicyArns", [])) + sum(
            kind == "AWS::IAM::ManagedPolicy" for _, _, kind in attached[(stack.name, logical_id)]
        )
        if count > MANAGED_POLICIES_PER_ROLE:
            problems.append(
                f"{stack.where(logical_id)}: {count} managed policies, over IAM's default quota of "
                f"{MANAGED_POLICIES_PER_ROLE} per role"
            )
    return problems


def trust_policy_size_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A role's trust policy is at most 2,048 characters (the default quota)."""
    return [
        f"{stack.where(logical_id)}: the trust policy can be {length} characters, over IAM's {TRUST_POLICY_SIZE}"
        for stack, logical_id, props in _all(stacks, "AWS::IAM::Role")
        if (length := size(props.get("AssumeRolePolicyDocument"), stack, stacks)) > TRUST_POLICY_SIZE
    ]


# --- Lambda -------------------------------------------------------------------------------------------------

ACCOUNT_CONCURRENCY = 1000
"""Lambda's default concurrent executions per account and region."""
UNRESERVED_MINIMUM = 100
"""What Lambda keeps unreserved: PutFunctionConcurrency fails when reserving more would leave less."""


def reserved_concurrency_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """The functions of one account and region reserve at most 1,000 - 100 concurrent executions together."""
    reserved = [
        (stack.where(logical_id), int(props["ReservedConcurrentExecutions"]))
        for stack, logical_id, props in _all(stacks, "AWS::Lambda::Function")
        if isinstance(props.get("ReservedConcurrentExecutions"), int)
    ]
    total, limit = sum(n for _, n in reserved), ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM
    if total <= limit:
        return []
    where = f"{stacks[0].account}/{stacks[0].region}"
    listed = ", ".join(f"{path}={n}" for path, n in reserved)
    return [
        f"{where}: functions reserve {total} concurrent executions together ({listed}); at most {limit} "
        f"fit an account of {ACCOUNT_CONCURRENCY}, which keeps {UNRESERVED_MINIMUM} unreserved"
    ]


# --- ElastiCache, RDS ---------------------------------------------------------------------------------------

AUTH_PUNCTUATION = frozenset("!&#$^<>-")
"""The only punctuation an ElastiCache AUTH token may contain."""


def cache_auth_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """AUTH needs in-transit encryption; a generated token is 16-128 printable characters with no
    punctuation but `! & # $ ^ < > -`."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::ElastiCache::ReplicationGroup"):
        if "AuthToken" not in props:
            continue
        where = stack.where(logical_id)
        if props.get("TransitEncryptionEnabled") is not True:
            problems.append(f"{where}: AuthToken is set without TransitEncryptionEnabled: true")
        secret = next((s for s in _resolved_secrets(stack, props["AuthToken"])), None)
        generator = secret.get("GenerateSecretString") if secret else None
        if generator is None:
            continue
        length = generator.get("PasswordLength", 32)
        if not 16 <= length <= 128:
            problems.append(f"{where}: the generated AUTH token is {length} characters; AUTH takes 16-128")
        excluded = set(generator.get("ExcludeCharacters", ""))
        allowed = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") - excluded
        if not generator.get("ExcludePunctuation") and allowed - AUTH_PUNCTUATION:
            problems.append(
                f"{where}: the generated AUTH token may contain {''.join(sorted(allowed - AUTH_PUNCTUATION))}"
                f", which AUTH rejects"
            )
    return problems


def _resolved_secrets(stack: StackTemplate, value: Any) -> Iterator[dict[str, Any]]:
    """The properties of the Secrets Manager secrets a `{{resolve:secretsmanager:...}}` value reads."""
    parts = value["Fn::Join"][1] if isinstance(value, dict) and "Fn::Join" in value else [value]
    for part in parts:
        found = target(stack, part, [stack])
        if found and found[0].type_of(found[1]) == "AWS::SecretsManager::Secret":
            yield found[0].resources[found[1]].get("Properties", {})


def serverless_capacity_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Aurora Serverless v2 capacity: 0 <= min <= max, 1 <= max <= 256 ACUs, both in steps of 0.5."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::RDS::DBCluster"):
        scaling = props.get("ServerlessV2ScalingConfiguration")
        if not scaling:
            continue
        low, high = scaling.get("MinCapacity", 0.5), scaling.get("MaxCapacity", 0)
        if not (0 <= low <= high and 1 <= high <= 256 and float(low * 2).is_integer() and float(high * 2).is_integer()):
            problems.append(
                f"{stack.where(logical_id)}: Serverless v2 capacity {low}-{high} ACUs; RDS takes "
                "0 <= min <= max, a max of 1-256, in steps of 0.5"
            )
    return problems


def global_database_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """The clusters of one Aurora global database have names unique across every region of the account."""
    seen: dict[str, str] = {}
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::RDS::DBCluster"):
        name = literal(props.get("DBClusterIdentifier"))
        member = "GlobalClusterIdentifier" in props or any(
            _key(s, p.get("SourceDBClusterIdentifier"), stacks) == f"{stack.name}/{logical_id}"
            for s, _, p in _all(stacks, "AWS::RDS::GlobalCluster")
        )
        if member and name:
            if name.lower() in seen:
                problems.append(
                    f"{stack.where(logical_id)}: cluster {name!r} has the name of {seen[name.lower()]}, "
                    "and a global database's clusters need names unique across regions"
                )
            seen.setdefault(name.lower(), stack.where(logical_id))
    return problems


# --- SQS, SNS, DynamoDB -------------------------------------------------------------------------------------


def fifo_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A FIFO queue or topic is named `*.fifo` (and only a FIFO one is), and a FIFO queue's dead-letter queue is
    FIFO too."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::SQS::Queue", "AWS::SNS::Topic"):
        fifo = bool(props.get("FifoQueue") or props.get("FifoTopic"))
        name = literal(props.get("QueueName") or props.get("TopicName"))
        where = stack.where(logical_id)
        if name is not None and name.endswith(".fifo") != fifo:
            problems.append(f"{where}: {name!r} " + ("lacks the .fifo suffix" if fifo else "is not a FIFO queue"))
        dead_letters = target(stack, (props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"), stacks)
        if dead_letters:
            dlq_fifo = bool(dead_letters[0].resources[dead_letters[1]].get("Properties", {}).get("FifoQueue"))
            if dlq_fifo != fifo:
                problems.append(
                    f"{where}: its dead-letter queue {dead_letters[0].where(dead_letters[1])} is "
                    f"{'FIFO' if dlq_fifo else 'standard'} and the queue is not"
                )
    return problems


def global_table_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A global table lists a replica in the stack's own region, and one with several replicas has a stream."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::DynamoDB::GlobalTable"):
        replicas = props.get("Replicas", [])
        regions = {json.dumps(r.get("Region")) for r in replicas}
        if not regions & {json.dumps(stack.region), json.dumps({"Ref": "AWS::Region"})}:
            problems.append(f"{stack.where(logical_id)}: no replica in {stack.region}, the stack's region")
        if len(replicas) > 1 and "StreamSpecification" not in props:
            problems.append(f"{stack.where(logical_id)}: {len(replicas)} replicas need a StreamSpecification")
    return problems


# --- MSK, OpenSearch ----------------------------------------------------------------------------------------


def kafka_broker_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """MSK spreads brokers evenly: 2 or 3 client subnets, and a broker count that is a multiple of them."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::MSK::Cluster"):
        subnets = len(props.get("BrokerNodeGroupInfo", {}).get("ClientSubnets", []))
        brokers = props.get("NumberOfBrokerNodes", 0)
        if subnets not in (2, 3) or brokers % subnets:
            problems.append(
                f"{stack.where(logical_id)}: {brokers} brokers over {subnets} client subnets; MSK "
                "needs 2 or 3 subnets and a multiple of them"
            )
    return problems


MSK_MAX_TIMEOUT = 840
"""Seconds: event source mappings for MSK invoke only functions with a timeout of 14 minutes or less."""
POLLERS = {"MinimumPollers": (1, 200), "MaximumPollers": (1, 2000)}
"""ProvisionedPollerConfig's bounds for Kafka sources (Lambda API, ProvisionedPollerConfig)."""


def kafka_event_source_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """An MSK event source mapping: its function's timeout at most 14 minutes, pollers within their bounds
    with the minimum at most the maximum, and, without a secret, a cluster that accepts IAM authentication."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::Lambda::EventSourceMapping"):
        source = target(stack, props.get("EventSourceArn"), stacks)
        if source is None or source[0].type_of(source[1]) not in ("AWS::MSK::Cluster", "AWS::MSK::ServerlessCluster"):
            continue
        where = stack.where(logical_id)
        function = target(stack, props.get("FunctionName"), stacks)
        if function is not None:
            timeout = function[0].resources[function[1]].get("Properties", {}).get("Timeout", 3)
            if isinstance(timeout, int) and timeout > MSK_MAX_TIMEOUT:
                problems.append(f"{where}: its function's timeout {timeout} s is over MSK's {MSK_MAX_TIMEOUT} s")
        pollers = props.get("ProvisionedPollerConfig", {})
        for key, (low, high) in POLLERS.items():
            if key in pollers and not low <= pollers[key] <= high:
                problems.append(f"{where}: {key} {pollers[key]} is outside {low}-{high}")
        if pollers.get("MinimumPollers", 1) > pollers.get("MaximumPollers", 200):
            problems.append(f"{where}: MinimumPollers is above MaximumPollers")
        cluster = source[0].resources[source[1]].get("Properties", {})
        iam = cluster.get("ClientAuthentication", {}).get("Sasl", {}).get("Iam", {}).get("Enabled")
        if not props.get("SourceAccessConfigurations") and iam is not True:
            problems.append(f"{where}: no secret and a cluster without IAM authentication to connect with")
    return problems


def search_domain_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Zone awareness over 2 or 3 AZs with one subnet per AZ and data nodes in multiples of the AZs (one
    subnet without it); dedicated masters only when enabled, and then 3 or 5 or more, never 4."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::OpenSearchService::Domain"):
        cluster, where = props.get("ClusterConfig", {}), stack.where(logical_id)
        subnets = len(props.get("VPCOptions", {}).get("SubnetIds", []))
        nodes = cluster.get("InstanceCount", 1)
        if cluster.get("ZoneAwarenessEnabled"):
            zones = cluster.get("ZoneAwarenessConfig", {}).get("AvailabilityZoneCount", 2)
            if zones not in (2, 3) or nodes % zones or (subnets and subnets != zones):
                problems.append(
                    f"{where}: {nodes} data nodes and {subnets} subnets over {zones} AZs; zone awareness "
                    "needs 2 or 3 AZs, one subnet each and a multiple of them in nodes"
                )
        elif subnets > 1:
            problems.append(f"{where}: {subnets} subnets without zone awareness, which takes exactly one")
        masters = cluster.get("DedicatedMasterCount")
        if masters is not None and not cluster.get("DedicatedMasterEnabled"):
            problems.append(f"{where}: DedicatedMasterCount without DedicatedMasterEnabled")
        elif (cluster.get("DedicatedMasterEnabled") and (masters or 3) < 3) or masters == 4:
            problems.append(f"{where}: {masters} dedicated masters; OpenSearch takes 3, or 5 and more")
    return problems


# --- names global across regions, Route 53, CloudFront origin groups ---------------------------------------

ROUTE53_API = "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html"
ROUTE53_POLICIES = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy.html"
CLOUDFRONT_QUOTAS = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html"
ACCOUNT_WIDE_NAMES = {
    "AWS::CloudFront::ResponseHeadersPolicy": ("ResponseHeadersPolicyConfig", "Name"),
    "AWS::CloudFront::OriginAccessControl": ("OriginAccessControlConfig", "Name"),
    "AWS::CloudFront::CachePolicy": ("CachePolicyConfig", "Name"),
    "AWS::CloudFront::OriginRequestPolicy": ("OriginRequestPolicyConfig", "Name"),
    "AWS::CloudFront::Function": ("Name",),
}
"""CloudFront's named configurations: global, one of a name per account whatever the stack's region."""


def _record_key(props: Mapping[str, Any]) -> tuple[str, str, str]:
    """(zone, name, type) of a record set: Route 53 ignores case and a trailing dot."""
    zone = literal(props.get("HostedZoneId")) or json.dumps(props.get("HostedZoneId") or props.get("HostedZoneName"))
    name = (literal(props.get("Name")) or json.dumps(props.get("Name"))).lower().rstrip(".")
    return zone, name, str(props.get("Type"))


def global_name_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Names that are global, whichever region's stack sets them, are set once: a record set by zone, name,
    type and SetIdentifier (Route 53 zones are global, so every region's stacks write into the same ones), and
    CloudFront's named configurations per account. (IAM and S3 names: the unique-names rule.)"""
    problems = []
    seen: dict[tuple[str, ...], str] = {}
    for stack, logical_id, props in _all(stacks, "AWS::Route53::RecordSet"):
        key = ("record", *_record_key(props), str(props.get("SetIdentifier", "")))
        if key in seen:
            problems.append(
                f"{stack.where(logical_id)}: record {key[2]} {key[3]} (set {key[4] or 'none'}) in zone {key[1]} is "
                f"also {seen[key]}; Route 53 rejects the second ({ROUTE53_API})"
            )
        seen.setdefault(key, stack.where(logical_id))
    for resource_type, path in ACCOUNT_WIDE_NAMES.items():
        for stack, logical_id, props in _all(stacks, resource_type):
            value: Any = props
            for step in path:
                value = value.get(step, {}) if isinstance(value, dict) else {}
            name = literal(value)
            if name is None:
                continue
            name_key = (resource_type, stack.account, name)
            if name_key in seen:
                problems.append(
                    f"{stack.where(logical_id)}: {resource_type} name {name!r} is also {seen[name_key]}'s in account "
                    f"{stack.account}; CloudFront names are global ({CLOUDFRONT_QUOTAS})"
                )
            seen.setdefault(name_key, stack.where(logical_id))
    return problems


def _routing_policy(props: Mapping[str, Any]) -> str:
    for prop, policy in (
        ("Failover", "failover"),
        ("Region", "latency"),
        ("Weight", "weighted"),
        ("GeoLocation", "geolocation"),
        ("GeoProximityLocation", "geoproximity"),
        ("CidrRoutingConfig", "ip-based"),
        ("MultiValueAnswer", "multivalue"),
    ):
        if prop in props:
            return policy
    return "simple"


def route53_record_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """What ChangeResourceRecordSets rejects across the records of one name and type (in any stack or region):
    one routing policy for all of them; a SetIdentifier on every record of a routing policy and on none of a
    simple one (two simple ones: the global-names rule); one PRIMARY and one SECONDARY failover record; one
    latency record per region. An alias names its target's zone: an ALB's own (CanonicalHostedZoneID, per
    region), or the record's zone for a record there, which must exist; no EvaluateTargetHealth on a CloudFront
    alias; a HealthCheckId refers to a health check the templates create."""
    problems = []
    named: dict[tuple[str, str, str], list[tuple[StackTemplate, str, dict[str, Any]]]] = defaultdict(list)
    for stack, logical_id, props in _all(stacks, "AWS::Route53::RecordSet"):
        named[_record_key(props)].append((stack, logical_id, props))
    for (_, name, record_type), records in named.items():
        policies = {_routing_policy(props) for _, _, props in records}
        first = records[0][0].where(records[0][1])
        if len(policies) > 1:
            problems.append(
                f"{first}: {name} {record_type} mixes routing policies {sorted(policies)} ({ROUTE53_POLICIES})"
            )
        for stack, logical_id, props in records:
            where, policy = stack.where(logical_id), _routing_policy(props)
            if (policy == "simple") == ("SetIdentifier" in props):
                problems.append(
                    f"{where}: a {policy} record {'with' if policy == 'simple' else 'without'} SetIdentifier"
                )
        for prop in ("Failover", "Region"):
            values = [str(props[prop]) for _, _, props in records if prop in props]
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                problems.append(f"{first}: {name} {record_type} has {prop} {repeated} more than once ({ROUTE53_API})")
    for stack, logical_id, props in _all(stacks, "AWS::Route53::RecordSet"):
        where, alias = stack.where(logical_id), props.get("AliasTarget")
        health_check = props.get("HealthCheckId")
        if health_check is not None:
            found = target(stack, health_check, stacks)
            if not (found and found[0].type_of(found[1]) == "AWS::Route53::HealthCheck"):
                problems.append(f"{where}: HealthCheckId {json.dumps(health_check)} is no health check of the stage")
        if not alias:
            continue
        dns, zone_id = alias.get("DNSName"), alias.get("HostedZoneId")
        balancer = next(
            (found for value in nested_dicts(dns) if (found := target(stack, value, stacks))
             and found[0].type_of(found[1]) == "AWS::ElasticLoadBalancingV2::LoadBalancer"),
            None,
        )  # fmt: skip
        if balancer and not (
            target(stack, zone_id, stacks) == balancer and attribute(zone_id) == "CanonicalHostedZoneID"
        ):
            problems.append(f"{where}: an alias of {balancer[0].where(balancer[1])} with HostedZoneId "
                            f"{json.dumps(zone_id)}, not that load balancer's CanonicalHostedZoneID")  # fmt: skip
        if "CloudFront" in json.dumps(zone_id) and alias.get("EvaluateTargetHealth"):
            problems.append(f"{where}: EvaluateTargetHealth on a CloudFront alias")
        if literal(zone_id) is not None and literal(zone_id) == _record_key(props)[0] and literal(dns):
            wanted = (literal(zone_id) or "", (literal(dns) or "").lower().rstrip("."), str(props.get("Type")))
            if wanted not in named:
                problems.append(f"{where}: an alias of {wanted[1]} {wanted[2]}, which no stack of the stage creates")
    return problems


ORIGIN_GROUP_METHODS = ({"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"})
ORIGIN_GROUP_STATUS_CODES = frozenset({400, 403, 404, 416, 500, 502, 503, 504})


def origin_group_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A CloudFront origin group has exactly two members, both origins of its distribution, fails over on the
    status codes CloudFront offers, and serves only behaviours that allow GET and HEAD (and OPTIONS): CloudFront
    rejects a behaviour with POST, PUT, PATCH or DELETE that targets an origin group."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::CloudFront::Distribution"):
        config, where = props.get("DistributionConfig", {}), stack.where(logical_id)
        origins = {origin.get("Id") for origin in config.get("Origins", [])}
        groups = {group.get("Id"): group for group in config.get("OriginGroups", {}).get("Items", [])}
        for group_id, group in groups.items():
            members = [m.get("OriginId") for m in group.get("Members", {}).get("Items", [])]
            if len(members) != 2 or group.get("Members", {}).get("Quantity") != 2:
                problems.append(f"{where}: origin group {group_id} has {len(members)} members, not 2")
            if missing := [member for member in members if member not in origins]:
                problems.append(f"{where}: origin group {group_id} names {missing}, not origins of the distribution")
            codes = set(group.get("FailoverCriteria", {}).get("StatusCodes", {}).get("Items", []))
            if not codes or codes - ORIGIN_GROUP_STATUS_CODES:
                problems.append(f"{where}: origin group {group_id} fails over on {sorted(codes)}")
        behaviours = [config.get("DefaultCacheBehavior", {}), *config.get("CacheBehaviors", [])]
        for behaviour in behaviours:
            methods = set(behaviour.get("AllowedMethods", ["GET", "HEAD"]))
            if behaviour.get("TargetOriginId") in groups and methods not in ORIGIN_GROUP_METHODS:
                problems.append(
                    f"{where}: behaviour {behaviour.get('PathPattern', 'default')} allows {sorted(methods)} on "
                    f"origin group {behaviour.get('TargetOriginId')}; CloudFront allows only GET, HEAD (OPTIONS)"
                )
    return problems


# --- WAF, ACM, CloudFront -----------------------------------------------------------------------------------

CLOUDFRONT_REGION = "us-east-1"


def cloudfront_region_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """CLOUDFRONT-scope web ACLs are created in us-east-1 only; a distribution's certificate is in us-east-1
    and its web ACL is CLOUDFRONT-scope; a DNS-validated certificate names a hosted zone for every domain, or
    CloudFormation waits for validation records nobody writes."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::WAFv2::WebACL"):
        if props.get("Scope") == "CLOUDFRONT" and stack.region != CLOUDFRONT_REGION:
            problems.append(f"{stack.where(logical_id)}: a CLOUDFRONT web ACL in {stack.region}, not us-east-1")
    for stack, logical_id, props in _all(stacks, "AWS::CloudFront::Distribution"):
        config, where = props.get("DistributionConfig", {}), stack.where(logical_id)
        certificate = config.get("ViewerCertificate", {}).get("AcmCertificateArn")
        found = target(stack, certificate, stacks)
        region = found[0].region if found else (literal(certificate) or "").split(":")[3:4]
        if certificate is not None and region not in (CLOUDFRONT_REGION, [CLOUDFRONT_REGION]):
            problems.append(f"{where}: its certificate is not in us-east-1")
        acl = target(stack, config.get("WebACLId"), stacks)
        if acl and acl[0].resources[acl[1]].get("Properties", {}).get("Scope") != "CLOUDFRONT":
            problems.append(f"{where}: web ACL {acl[0].where(acl[1])} is not CLOUDFRONT-scope")
    for stack, logical_id, props in _all(stacks, "AWS::CertificateManager::Certificate"):
        if props.get("ValidationMethod") != "DNS":
            continue
        zoned = {o.get("DomainName") for o in props.get("DomainValidationOptions", []) if o.get("HostedZoneId")}
        for domain in [props.get("DomainName"), *props.get("SubjectAlternativeNames", [])]:
            if domain not in zoned:
                problems.append(
                    f"{stack.where(logical_id)}: {domain} has no DomainValidationOptions entry with a "
                    "HostedZoneId; the stack would wait for a validation record"
                )
    return problems


# --- Elastic Load Balancing, security groups ---------------------------------------------------------------

CONDITION_VALUES = 3
RULE_VALUES = 5
"""ALB listener rules: at most 3 values per condition and 5 in all conditions of a rule."""
CONDITION_VALUE_KEYS = {
    "host-header": ("HostHeaderConfig", "Values"),
    "path-pattern": ("PathPatternConfig", "Values"),
    "http-header": ("HttpHeaderConfig", "Values"),
    "http-request-method": ("HttpRequestMethodConfig", "Values"),
    "query-string": ("QueryStringConfig", "Values"),
    "source-ip": ("SourceIpConfig", "Values"),
}


def listener_rule_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """An ALB listener rule has at most 3 values per condition and 5 over all its conditions, and a priority
    no other rule of its listener has (CreateRule fails with TooManyConditionValues or PriorityInUse)."""
    problems = []
    for stack in stacks:
        priorities: dict[tuple[str, Any], str] = {}
        for logical_id, props in stack.of_type("AWS::ElasticLoadBalancingV2::ListenerRule"):
            where = stack.where(logical_id)
            counts = []
            for condition in props.get("Conditions", []):
                config_key, values_key = CONDITION_VALUE_KEYS.get(condition.get("Field"), ("", "Values"))
                values = condition.get(config_key, {}).get(values_key) or condition.get("Values", [])
                counts.append(len(values))
                if len(values) > CONDITION_VALUES:
                    problems.append(f"{where}: a {condition.get('Field')} condition with {len(values)} values")
            if sum(counts) > RULE_VALUES:
                problems.append(f"{where}: {sum(counts)} condition values in one rule")
            key = (_key(stack, props.get("ListenerArn"), stacks), props.get("Priority"))
            if key in priorities:
                problems.append(f"{where}: priority {props.get('Priority')} is also {priorities[key]}'s")
            priorities.setdefault(key, where)
    return problems


def access_log_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A load balancer that logs to S3 writes to a bucket with S3-managed keys whose policy it depends on:
    ELB checks it can write there when the attribute is set, and delivers to no SSE-KMS bucket."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        attributes = {a.get("Key"): a.get("Value") for a in props.get("LoadBalancerAttributes", [])}
        if attributes.get("access_logs.s3.enabled") != "true":
            continue
        where = stack.where(logical_id)
        bucket = target(stack, attributes.get("access_logs.s3.bucket"), stacks)
        if bucket is None:
            problems.append(f"{where}: logs to a bucket the app does not create; its policy cannot be checked")
            continue
        bucket_stack, bucket_id = bucket
        encryption = bucket_stack.resources[bucket_id].get("Properties", {}).get("BucketEncryption", {})
        algorithms = {
            rule.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
            for rule in encryption.get("ServerSideEncryptionConfiguration", [])
        }
        if algorithms != {"AES256"}:
            problems.append(f"{where}: its log bucket {bucket_stack.where(bucket_id)} is not SSE-S3 ({algorithms})")
        policies = [
            policy_id
            for policy_id, policy in bucket_stack.of_type("AWS::S3::BucketPolicy")
            if _key(bucket_stack, policy.get("Bucket"), stacks) == f"{bucket_stack.name}/{bucket_id}"
        ]
        if bucket_stack is not stack or not any(graph(stack).reaches(logical_id, {policy}) for policy in policies):
            problems.append(f"{where}: does not depend on its log bucket's policy, which must let ELB write first")
    return problems


INFLUX_MIN_STORAGE = {"InfluxIOIncludedT1": 20, "InfluxIOIncludedT2": 400, "InfluxIOIncludedT3": 400}
INFLUX_LOG_SERVICE = "timestream-influxdb.amazonaws.com"


def _generated(stack: StackTemplate, value: Any) -> dict[str, Any] | None:
    """The GenerateSecretString of the secret a `{{resolve:secretsmanager:...}}` value reads, if generated."""
    secret = next((s for s in _resolved_secrets(stack, value)), None)
    return secret.get("GenerateSecretString") if secret else None


def _bucket_policies(stack: StackTemplate, bucket_id: str, stacks: Sequence[StackTemplate]) -> list[str]:
    return [
        policy_id
        for policy_id, policy in stack.of_type("AWS::S3::BucketPolicy")
        if _key(stack, policy.get("Bucket"), stacks) == f"{stack.name}/{bucket_id}"
    ]


def influxdb_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A Timestream for InfluxDB instance: an alphanumeric password of 8-64 characters (a generated one must be
    made so), at least the storage its type takes, two or more subnets for a Multi-AZ standby, and log delivery
    to a bucket of its account and region whose policy lets the service write InfluxLogs/ before it is created."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::Timestream::InfluxDBInstance"):
        where = stack.where(logical_id)
        generator = _generated(stack, props.get("Password"))
        if generator is not None:
            length = generator.get("PasswordLength", 32)
            if not (8 <= length <= 64 and generator.get("ExcludePunctuation")):
                problems.append(f"{where}: the generated password must be 8-64 letters and digits, not {length} "
                                "characters that may include punctuation")  # fmt: skip
        storage_type = props.get("DbStorageType", "InfluxIOIncludedT1")
        if props.get("AllocatedStorage", 0) < INFLUX_MIN_STORAGE.get(storage_type, 20):
            problems.append(f"{where}: {storage_type} takes at least {INFLUX_MIN_STORAGE[storage_type]} GiB")
        if props.get("DeploymentType") == "WITH_MULTIAZ_STANDBY" and len(props.get("VpcSubnetIds", [])) < 2:
            problems.append(f"{where}: a Multi-AZ standby needs subnets in two or more AZs")
        s3 = props.get("LogDeliveryConfiguration", {}).get("S3Configuration", {})
        if not s3.get("Enabled"):
            continue
        bucket = target(stack, s3.get("BucketName"), stacks)
        if bucket is None or bucket[0] is not stack:
            problems.append(f"{where}: logs to a bucket outside its stack; the service delivers in its own account "
                            "and region, and the policy cannot be checked")  # fmt: skip
            continue
        granted = [
            policy_id
            for policy_id in _bucket_policies(stack, bucket[1], stacks)
            for statement in stack.resources[policy_id]["Properties"]["PolicyDocument"]["Statement"]
            if statement.get("Effect") == "Allow"
            and INFLUX_LOG_SERVICE in json.dumps(statement.get("Principal"))
            and "s3:PutObject" in json.dumps(statement.get("Action"))
            and "InfluxLogs/" in json.dumps(statement.get("Resource"))
        ]
        if not granted:
            problems.append(f"{where}: its log bucket's policy does not let {INFLUX_LOG_SERVICE} put InfluxLogs/*")
        elif not any(graph(stack).reaches(logical_id, {policy}) for policy in granted):
            problems.append(f"{where}: does not depend on its log bucket's policy, which the service checks first")
    return problems


def cache_cluster_mode_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A replication group with cluster mode (node groups) needs automatic failover and a parameter group with
    cluster-enabled yes (the engine's default.<engine><major>.cluster.on); without it, one node group only."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::ElastiCache::ReplicationGroup"):
        where = stack.where(logical_id)
        sharded = props.get("ClusterMode") == "enabled" or props.get("NumNodeGroups", 1) > 1
        group = props.get("CacheParameterGroupName")
        cluster_on = isinstance(group, str) and group.endswith(".cluster.on")
        if sharded and not cluster_on:
            problems.append(f"{where}: cluster mode needs a cluster-enabled parameter group, not {group!r}")
        if sharded and props.get("AutomaticFailoverEnabled") is not True:
            problems.append(f"{where}: cluster mode needs AutomaticFailoverEnabled")
        if not sharded and cluster_on:
            problems.append(f"{where}: a cluster-enabled parameter group without cluster mode")
    return problems


def neptune_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Neptune: a db.serverless instance needs its cluster's ServerlessScalingConfiguration (1 <= min <= max,
    2.5 <= max <= 128 NCUs, in steps of 0.5); the cluster parameter group's family is the engine's major version
    (neptune1.4 for 1.4.x.y); only audit and slowquery logs export."""
    problems = []
    serverless_clusters = set()
    for stack, logical_id, props in _all(stacks, "AWS::Neptune::DBInstance"):
        if props.get("DBInstanceClass") == "db.serverless":
            found = target(stack, props.get("DBClusterIdentifier"), stacks)
            serverless_clusters.add(f"{found[0].name}/{found[1]}" if found else stack.where(logical_id))
    for stack, logical_id, props in _all(stacks, "AWS::Neptune::DBCluster"):
        where = stack.where(logical_id)
        scaling = props.get("ServerlessScalingConfiguration")
        if f"{stack.name}/{logical_id}" in serverless_clusters and not scaling:
            problems.append(f"{where}: has db.serverless instances without a ServerlessScalingConfiguration")
        if scaling:
            low, high = scaling.get("MinCapacity", 0), scaling.get("MaxCapacity", 0)
            if not (1 <= low <= high and 2.5 <= high <= 128 and float(low * 2).is_integer()
                    and float(high * 2).is_integer()):  # fmt: skip
                problems.append(f"{where}: serverless capacity {low}-{high} NCUs; Neptune takes 1 <= min <= max, "
                                "a max of 2.5-128, in steps of 0.5")  # fmt: skip
        version = str(props.get("EngineVersion", ""))
        group = target(stack, props.get("DBClusterParameterGroupName"), stacks)
        if group and version:
            family = group[0].resources[group[1]]["Properties"].get("Family")
            wanted = "neptune" + ".".join(version.split(".")[:2])
            if family != wanted:
                problems.append(f"{where}: engine {version} takes a {wanted} parameter group, not {family}")
        if exports := set(props.get("EnableCloudwatchLogsExports", [])) - {"audit", "slowquery"}:
            problems.append(f"{where}: Neptune exports no {', '.join(sorted(exports))} logs")
    return problems


DAX_PARAMETERS = frozenset({"record-ttl-millis", "query-ttl-millis"})


def dax_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """DAX: a cluster name of at most 20 letters, digits and inner single hyphens; a role DAX may assume (it
    checks at create time); parameter groups set only DAX's parameters."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::DAX::Cluster"):
        where = stack.where(logical_id)
        name = literal(props.get("ClusterName")) if "ClusterName" in props else None
        if name is not None and not re.fullmatch(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,19}(?<!-)", name):
            problems.append(f"{where}: DAX cluster name {name!r} is not 1-20 letters, digits and single hyphens")
        role = target(stack, props.get("IAMRoleARN"), stacks)
        trust = json.dumps(role[0].resources[role[1]]["Properties"].get("AssumeRolePolicyDocument")) if role else ""
        if "dax.amazonaws.com" not in trust:
            problems.append(f"{where}: its IAMRoleARN is not a role of the stage that DAX may assume")
    for stack, logical_id, props in _all(stacks, "AWS::DAX::ParameterGroup"):
        if unknown := set(props.get("ParameterNameValues", {})) - DAX_PARAMETERS:
            problems.append(f"{stack.where(logical_id)}: DAX has no parameter {', '.join(sorted(unknown))}")
    return problems


SECURITY_GROUP_RULES = 60
"""Inbound, and outbound, rules per security group (the default quota)."""
PREFIX_LIST_WEIGHTS = {"com.amazonaws.global.cloudfront.origin-facing": 55}
"""What an AWS-managed prefix list counts as against that quota (vpc/latest/userguide/working-with-aws-managed-
prefix-lists.html#aws-managed-prefix-list-weights)."""


def _rule_weight(
    stack: StackTemplate, rule: Mapping[str, Any], side: str, stacks: Sequence[StackTemplate]
) -> int | str:
    """How many rules `rule` counts as: 1, a prefix list's weight or max entries, or why it is unknown."""
    value = rule.get(f"{side}PrefixListId")
    if value is None:
        return 1
    found = target(stack, value, stacks)
    if found is None:
        return f"prefix list {json.dumps(value)} is not one the app creates or looks up"
    owner, logical_id = found
    props = owner.resources[logical_id].get("Properties", {})
    if owner.type_of(logical_id) == "AWS::EC2::PrefixList":
        return int(props.get("MaxEntries", 1))
    call = json_text(props.get("Create")) if owner.type_of(logical_id) == "Custom::AWS" else None
    filters = call.get("parameters", {}).get("Filters", []) if isinstance(call, dict) else []
    names = [v for f in filters if f.get("Name") == "prefix-list-name" for v in f.get("Values", [])]
    if len(names) == 1 and names[0] in PREFIX_LIST_WEIGHTS:
        return PREFIX_LIST_WEIGHTS[names[0]]
    return f"{owner.where(logical_id)} is a prefix list of unknown weight (PREFIX_LIST_WEIGHTS)"


def security_group_quota_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A group's inbound rules, and its outbound rules, count to at most 60, a referenced prefix list counting
    as its weight (CloudFront's origin-facing list: 55); more fail with RulesPerSecurityGroupLimitExceeded."""
    counted: dict[tuple[str, str, str], list[int | str]] = defaultdict(list)
    for stack, logical_id, props in _all(stacks, "AWS::EC2::SecurityGroup"):
        for direction, side in (("Ingress", "Source"), ("Egress", "Destination")):
            counted[(stack.name, logical_id, direction)] += [
                _rule_weight(stack, rule, side, stacks) for rule in props.get(f"SecurityGroup{direction}", [])
            ]
    for direction, side in (("Ingress", "Source"), ("Egress", "Destination")):
        for stack, _, props in _all(stacks, f"AWS::EC2::SecurityGroup{direction}"):
            group = target(stack, props.get("GroupId"), stacks)
            if group:
                counted[(group[0].name, group[1], direction)].append(_rule_weight(stack, props, side, stacks))
    by_name = {stack.name: stack for stack in stacks}
    problems = []
    for (stack_name, logical_id, direction), weights in counted.items():
        where = by_name[stack_name].where(logical_id)
        problems += [f"{where}: {w}" for w in weights if isinstance(w, str)]
        total = sum(w for w in weights if isinstance(w, int))
        if total > SECURITY_GROUP_RULES:
            problems.append(f"{where}: {direction.lower()} rules count {total}, over {SECURITY_GROUP_RULES}")
    return problems


# --- Backup, ECR, ECS, Transit Gateway ----------------------------------------------------------------------


def vault_lock_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """Vault Lock: min <= max retention, a cooling-off of at least 3 days when set, and every plan rule that
    targets the vault keeps recovery points for a time inside the lock's range (other jobs fail)."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::Backup::BackupVault"):
        lock, where = props.get("LockConfiguration"), stack.where(logical_id)
        if not lock:
            continue
        low, high = lock.get("MinRetentionDays", 1), lock.get("MaxRetentionDays", 36500)
        if low > high:
            problems.append(f"{where}: lock MinRetentionDays {low} is above MaxRetentionDays {high}")
        if "ChangeableForDays" in lock and lock["ChangeableForDays"] < 3:
            problems.append(f"{where}: lock ChangeableForDays {lock['ChangeableForDays']} is under 3")
        for plan_stack, plan, plan_props in _all([stack], "AWS::Backup::BackupPlan"):
            for rule in plan_props.get("BackupPlan", {}).get("BackupPlanRule", []):
                if _key(plan_stack, rule.get("TargetBackupVault"), stacks) != f"{stack.name}/{logical_id}":
                    continue
                days = rule.get("Lifecycle", {}).get("DeleteAfterDays")
                if days is None or not low <= days <= high:
                    problems.append(
                        f"{plan_stack.where(plan)}: rule {rule.get('RuleName')} keeps recovery points "
                        f"{days} days, outside {where}'s lock of {low}-{high}"
                    )
    return problems


def lifecycle_policy_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """An ECR lifecycle policy has unique rule priorities, and a `tagStatus: any` rule has the highest."""
    problems = []
    for stack, logical_id, props in _all(stacks, "AWS::ECR::Repository"):
        policy = json_text((props.get("LifecyclePolicy") or {}).get("LifecyclePolicyText"))
        rules = policy.get("rules", []) if isinstance(policy, dict) else []
        priorities = [rule.get("rulePriority", 0) for rule in rules]
        if len(set(priorities)) != len(priorities):
            problems.append(f"{stack.where(logical_id)}: lifecycle rule priorities repeat: {priorities}")
        problems += [
            f"{stack.where(logical_id)}: the tagStatus any rule has priority {rule['rulePriority']}, not the highest"
            for rule in rules
            if rule.get("selection", {}).get("tagStatus") == "any" and rule.get("rulePriority", 0) < max(priorities)
        ]
    return problems


def fargate_capacity_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A service's or a schedule's (EventBridge Scheduler RunTask) capacity providers are associated with its
    cluster; FARGATE_SPOT runs ARM64 tasks only on platform version 1.4.0 or later and not in the China regions
    (it does support ARM64 since 2024-09)."""
    problems = []
    launches = [
        (stack, logical_id, props.get("Cluster"), props)
        for stack, logical_id, props in _all(stacks, "AWS::ECS::Service")
    ] + [
        (stack, logical_id, props.get("Target", {}).get("Arn"), props["Target"]["EcsParameters"])
        for stack, logical_id, props in _all(stacks, "AWS::Scheduler::Schedule")
        if "EcsParameters" in props.get("Target", {})
    ]
    for stack, logical_id, cluster_ref, props in launches:
        strategy = [item.get("CapacityProvider") for item in props.get("CapacityProviderStrategy", [])]
        if not strategy:
            continue
        cluster, where = _key(stack, cluster_ref, stacks), stack.where(logical_id)
        associated = {
            provider
            for s, other, p in _all(stacks, "AWS::ECS::ClusterCapacityProviderAssociations", "AWS::ECS::Cluster")
            if (_key(s, p.get("Cluster"), stacks) if "Cluster" in p else f"{s.name}/{other}") == cluster
            for provider in p.get("CapacityProviders", [])
        }
        problems += [f"{where}: {p} is not associated with the cluster" for p in strategy if p not in associated]
        task = target(stack, props.get("TaskDefinition") or props.get("TaskDefinitionArn"), stacks)
        task_props = task[0].resources[task[1]].get("Properties", {}) if task else {}
        arm = task_props.get("RuntimePlatform", {}).get("CpuArchitecture") == "ARM64"
        version = str(props.get("PlatformVersion", "LATEST"))
        if arm and "FARGATE_SPOT" in strategy:
            if version != "LATEST" and tuple(map(int, version.split("."))) < (1, 4, 0):
                problems.append(f"{where}: ARM64 on FARGATE_SPOT needs platform version 1.4.0+, not {version}")
            if stack.region.startswith("cn-"):
                problems.append(f"{where}: ARM64 on FARGATE_SPOT is not offered in {stack.region}")
    return problems


PRIVATE_ASNS = (range(64512, 65535), range(4200000000, 4294967295))


def transit_gateway_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A Transit Gateway's ASN is private (64512-65534, 4200000000-4294967294); a peering joins two different
    gateways, with different ASNs (AWS recommends it, and route propagation needs it)."""
    problems = [
        f"{stack.where(logical_id)}: AmazonSideAsn {props['AmazonSideAsn']} is not a private ASN"
        for stack, logical_id, props in _all(stacks, "AWS::EC2::TransitGateway")
        if "AmazonSideAsn" in props and not any(props["AmazonSideAsn"] in r for r in PRIVATE_ASNS)
    ]
    for stack, logical_id, props in _all(stacks, "AWS::EC2::TransitGatewayPeeringAttachment"):
        ends = [target(stack, props.get(side), stacks) for side in ("TransitGatewayId", "PeerTransitGatewayId")]
        if None in ends:
            continue
        (one, one_id), (other, other_id) = (end for end in ends if end)
        asns = [
            s.resources[i].get("Properties", {}).get("AmazonSideAsn", 64512)
            for s, i in ((one, one_id), (other, other_id))
        ]
        if (one.name, one_id) == (other.name, other_id):
            problems.append(f"{stack.where(logical_id)}: peers {one.where(one_id)} with itself")
        elif asns[0] == asns[1]:
            problems.append(f"{stack.where(logical_id)}: both gateways use ASN {asns[0]}")
    return problems


# --- account-wide singletons --------------------------------------------------------------------------------

SINGLETONS = {
    "AWS::GuardDuty::Detector": "https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CreateDetector.html",
    "AWS::SecurityHub::Hub": "https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_EnableSecurityHub.html",
    "AWS::Config::ConfigurationRecorder": "https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigurationRecorder.html",
    "AWS::Config::DeliveryChannel": "https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html",
    "AWS::Macie::Session": "https://docs.aws.amazon.com/macie/latest/APIReference/macie.html",
    "AWS::Detective::Graph": "https://docs.aws.amazon.com/detective/latest/APIReference/API_CreateGraph.html",
}  # fmt: skip
"""Resources an account has at most one of per region; creating a second fails."""


def singleton_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """At most one of each SINGLETONS type in an account and region, across every stage deployed there."""
    problems = []
    for resource_type, source in SINGLETONS.items():
        found = [stack.where(logical_id) for stack, logical_id, _ in _all(stacks, resource_type)]
        if len(found) > 1:
            problems.append(
                f"{stacks[0].account}/{stacks[0].region}: {len(found)} of {resource_type}, which an "
                f"account has once per region ({source}): {', '.join(found)}"
            )
    return problems


def guardduty_feature_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """A detector enables Runtime Monitoring or EKS Runtime Monitoring, not both."""
    return [
        f"{stack.where(logical_id)}: enables both RUNTIME_MONITORING and EKS_RUNTIME_MONITORING"
        for stack, logical_id, props in _all(stacks, "AWS::GuardDuty::Detector")
        if {"RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"} <= {f.get("Name") for f in props.get("Features", [])}
    ]


# --- the table ----------------------------------------------------------------------------------------------

EKS_ACCESS = "https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html"


def endpoint_volume_key_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """CreateEndpointConfig fails with a KmsKeyId when a variant's instance type has NVMe instance storage."""
    return [
        f"{stack.where(logical_id)}: KmsKeyId with {variant['InstanceType']}, which has local storage"
        for stack, logical_id, p in _all(stacks, "AWS::SageMaker::EndpointConfig")
        if "KmsKeyId" in p
        for variant in p["ProductionVariants"]
        if has_local_storage(variant["InstanceType"])
    ]


def prompt_attack_problems(stacks: Sequence[StackTemplate]) -> list[str]:
    """CreateGuardrail refuses a prompt-attack filter on completions."""
    return [
        f"{stack.where(logical_id)}: PROMPT_ATTACK with output strength {f.get('OutputStrength')}"
        for stack, logical_id, p in _all(stacks, "AWS::Bedrock::Guardrail")
        for f in p.get("ContentPolicyConfig", {}).get("FiltersConfig", [])
        if f["Type"] == "PROMPT_ATTACK" and f.get("OutputStrength") != "NONE"
    ]


RULES = (
    Rule(
        "names", "names fit their type's length and characters", "NAME_RULES (a source per row)", "stage", name_problems
    ),
    Rule(
        "unique-names",
        "names are unique per account, region or partition",
        "NAME_RULES (a source per row)",
        "partition",
        duplicate_name_problems,
    ),
    Rule(
        "global-names",
        "record sets and CloudFront names are set once, whichever region's stack sets them",
        ROUTE53_API,
        "partition",
        global_name_problems,
    ),
    Rule(
        "route53-records",
        "one routing policy per name and type; set identifiers, failover and latency regions once; alias zones",
        ROUTE53_POLICIES,
        "partition",
        route53_record_problems,
    ),
    Rule(
        "cloudfront-origin-groups",
        "origin groups: two existing origins, offered status codes, GET/HEAD(/OPTIONS) behaviours only",
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/high_availability_origin_failover.html",
        "stage",
        origin_group_problems,
    ),
    Rule(
        "bucket-names-global",
        "set bucket names include the account and region",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        "stage",
        global_bucket_name_problems,
    ),
    Rule(
        "eks-access-entry-principal",
        "an access entry's principal exists",
        EKS_ACCESS,
        "stage",
        access_entry_principal_problems,
    ),
    Rule(
        "eks-node-role-entry",
        "no access entry for a managed node group's role",
        EKS_ACCESS,
        "stage",
        node_role_access_entry_problems,
    ),
    Rule(
        "eks-node-entry-type",
        "EC2_LINUX entries have no policies or groups",
        "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html",
        "stage",
        node_access_entry_problems,
    ),
    Rule(
        "eks-version",
        "the Kubernetes version is one EKS offers",
        "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
        "stage",
        kubernetes_version_problems,
    ),
    Rule(
        "eks-addon-names",
        "add-ons are ones EKS offers",
        "https://docs.aws.amazon.com/eks/latest/userguide/workloads-add-ons-available-eks.html",
        "stage",
        addon_name_problems,
    ),
    Rule(
        "eks-pod-identity-agent",
        "Pod Identity associations have the agent add-on",
        "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html",
        "stage",
        pod_identity_agent_problems,
    ),
    Rule(
        "eks-nodes-before-pods",
        "charts and pod manifests depend on the nodes that run them",
        "https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.aws_eks_v2/HelmChart.html (wait); https://github.com/terraform-aws-modules/terraform-aws-eks/issues/3001",
        "stage",
        node_ordering_problems,
    ),
    Rule(
        "eks-crds-before-objects",
        "custom resources depend on the chart that installs their CRDs",
        "https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#create-custom-objects",
        "stage",
        crd_ordering_problems,
    ),
    Rule(
        "prerequisites",
        "Config channel and rules after the recorder, Security Hub standards after the hub",
        "PREREQUISITES (a source per row)",
        "stage",
        prerequisite_problems,
    ),
    Rule(
        "iam-managed-policy-size",
        "managed policy <= 6,144 characters",
        IAM_QUOTAS,
        "stage",
        managed_policy_size_problems,
    ),
    Rule(
        "iam-inline-policy-size",
        "inline policies <= 10,240 characters per role",
        IAM_QUOTAS,
        "stage",
        inline_policy_size_problems,
    ),
    Rule(
        "iam-managed-policy-count",
        "<= 10 managed policies per role",
        "https://repost.aws/knowledge-center/iam-increase-policy-size",
        "stage",
        managed_policy_count_problems,
    ),
    Rule("iam-trust-policy-size", "trust policy <= 2,048 characters", IAM_QUOTAS, "stage", trust_policy_size_problems),
    Rule(
        "lambda-reserved-concurrency",
        "reserved concurrency leaves 100 unreserved per account and region",
        "https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html",
        "region",
        reserved_concurrency_problems,
    ),
    Rule(
        "elasticache-auth",
        "AUTH needs in-transit encryption and a valid token",
        "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html",
        "stage",
        cache_auth_problems,
    ),
    Rule(
        "aurora-capacity",
        "Serverless v2 ACU bounds",
        "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ServerlessV2ScalingConfiguration.html",
        "stage",
        serverless_capacity_problems,
    ),
    Rule(
        "aurora-global-names",
        "global database members have names unique across regions",
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.configuration.requirements.html",
        "account",
        global_database_problems,
    ),
    Rule(
        "sqs-sns-fifo",
        "FIFO names end .fifo and FIFO queues have FIFO DLQs",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html",
        "stage",
        fifo_problems,
    ),
    Rule(
        "dynamodb-global-table",
        "a global table has a replica in its region, and a stream with several",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-dynamodb-globaltable-streamspecification.html",
        "stage",
        global_table_problems,
    ),
    Rule(
        "msk-brokers",
        "brokers are a multiple of 2 or 3 AZs",
        "https://docs.aws.amazon.com/msk/latest/developerguide/msk-create-cluster.html",
        "stage",
        kafka_broker_problems,
    ),
    Rule(
        "msk-event-source",
        "an MSK event source's function timeout, pollers and authentication",
        "https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html; "
        + API
        + "lambda/latest/api/API_ProvisionedPollerConfig.html",
        "stage",
        kafka_event_source_problems,
    ),
    Rule(
        "opensearch-topology",
        "zone awareness and dedicated masters",
        API
        + "opensearch-service/latest/APIReference/API_ClusterConfig.html; "
        + API
        + "AWSCloudFormation/latest/UserGuide/aws-properties-opensearchservice-domain-vpcoptions.html",
        "stage",
        search_domain_problems,
    ),
    Rule(
        "cloudfront-us-east-1",
        "CLOUDFRONT web ACLs and CloudFront certificates in us-east-1, DNS validation zones",
        "https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html; https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html",
        "stage",
        cloudfront_region_problems,
    ),
    Rule(
        "elbv2-listener-rules",
        "listener rules: 3 values per condition, 5 per rule, one priority each",
        API + "elasticloadbalancing/latest/application/listener-rules.html",
        "stage",
        listener_rule_problems,
    ),
    Rule(
        "elbv2-access-logs",
        "access logs to an SSE-S3 bucket whose policy exists first",
        API + "elasticloadbalancing/latest/application/enable-access-logging.html",
        "stage",
        access_log_problems,
    ),
    Rule(
        "security-group-rules",
        "60 rules per group and direction, a prefix list counting as its weight",
        API
        + "vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups; "
        + API
        + "vpc/latest/userguide/working-with-aws-managed-prefix-lists.html#aws-managed-prefix-list-weights",
        "stage",
        security_group_quota_problems,
    ),
    Rule(
        "backup-vault-lock",
        "vault lock ranges and the plans inside them",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultLockConfiguration.html",
        "stage",
        vault_lock_problems,
    ),
    Rule(
        "ecr-lifecycle",
        "lifecycle rule priorities",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html",
        "stage",
        lifecycle_policy_problems,
    ),
    Rule(
        "ecs-capacity-providers",
        "capacity providers on the cluster; FARGATE_SPOT ARM64 needs 1.4.0",
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html",
        "stage",
        fargate_capacity_problems,
    ),
    Rule(
        "transit-gateway",
        "private ASNs, distinct peers",
        "https://docs.aws.amazon.com/vpc/latest/tgw/tgw-peering.html",
        "stage",
        transit_gateway_problems,
    ),
    Rule(
        "singletons",
        "one detector, hub, recorder, channel, Macie, Detective per account and region",
        "SINGLETONS (a source per row)",
        "region",
        singleton_problems,
    ),
    Rule(
        "influxdb-instance",
        "InfluxDB password, storage, Multi-AZ subnets and log delivery",
        API
        + "ts-influxdb/latest/ts-influxdb-api/API_CreateDbInstance.html; "
        + API
        + "timestream/latest/developerguide/timestream-for-influx-managing-view-influx-logs.html",
        "stage",
        influxdb_problems,
    ),
    Rule(
        "elasticache-cluster-mode",
        "cluster mode: a cluster-enabled parameter group and automatic failover",
        API
        + "AmazonElastiCache/latest/dg/Clusters.Create.CON.RedisCluster.html; "
        + API
        + "AmazonElastiCache/latest/dg/ParameterGroups.Engine.html",
        "stage",
        cache_cluster_mode_problems,
    ),
    Rule(
        "neptune-cluster",
        "serverless capacity, parameter group family, log exports",
        API
        + "neptune/latest/userguide/neptune-serverless-capacity-scaling.html; "
        + API
        + "neptune/latest/userguide/parameter-groups.html",
        "stage",
        neptune_problems,
    ),
    Rule(
        "dax-cluster",
        "cluster names, a role DAX assumes, DAX's parameters",
        API
        + "amazondynamodb/latest/APIReference/API_dax_CreateCluster.html; "
        + API
        + "amazondynamodb/latest/developerguide/DAX.cluster-management.html",
        "stage",
        dax_problems,
    ),
    Rule(
        "sagemaker-volume-key",
        "no KmsKeyId on an endpoint configuration whose instances have local storage",
        "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html",
        "stage",
        endpoint_volume_key_problems,
    ),
    Rule(
        "guardrail-prompt-attack",
        "a guardrail's PROMPT_ATTACK filter has output strength NONE",
        "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GuardrailContentFilterConfig.html",
        "stage",
        prompt_attack_problems,
    ),
    Rule(
        "guardduty-features",
        "not both runtime monitoring features",
        "https://docs.aws.amazon.com/guardduty/latest/APIReference/API_CreateDetector.html",
        "stage",
        guardduty_feature_problems,
    ),
)
