"""Create-time constraints: what AWS rejects when CloudFormation creates a resource, and cfn-lint's schemas
do not know (tests/behaviour/create_time.py holds the rules, each with its source).

- Every rule runs on every stage: `stage` rules on that stage's stacks, quotas and singletons on every
  stage that shares an account and region (IAM names: an account, in every region).
- Every rule is proven on a mutation of each stage's real templates (a broken copy): it must report the
  break, naming the stage, so none can pass because it looked at nothing.

Skipped, because cfn-lint already rejects the literal values this app emits (tests/compliance/
test_cfn_lint.py lints every template for its region; test_the_skipped_rules_are_enforced_by_cfn_lint
proves each on a probe):
- Fargate task cpu/memory combinations (E3047, cfn-lint's table of the ECS task sizes);
- Lambda Timeout up to 900 (E3717), Lambda MemorySize from 128 and IAM role MaxSessionDuration 3600-43200
  (E3034, schema ranges), and WAF's rate-based Limit of at least 10 (the same schema minimum);
- IAM Path `/.../` (E3031, schema pattern).
Not rules here: EKS add-ons that wait for nodes (CloudFormation accepts an add-on that is DEGRADED for lack
of nodes, and it recovers when they join: hashicorp/terraform-provider-aws#44669), and the eks-pod-
identity-agent's own readiness before a pod first asks it for credentials (the SDKs retry).
The names in create_time.NAME_RULES overlap cfn-lint for literal names, but are checked at every region's
longest pseudo parameters and, for Fn::Join names, at their longest value, which cfn-lint does not do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from pydantic import BaseModel

from environments.schema import analytics, compute
from environments.schema.regions import images_failover_region
from tests.behaviour.create_time import (
    ACCOUNT_CONCURRENCY,
    HELM_CHART,
    MANIFEST,
    RULES,
    UNRESERVED_MINIMUM,
    Rule,
    groups,
    origin_group_problems,
)
from tests.behaviour.templates import StackTemplate, copied, stage_stacks
from tests.synthesis import SynthesizedPlatform

Mutation = Callable[[list[StackTemplate]], list[StackTemplate]]
Edit = Callable[[StackTemplate, dict[str, Any]], bool]
"""Changes a stack's template (a copy) in place; True when it found something to change."""
STAGE_RULES = [rule for rule in RULES if rule.scope == "stage"]
SHARED_RULES = [rule for rule in RULES if rule.scope != "stage"]


def _problems(rule: Rule, stacks: list[StackTemplate]) -> list[str]:
    return [problem for group in groups(stacks, rule.scope) for problem in rule.check(group)]


@pytest.mark.parametrize("rule", STAGE_RULES, ids=[rule.id for rule in STAGE_RULES])
def test_stage_passes(platform: SynthesizedPlatform, stage: str, rule: Rule) -> None:
    problems = _problems(rule, stage_stacks(platform, stage))
    assert problems == [], f"{rule.summary} ({rule.source}):\n" + "\n".join(problems)


@pytest.mark.parametrize("rule", SHARED_RULES, ids=[rule.id for rule in SHARED_RULES])
def test_stages_sharing_an_account_pass(platform: SynthesizedPlatform, rule: Rule) -> None:
    stacks = [stack for stage in platform.stages for stack in stage_stacks(platform, stage)]
    problems = _problems(rule, stacks)
    assert problems == [], f"{rule.summary} ({rule.source}):\n" + "\n".join(problems)


# --- mutations: each breaks a copy of a stage's templates the way its rule forbids --------------------------


def _edited(stacks: list[StackTemplate], edit: Edit) -> list[StackTemplate]:
    """`stacks` with every template that `edit` changes (on a copy) replaced; at least one must change."""
    changed = []
    for stack in stacks:
        template = copied(dict(stack.template))
        changed.append(stack.relabelled(template=template) if edit(stack, template) else stack)
    assert changed != stacks, "the mutation found nothing to break"
    return changed


def _inject(resources: dict[str, Any], **where: str) -> Mutation:
    """Add `resources` to the first stack (deployed as `where` says, e.g. region=...)."""

    def mutate(stacks: list[StackTemplate]) -> list[StackTemplate]:
        first = stacks[0]
        template = copied(dict(first.template))
        template["Resources"] = {**template["Resources"], **resources}
        return [first.relabelled(template=template, **where), *stacks[1:]]

    return mutate


def _resource(resource_type: str, **props: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": props}


def _twin(stacks: list[StackTemplate]) -> list[StackTemplate]:
    """The stage, and a copy of it deployed to the same account and regions as another stage."""
    return stacks + [stack.relabelled(stage=f"{stack.stage}-twin", name=f"{stack.name}-twin") for stack in stacks]


def _of_type(template: dict[str, Any], *types: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] in types]


def _admin_from_outside(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """The access entry names a role nobody creates (what the stage files used to do)."""
    for entry in _of_type(template, "AWS::EKS::AccessEntry"):
        entry["Properties"]["PrincipalArn"] = f"arn:aws:iam::{stack.account}:role/PlatformAdmin"
    return bool(_of_type(template, "AWS::EKS::AccessEntry"))


def _node_role_entry(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """An access entry for a managed node group's role."""
    node_groups = _of_type(template, "AWS::EKS::Nodegroup")
    if node_groups:
        node_role, cluster = node_groups[0]["Properties"]["NodeRole"], node_groups[0]["Properties"]["ClusterName"]
        template["Resources"]["NodeRoleEntry"] = _resource(
            "AWS::EKS::AccessEntry", ClusterName=cluster, PrincipalArn=node_role, Type="EC2_LINUX"
        )
    return bool(node_groups)


def _node_entry_with_policies(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """Access policies and groups on a node's (EC2_LINUX) access entry."""
    entries = [e for e in _of_type(template, "AWS::EKS::AccessEntry") if e["Properties"].get("Type") == "EC2_LINUX"]
    for entry in entries:
        entry["Properties"]["AccessPolicies"] = [{"PolicyArn": "x", "AccessScope": {"Type": "cluster"}}]
        entry["Properties"]["KubernetesGroups"] = ["system:masters"]
    return bool(entries)


def _old_kubernetes(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """A Kubernetes version EKS no longer offers."""
    for cluster in _of_type(template, "AWS::EKS::Cluster"):
        cluster["Properties"]["Version"] = "1.29"
    return bool(_of_type(template, "AWS::EKS::Cluster"))


def _no_pod_identity_agent(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """Pod Identity associations without the agent add-on."""
    agents = [
        k
        for k, r in template["Resources"].items()
        if r.get("Properties", {}).get("AddonName") == "eks-pod-identity-agent"
    ]
    for logical_id in agents:
        del template["Resources"][logical_id]
    return bool(agents)


def _without_dependencies_on(*types: str, manifest_kinds: tuple[str, ...] = ()) -> Edit:
    """Charts and manifests lose their DependsOn on resources of `types` (and on manifests of `manifest_kinds`)."""

    def edit(stack: StackTemplate, template: dict[str, Any]) -> bool:
        resources = template["Resources"]

        def dropped(logical_id: str) -> bool:
            resource = resources[logical_id]
            manifest = json.dumps(resource.get("Properties", {}).get("Manifest", ""))
            return resource["Type"] in types or any(f'\\"kind\\":\\"{kind}\\"' in manifest for kind in manifest_kinds)

        changed = False
        for resource in _of_type(template, HELM_CHART, MANIFEST):
            kept = [d for d in resource.get("DependsOn", []) if not dropped(d)]
            changed |= kept != resource.get("DependsOn", [])
            resource["DependsOn"] = kept
        return changed

    return edit


def _too_many_rules(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """Port 80 from CloudFront as well, another 55 rules on a group that counts 55; without the edge, 61
    rules on the first group."""
    from_cloudfront = [
        r for r in _of_type(template, "AWS::EC2::SecurityGroupIngress") if "SourcePrefixListId" in r["Properties"]
    ]
    groups = _of_type(template, "AWS::EC2::SecurityGroup")
    if from_cloudfront:
        template["Resources"]["MutationHttpFromCloudFront"] = _resource(
            "AWS::EC2::SecurityGroupIngress", **{**from_cloudfront[0]["Properties"], "FromPort": 80, "ToPort": 80}
        )
    elif groups:
        groups[0]["Properties"]["SecurityGroupIngress"] = [
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "10.0.0.0/8"}
            for port in range(9000, 9061)
        ]
    return bool(from_cloudfront or groups)


def _policy(characters: int) -> dict[str, Any]:
    """A policy document of about `characters` characters."""
    resources = [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(characters // 30)]
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}],
    }


def _trust(principal: dict[str, Any]) -> dict[str, Any]:
    """A trust policy for `principal`."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


TRUST = _trust({"Service": "ec2.amazonaws.com"})


def _slow_kafka_consumer(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """Every MSK mapping's function past 14 minutes, its pollers' minimum above their maximum."""
    resources = template.get("Resources", {})
    changed = False
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::Lambda::EventSourceMapping" or "ProvisionedPollerConfig" not in props:
            continue
        props["ProvisionedPollerConfig"] = {"MinimumPollers": 5, "MaximumPollers": 2}
        function = props["FunctionName"].get("Ref")
        if function in resources:
            resources[function]["Properties"]["Timeout"] = 900
        changed = True
    return changed


def _first_record(stacks: list[StackTemplate]) -> tuple[int, dict[str, Any]]:
    """(index of its stack, a copy of) the stage's first Route 53 record set."""
    for index, stack in enumerate(stacks):
        for _, resource in stack.resources.items():
            if resource["Type"] == "AWS::Route53::RecordSet":
                return index, copied(dict(resource))
    raise AssertionError("the stage has no record set")


def _record_elsewhere(stacks: list[StackTemplate]) -> list[StackTemplate]:
    """The stage's first record set written again by the last stack (as a second region's would)."""
    _, record = _first_record(stacks)
    return _inject({"Copy": record}, region="ap-northeast-9")(stacks[::-1])[::-1]


def _latency_twin(stacks: list[StackTemplate]) -> list[StackTemplate]:
    """A latency record beside the first record set, in the same region as it (if that one is a latency record)."""
    index, record = _first_record(stacks)
    region = record["Properties"].get("Region", stacks[index].region)
    record["Properties"] = {**record["Properties"], "SetIdentifier": "twin", "Region": region}
    record["Properties"].pop("Failover", None)
    template = copied(dict(stacks[index].template))
    template["Resources"] = {**template["Resources"], "Twin": record}
    return [*stacks[:index], stacks[index].relabelled(template=template), *stacks[index + 1 :]]


def _origin_group_for_writes() -> dict[str, Any]:
    """A distribution whose default behaviour (all methods) targets an origin group of one origin."""
    origin = {"Id": "a", "DomainName": "a.example.com", "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}}
    group = {
        "Id": "group",
        "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [501]}},
        "Members": {"Quantity": 2, "Items": [{"OriginId": "a"}, {"OriginId": "b"}]},
    }
    return _resource(
        "AWS::CloudFront::Distribution",
        DistributionConfig={
            "Origins": [origin],
            "OriginGroups": {"Quantity": 1, "Items": [group]},
            "DefaultCacheBehavior": {
                "TargetOriginId": "group",
                "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
            },
        },
    )


ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


def _writes_through_the_origin_groups(stack: StackTemplate, template: dict[str, Any]) -> bool:
    """Every behaviour on a real origin group allows all methods, and each group gains a member no origin is."""
    changed = False
    for distribution in _of_type(template, "AWS::CloudFront::Distribution"):
        config = distribution["Properties"]["DistributionConfig"]
        groups = config.get("OriginGroups", {}).get("Items", [])
        for behaviour in config.get("CacheBehaviors", []):
            if behaviour["TargetOriginId"] in {group["Id"] for group in groups}:
                behaviour["AllowedMethods"] = ALL_METHODS
        for group in groups:
            group["Members"] = {"Quantity": 3, "Items": [*group["Members"]["Items"], {"OriginId": "nowhere"}]}
            changed = True
    return changed


def _broken_origin_groups(stacks: list[StackTemplate]) -> list[StackTemplate]:
    """The stage's own origin groups broken where it has any; else a distribution that has one (injected)."""
    if any(
        props["DistributionConfig"].get("OriginGroups")
        for stack in stacks
        for _, props in stack.of_type("AWS::CloudFront::Distribution")
    ):
        return _edited(stacks, _writes_through_the_origin_groups)
    return _inject({"Failover": _origin_group_for_writes()})(stacks)


MUTATIONS: dict[str, Mutation] = {
    "names": _inject(
        {
            # at the longest region, 6 + 14 + 1 + 20 = 41 characters: one too many for ElastiCache
            "LongCache": _resource(
                "AWS::ElastiCache::ReplicationGroup",
                ReplicationGroupId={"Fn::Join": ["-", ["cache", {"Ref": "AWS::Region"}, "x" * 20]]},
            ),
            "AwsAlias": _resource("AWS::KMS::Alias", AliasName="alias/aws/platform", TargetKeyId="x"),
            # 33 characters, one too many for ELB; a target group name ending in a hyphen
            "LongBalancer": _resource("AWS::ElasticLoadBalancingV2::LoadBalancer", Name="ingress-" + "x" * 25),
            "HyphenatedTargets": _resource("AWS::ElasticLoadBalancingV2::TargetGroup", Name="targets-"),
        }
    ),
    "unique-names": _twin,
    "global-names": _record_elsewhere,
    "route53-records": _latency_twin,
    "cloudfront-origin-groups": _broken_origin_groups,
    "bucket-names-global": _inject({"Shared": _resource("AWS::S3::Bucket", BucketName="ai-platform-shared-assets")}),
    "eks-access-entry-principal": lambda stacks: _edited(stacks, _admin_from_outside),
    "eks-node-role-entry": lambda stacks: _edited(stacks, _node_role_entry),
    "eks-node-entry-type": lambda stacks: _edited(stacks, _node_entry_with_policies),
    "eks-version": lambda stacks: _edited(stacks, _old_kubernetes),
    "eks-addon-names": _inject({"Lbc": _resource("AWS::EKS::Addon", AddonName="aws-load-balancer-controller")}),
    "eks-pod-identity-agent": lambda stacks: _edited(stacks, _no_pod_identity_agent),
    "eks-nodes-before-pods": lambda stacks: _edited(
        stacks, _without_dependencies_on("AWS::EKS::Nodegroup", manifest_kinds=("NodePool",))
    ),
    "eks-crds-before-objects": lambda stacks: _edited(stacks, _without_dependencies_on(HELM_CHART)),
    "prerequisites": _inject(
        {
            "Recorder": _resource("AWS::Config::ConfigurationRecorder", RoleARN="x"),
            "Channel": _resource("AWS::Config::DeliveryChannel", S3BucketName="x"),
        }
    ),
    "iam-managed-policy-size": _inject({"Big": _resource("AWS::IAM::ManagedPolicy", PolicyDocument=_policy(6500))}),
    "iam-inline-policy-size": _inject(
        {
            "Crowded": _resource("AWS::IAM::Role", AssumeRolePolicyDocument=TRUST),
            **{
                f"Inline{i}": _resource(
                    "AWS::IAM::Policy", PolicyName=f"p{i}", PolicyDocument=_policy(6000), Roles=[{"Ref": "Crowded"}]
                )
                for i in range(2)
            },
        }
    ),
    "iam-managed-policy-count": _inject(
        {
            "Managed": _resource(
                "AWS::IAM::Role",
                AssumeRolePolicyDocument=TRUST,
                ManagedPolicyArns=[f"arn:aws:iam::aws:policy/Policy{i}" for i in range(11)],
            )
        }
    ),
    "iam-trust-policy-size": _inject(
        {
            "Trusting": _resource(
                "AWS::IAM::Role",
                AssumeRolePolicyDocument=_trust({"AWS": [f"arn:aws:iam::{i:012d}:root" for i in range(80)]}),
            )
        }
    ),
    "lambda-reserved-concurrency": _inject(
        {
            "Greedy": _resource(
                "AWS::Lambda::Function", ReservedConcurrentExecutions=ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM + 1
            )
        }
    ),
    "elasticache-auth": _inject(
        {
            "Token": _resource("AWS::SecretsManager::Secret", GenerateSecretString={"PasswordLength": 12}),
            "Cache": _resource(
                "AWS::ElastiCache::ReplicationGroup",
                TransitEncryptionEnabled=False,
                AuthToken={"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Token"}, ":SecretString:::}}"]]},
            ),
        }
    ),
    "influxdb-instance": _inject(
        {
            "InfluxPassword": _resource("AWS::SecretsManager::Secret", GenerateSecretString={"PasswordLength": 32}),
            "InfluxLogs": _resource("AWS::S3::Bucket"),
            "Influx": _resource(
                "AWS::Timestream::InfluxDBInstance",
                DbStorageType="InfluxIOIncludedT2",
                AllocatedStorage=100,
                DeploymentType="WITH_MULTIAZ_STANDBY",
                VpcSubnetIds=["subnet-1"],
                Password={
                    "Fn::Join": [
                        "",
                        ["{{resolve:secretsmanager:", {"Ref": "InfluxPassword"}, ":SecretString:password::}}"],
                    ]
                },
                LogDeliveryConfiguration={"S3Configuration": {"BucketName": {"Ref": "InfluxLogs"}, "Enabled": True}},
            ),
        }
    ),
    "elasticache-cluster-mode": _inject(
        {
            "Sharded": _resource(
                "AWS::ElastiCache::ReplicationGroup",
                ClusterMode="enabled",
                NumNodeGroups=2,
                CacheParameterGroupName="default.valkey8",
            ),
        }
    ),
    "neptune-cluster": _inject(
        {
            "GraphParameters": _resource("AWS::Neptune::DBClusterParameterGroup", Family="neptune1.3"),
            "Graph": _resource(
                "AWS::Neptune::DBCluster",
                EngineVersion="1.4.5.0",
                DBClusterParameterGroupName={"Ref": "GraphParameters"},
                EnableCloudwatchLogsExports=["audit", "error"],
            ),
            "GraphWriter": _resource(
                "AWS::Neptune::DBInstance", DBInstanceClass="db.serverless", DBClusterIdentifier={"Ref": "Graph"}
            ),
        }
    ),
    "dax-cluster": _inject(
        {
            "DaxRole": _resource("AWS::IAM::Role", AssumeRolePolicyDocument=_trust({"Service": "ec2.amazonaws.com"})),
            "Dax": _resource(
                "AWS::DAX::Cluster",
                ClusterName="ai-platform-staging-dax",
                IAMRoleARN={"Fn::GetAtt": ["DaxRole", "Arn"]},
            ),
            "DaxParameters": _resource("AWS::DAX::ParameterGroup", ParameterNameValues={"item-ttl": "1"}),
        }
    ),
    "aurora-capacity": _inject(
        {
            "Aurora": _resource(
                "AWS::RDS::DBCluster", ServerlessV2ScalingConfiguration={"MinCapacity": 0.25, "MaxCapacity": 300}
            )
        }
    ),
    "aurora-global-names": _inject(
        {
            f"{role}Cluster": _resource(
                "AWS::RDS::DBCluster", DBClusterIdentifier="db", GlobalClusterIdentifier="global"
            )
            for role in ("Primary", "Secondary")
        }
    ),
    "sqs-sns-fifo": _inject(
        {
            "Standard": _resource("AWS::SQS::Queue"),
            "Ordered": _resource(
                "AWS::SQS::Queue",
                FifoQueue=True,
                QueueName="ordered",
                RedrivePolicy={"deadLetterTargetArn": {"Fn::GetAtt": ["Standard", "Arn"]}, "maxReceiveCount": 3},
            ),
        }
    ),
    "dynamodb-global-table": _inject(
        {
            "Table": _resource(
                "AWS::DynamoDB::GlobalTable", Replicas=[{"Region": "eu-central-1"}, {"Region": "eu-north-1"}]
            )
        }
    ),
    "msk-brokers": _inject(
        {
            "Kafka": _resource(
                "AWS::MSK::Cluster", NumberOfBrokerNodes=4, BrokerNodeGroupInfo={"ClientSubnets": ["a", "b", "c"]}
            )
        }
    ),
    "msk-event-source": lambda stacks: _edited(stacks, _slow_kafka_consumer),
    "opensearch-topology": _inject(
        {
            "Search": _resource(
                "AWS::OpenSearchService::Domain",
                ClusterConfig={
                    "InstanceCount": 4,
                    "ZoneAwarenessEnabled": True,
                    "ZoneAwarenessConfig": {"AvailabilityZoneCount": 3},
                    "DedicatedMasterEnabled": True,
                    "DedicatedMasterCount": 4,
                },
                VPCOptions={"SubnetIds": ["a", "b", "c"]},
            )
        }
    ),
    "cloudfront-us-east-1": _inject(
        {"EdgeAcl": _resource("AWS::WAFv2::WebACL", Scope="CLOUDFRONT", Name="edge")}, region="eu-central-1"
    ),
    "elbv2-listener-rules": _inject(
        {
            f"Rule{index}": _resource(
                "AWS::ElasticLoadBalancingV2::ListenerRule",
                ListenerArn={"Ref": "Listener"},
                Priority=10,
                Conditions=[
                    {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a", "/b", "/c", "/d"]}},
                    {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x", "Values": ["1", "2"]}},
                ],
            )
            for index in range(2)
        }
    ),
    "elbv2-access-logs": _inject(
        {
            "KmsLogs": _resource(
                "AWS::S3::Bucket",
                BucketEncryption={
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
                    ]
                },
            ),
            "Balancer": _resource(
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                LoadBalancerAttributes=[
                    {"Key": "access_logs.s3.enabled", "Value": "true"},
                    {"Key": "access_logs.s3.bucket", "Value": {"Ref": "KmsLogs"}},
                ],
            ),
        }
    ),
    "security-group-rules": lambda stacks: _edited(stacks, _too_many_rules),
    "backup-vault-lock": _inject(
        {
            "Vault": _resource(
                "AWS::Backup::BackupVault", LockConfiguration={"MinRetentionDays": 30, "MaxRetentionDays": 7}
            ),
            "Plan": _resource(
                "AWS::Backup::BackupPlan",
                BackupPlan={
                    "BackupPlanRule": [
                        {
                            "RuleName": "Daily",
                            "TargetBackupVault": {"Ref": "Vault"},
                            "Lifecycle": {"DeleteAfterDays": 35},
                        }
                    ]
                },
            ),
        }
    ),
    "ecr-lifecycle": _inject(
        {
            "Repo": _resource(
                "AWS::ECR::Repository",
                LifecyclePolicy={
                    "LifecyclePolicyText": json.dumps(
                        {
                            "rules": [
                                {"rulePriority": 1, "selection": {"tagStatus": "any"}},
                                {"rulePriority": 2, "selection": {"tagStatus": "untagged"}},
                            ]
                        }
                    )
                },
            )
        }
    ),
    "ecs-capacity-providers": _inject(
        {
            "Jobs": _resource("AWS::ECS::Cluster", CapacityProviders=["FARGATE"]),
            "Task": _resource("AWS::ECS::TaskDefinition", RuntimePlatform={"CpuArchitecture": "ARM64"}),
            "Service": _resource(
                "AWS::ECS::Service",
                Cluster={"Ref": "Jobs"},
                TaskDefinition={"Ref": "Task"},
                PlatformVersion="1.3.0",
                CapacityProviderStrategy=[{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}],
            ),
            "Schedule": _resource(
                "AWS::Scheduler::Schedule",
                Target={
                    "Arn": {"Fn::GetAtt": ["Jobs", "Arn"]},
                    "EcsParameters": {
                        "TaskDefinitionArn": {"Ref": "Task"},
                        "PlatformVersion": "1.3.0",
                        "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}],
                    },
                },
            ),
        }
    ),
    "transit-gateway": _inject(
        {
            "Hub": _resource("AWS::EC2::TransitGateway", AmazonSideAsn=100),
            "SelfPeering": _resource(
                "AWS::EC2::TransitGatewayPeeringAttachment",
                TransitGatewayId={"Ref": "Hub"},
                PeerTransitGatewayId={"Ref": "Hub"},
            ),
        }
    ),
    "singletons": lambda stacks: _twin(
        _inject({"Detector": _resource("AWS::GuardDuty::Detector", Enable=True)})(stacks)
    ),
    "sagemaker-volume-key": _inject(
        {
            "GpuEndpointConfig": _resource(
                "AWS::SageMaker::EndpointConfig",
                KmsKeyId="arn:aws:kms:us-east-1:111111111111:key/x",
                ProductionVariants=[
                    {
                        "VariantName": "primary",
                        "ModelName": "m",
                        "InstanceType": "ml.g5.xlarge",
                        "InitialInstanceCount": 1,
                    }
                ],
            )
        }
    ),
    "guardrail-prompt-attack": _inject(
        {
            "Guardrail": _resource(
                "AWS::Bedrock::Guardrail",
                Name="g",
                ContentPolicyConfig={
                    "FiltersConfig": [{"Type": "PROMPT_ATTACK", "InputStrength": "HIGH", "OutputStrength": "HIGH"}]
                },
            )
        }
    ),
    "guardduty-features": _inject(
        {
            "Detector": _resource(
                "AWS::GuardDuty::Detector",
                Features=[{"Name": "RUNTIME_MONITORING"}, {"Name": "EKS_RUNTIME_MONITORING"}],
            )
        }
    ),
}


def test_every_rule_has_a_mutation() -> None:
    assert sorted(MUTATIONS) == sorted(rule.id for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_the_rule_catches_a_broken_copy(platform: SynthesizedPlatform, stage: str, rule: Rule) -> None:
    stacks = stage_stacks(platform, stage)
    before = _problems(rule, stacks)
    found = [problem for problem in _problems(rule, MUTATIONS[rule.id](stacks)) if problem not in before]
    assert found, f"{rule.id}: the mutation went unnoticed"
    assert all(stage in problem for problem in found), found


def test_the_origin_group_rule_reads_the_stages_own_group(platform: SynthesizedPlatform, stage: str) -> None:
    """Where the images path fails over, the rule reads that real origin group: each of its breaks is named."""
    if images_failover_region(platform.configs[stage]) is None:
        pytest.skip(f"{stage}'s images path has no origin group")
    stacks = stage_stacks(platform, stage)
    assert not origin_group_problems(stacks)
    found = "\n".join(origin_group_problems(_broken_origin_groups(stacks)))
    for problem in ("has 3 members, not 2", "names ['nowhere']", "allows ['DELETE', 'GET'"):
        assert problem in found, found


# --- what the rules rely on ---------------------------------------------------------------------------------


def test_the_schema_never_reserves_more_concurrency_than_an_account_allows() -> None:
    """The per-function limits in the config schema leave Lambda's unreserved minimum."""
    limits = {
        f"{model.__name__}.{name}": next(m.le for m in info.metadata if hasattr(m, "le"))
        for module in (compute, analytics)
        for model in vars(module).values()
        if isinstance(model, type) and issubclass(model, BaseModel)
        for name, info in model.model_fields.items()
        if name.endswith("reserved_concurrency")
    }
    assert limits, "no reserved-concurrency fields found"
    too_high = {field: le for field, le in limits.items() if le > ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM}
    assert too_high == {}


VISIBILITY = {"CloudWatchMetricsEnabled": True, "MetricName": "probe", "SampledRequestsEnabled": True}
SKIPPED = {
    "FargateSize": ("E3047", _resource("AWS::ECS::TaskDefinition", RequiresCompatibilities=["FARGATE"], Cpu="256",
                                       Memory="4096", NetworkMode="awsvpc",
                                       ContainerDefinitions=[{"Name": "a", "Image": "x"}])),
    "LambdaTimeout": ("E3717", _resource("AWS::Lambda::Function", Role="arn:aws:iam::111111111111:role/x",
                                         Code={"ZipFile": "x"}, Handler="a.b", Runtime="python3.12", Timeout=901)),
    "LambdaMemory": ("E3034", _resource("AWS::Lambda::Function", Role="arn:aws:iam::111111111111:role/x",
                                        Code={"ZipFile": "x"}, Handler="a.b", Runtime="python3.12", MemorySize=64)),
    "RateLimit": ("E3034", _resource("AWS::WAFv2::WebACL", Scope="REGIONAL", DefaultAction={"Allow": {}},
                                     VisibilityConfig=VISIBILITY, Rules=[{
                                         "Name": "rate", "Priority": 0, "Action": {"Block": {}},
                                         "VisibilityConfig": VISIBILITY,
                                         "Statement": {"RateBasedStatement": {"Limit": 5, "AggregateKeyType": "IP"}},
                                     }])),
    "Session": ("E3034", _resource("AWS::IAM::Role", AssumeRolePolicyDocument=TRUST, MaxSessionDuration=60)),
    "RoleIamPath": ("E3031", _resource("AWS::IAM::Role", AssumeRolePolicyDocument=TRUST, Path="no-slashes")),
}  # fmt: skip
"""Probe resource -> (the cfn-lint rule that rejects it, the resource)."""


def test_the_skipped_rules_are_enforced_by_cfn_lint() -> None:
    template = json.dumps({"Resources": {name: resource for name, (_, resource) in SKIPPED.items()}})
    found = {(match.path[1], match.rule.id) for match in lint(template, config=ManualArgs(regions=["us-east-1"]))}
    assert {(name, rule) for name, (rule, _) in SKIPPED.items()} <= found, found
