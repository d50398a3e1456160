"""`make cost STAGE=<stage>`: a monthly estimate per stack and component, from the synthesized templates.

Every resource type of a template is one of three kinds, and a resource of any other type is reported as
unpriced (never counted as zero; the test suite fails on it):
- capacity-priced (RULES): what it costs by being there, from its properties: instance-hours x 730 at the
  desired or minimum size, endpoints per AZ, keys, secrets, alarms;
- usage-priced (also RULES, `Usage` assumptions): what it costs at a stated amount of use (GB stored, GB
  processed, requests), printed under the estimate so nobody mistakes it for a measurement;
- free (FREE, each with its reason): IAM, security groups, routes and the like.
Prices come from the committed per-region tables (tools/prices.py); a size the table lacks is unpriced too.
"""

from __future__ import annotations

import argparse
import calendar
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.assembly import LIVE_CONFIG, REPO_ROOT, AssemblyError, CloudAssembly, Resource, StageAssembly, ensure
from tools.prices import HOURS_PER_MONTH, PRICES_DIR, PriceRef, PriceTable

SPOT_FACTOR = 0.35
"""Spot instances at 35 % of on-demand (seed 002 puts t3.medium Spot at 70 % off; Spot varies by pool)."""

PAGES = {
    "ec2": "https://aws.amazon.com/ec2/pricing/on-demand/",
    "ebs": "https://aws.amazon.com/ebs/pricing/",
    "eks": "https://aws.amazon.com/eks/pricing/",
    "vpc": "https://aws.amazon.com/vpc/pricing/",
    "tgw": "https://aws.amazon.com/transit-gateway/pricing/",
    "elb": "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "rds": "https://aws.amazon.com/rds/postgresql/pricing/",
    "aurora": "https://aws.amazon.com/rds/aurora/pricing/",
    "rdsproxy": "https://aws.amazon.com/rds/proxy/pricing/",
    "elasticache": "https://aws.amazon.com/elasticache/pricing/",
    "msk": "https://aws.amazon.com/msk/pricing/",
    "opensearch": "https://aws.amazon.com/opensearch-service/pricing/",
    "kms": "https://aws.amazon.com/kms/pricing/",
    "secretsmanager": "https://aws.amazon.com/secrets-manager/pricing/",
    "cloudwatch": "https://aws.amazon.com/cloudwatch/pricing/",
    "waf": "https://aws.amazon.com/waf/pricing/",
    "kinesis": "https://aws.amazon.com/kinesis/data-streams/pricing/",
    "firehose": "https://aws.amazon.com/firehose/pricing/",
    "s3": "https://aws.amazon.com/s3/pricing/",
    "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "efs": "https://aws.amazon.com/efs/pricing/",
    "ecr": "https://aws.amazon.com/ecr/pricing/",
    "backup": "https://aws.amazon.com/backup/pricing/",
    "glue": "https://aws.amazon.com/glue/pricing/",
    "athena": "https://aws.amazon.com/athena/pricing/",
    "aps": "https://aws.amazon.com/prometheus/pricing/",
    "guardduty": "https://aws.amazon.com/guardduty/pricing/",
    "securityhub": "https://aws.amazon.com/security-hub/pricing/",
    "config": "https://aws.amazon.com/config/pricing/",
    "cloudtrail": "https://aws.amazon.com/cloudtrail/pricing/",
    "xray": "https://aws.amazon.com/xray/pricing/",
    "cloudfront": "https://aws.amazon.com/cloudfront/pricing/",
    "events": "https://aws.amazon.com/eventbridge/pricing/",
    "sns": "https://aws.amazon.com/sns/pricing/",
    "sqs": "https://aws.amazon.com/sqs/pricing/",
    "lambda": "https://aws.amazon.com/lambda/pricing/",
    "kinesisanalytics": "https://aws.amazon.com/managed-service-apache-flink/pricing/",
    "fargate": "https://aws.amazon.com/fargate/pricing/",
    "route53": "https://aws.amazon.com/route53/pricing/",
    "sfn": "https://aws.amazon.com/step-functions/pricing/",
    "ssm": "https://aws.amazon.com/systems-manager/pricing/",
    "transfer": "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer",
    "neptune": "https://aws.amazon.com/neptune/pricing/",
    "influxdb": "https://aws.amazon.com/timestream/pricing/",
    "dax": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "sagemaker": "https://aws.amazon.com/sagemaker/pricing/",
    "bedrock": "https://aws.amazon.com/bedrock/pricing/",
}


def ref(key: str, unit: str, service: str = "", **filters: str) -> PriceRef:
    """A price key on the page of its first segment, with its Price List query when it has one."""
    return PriceRef(key, unit, PAGES[key.split(":", 1)[0]], service, tuple(sorted(filters.items())))


def ec2_instance(instance_type: str) -> PriceRef:
    return ref(
        f"ec2:{instance_type}",
        "hour",
        "AmazonEC2",
        instanceType=instance_type,
        operatingSystem="Linux",
        tenancy="Shared",
        preInstalledSw="NA",
        capacitystatus="Used",
        licenseModel="No License required",
    )


GP3 = ref("ebs:gp3-gb-month", "GB-month", "AmazonEC2", volumeApiName="gp3")
PUBLIC_IPV4 = ref(
    "vpc:public-ipv4-hour",
    "hour",
    "AmazonVPC",
    group="VPCPublicIPv4Address",
    groupDescription="Hourly charge for In-use Public IPv4 Addresses",
)


@dataclass(frozen=True)
class Usage:
    """An amount of use the estimate assumes, stated in its output."""

    quantity: float
    text: str


USAGE = {
    "nat_gb": Usage(100, "100 GB a month through each NAT gateway"),
    "endpoint_gb": Usage(10, "10 GB a month through each interface endpoint"),
    "tgw_gb": Usage(50, "50 GB a month through each Transit Gateway attachment"),
    "inter_region_gb": Usage(20, "20 GB a month between the regions over each peering"),
    "inter_az_gb": Usage(100, "100 GB a month across AZs in each VPC (each direction billed)"),
    "internet_gb": Usage(100, "100 GB a month from each internet-facing load balancer to the internet"),
    "alb_lcu": Usage(1, "1 LCU on average per application load balancer"),
    "log_gb": Usage(1, "1 GB a month ingested into each log group"),
    "s3_gb": Usage(20, "20 GB in S3 Standard per bucket"),
    "s3_replicated_gb": Usage(5, "5 GB a month replicated by each cross-region replication rule"),
    "dynamodb_gb": Usage(5, "5 GB per table replica"),
    "dynamodb_writes": Usage(5, "5 million writes a month per table replica"),
    "dynamodb_reads": Usage(20, "20 million reads a month per table replica"),
    "efs_gb": Usage(100, "100 GB per file system (seed 002's shared models)"),
    "ecr_gb": Usage(5, "5 GB of images per repository"),
    "backup_gb": Usage(50, "50 GB of backups per vault"),
    "aurora_gb": Usage(20, "20 GB of Aurora storage per cluster"),
    "aurora_io": Usage(10, "10 million Aurora I/O requests a month per cluster"),
    "glue_hours": Usage(5, "one 10-minute run a day of each Glue job (5 hours a month at its DPUs)"),
    "crawler_dpu_hours": Usage(10, "one run a day of each crawler, billed at its 10-minute minimum with 2 DPUs"),
    "athena_tb": Usage(0.1, "0.1 TB scanned a month per Athena workgroup"),
    "kinesis_gb": Usage(10, "10 GB a month into each stream"),
    "firehose_gb": Usage(10, "10 GB a month through each delivery stream"),
    "metric_updates_k": Usage(4320, "100 metrics streamed each minute: 4.32 million updates a month per metric stream"),
    "msk_partitions": Usage(10, "10 partitions per serverless Kafka cluster"),
    "aps_samples": Usage(100, "100 million samples a month into each Prometheus workspace"),
    "aps_collected": Usage(10, "100 million samples a month collected by each managed Prometheus collector"),
    "guardduty_events": Usage(1, "1 million CloudTrail events a month analysed by GuardDuty"),
    "securityhub_checks": Usage(5000, "5,000 Security Hub checks a month"),
    "config_items": Usage(2000, "2,000 configuration items recorded a month"),
    "config_evaluations": Usage(1000, "1,000 evaluations a month per Config rule"),
    "trail_data_events": Usage(10, "1 million S3 data events a month per trail that records them"),
    "xray_traces": Usage(1, "1 million traces a month"),
    "cloudfront_gb": Usage(1000, "1 TB a month out of each distribution (seed 002)"),
    "cloudfront_requests": Usage(1000, "10 million HTTPS requests a month per distribution"),
    "waf_requests": Usage(10, "10 million requests a month per web ACL"),
    "events_custom": Usage(1, "1 million custom events a month per event bus"),
    "events_archive_gb": Usage(1, "1 GB archived per event archive"),
    "sns_requests": Usage(1, "1 million publishes a month per topic"),
    "sqs_requests": Usage(1, "1 million requests a month per queue"),
    "lambda_requests": Usage(0.1, "100,000 invocations a month per function, of 200 ms each"),
    "lambda_gb_seconds": Usage(20000, "100,000 invocations a month per function, of 200 ms each"),
    "sfn_transitions": Usage(1, "1,000 state transitions a month per state machine"),
    "scheduled_task_hours": Usage(0.5, "30 minutes per run of each scheduled ECS task, as often as its schedule fires"),
    "route53_queries": Usage(1, "1 million queries a month per non-alias record"),
    "guardrail_text_units": Usage(100, "100,000 text units (of 1,000 characters) a month through each guardrail"),
}


@dataclass(frozen=True)
class Charge:
    """`quantity` units of `ref` a month for one resource, under a `component` heading; `basis` says how
    the quantity was reached, `usage` the assumption it rests on (None: the resource's own size)."""

    component: str
    ref: PriceRef
    quantity: float
    basis: str
    usage: Usage | None = None


Rule = Callable[[Resource], Iterator[Charge]]
RULES: dict[str, Rule] = {}


def rule(*types: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        for resource_type in types:
            RULES[resource_type] = function
        return function

    return register


def used(component: str, price: PriceRef, usage_key: str, count: float = 1) -> Charge:
    usage = USAGE[usage_key]
    return Charge(component, price, usage.quantity * count, f"{_n(count)} x {_n(usage.quantity)}", usage)


def hours(component: str, price: PriceRef, count: float, what: str) -> Charge:
    return Charge(component, price, count * HOURS_PER_MONTH, f"{_n(count)} {what} x {HOURS_PER_MONTH} h")


FREE: dict[str, str] = {
    "AWS::CDK::Metadata": "CDK's version record, not a resource",
    "AWS::IAM::Role": "IAM is free",
    "AWS::ECR::ReplicationConfiguration": "free itself: the copies bill as storage in each region's repositories",
    "AWS::IAM::Policy": "IAM is free",
    "AWS::IAM::ManagedPolicy": "IAM is free",
    "AWS::EC2::Subnet": "free",
    "AWS::EC2::RouteTable": "free",
    "AWS::EC2::Route": "free",
    "AWS::EC2::SubnetRouteTableAssociation": "free",
    "AWS::EC2::NetworkAcl": "free",
    "AWS::EC2::NetworkAclEntry": "free",
    "AWS::EC2::SubnetNetworkAclAssociation": "free",
    "AWS::EC2::SecurityGroup": "free",
    "AWS::EC2::SecurityGroupIngress": "free",
    "AWS::EC2::SecurityGroupEgress": "free",
    "AWS::EC2::InternetGateway": "free (its traffic is data transfer, counted at the load balancer)",
    "AWS::EC2::VPCGatewayAttachment": "free",
    "AWS::EC2::LaunchTemplate": "free; its instances and volumes are priced with their node group",
    "AWS::EC2::FlowLog": "free; its records are log ingestion, priced at the log group",
    "AWS::EC2::TransitGateway": "free; its attachments are priced",
    "AWS::EC2::TransitGatewayRouteTable": "free",
    "AWS::EC2::TransitGatewayRouteTableAssociation": "free",
    "AWS::EC2::TransitGatewayRouteTablePropagation": "free",
    "AWS::EC2::TransitGatewayRoute": "free",
    "AWS::KMS::Alias": "free",
    "AWS::Logs::LogStream": "free; its events are priced at the log group",
    "AWS::Logs::ResourcePolicy": "free",
    "AWS::S3::BucketPolicy": "free",
    "AWS::SNS::TopicPolicy": "free",
    "AWS::SNS::Subscription": "free; deliveries to SQS, e-mail and HTTPS are part of the topic's publishes",
    "AWS::SQS::QueuePolicy": "free",
    "AWS::SecretsManager::ResourcePolicy": "free",
    "AWS::SecretsManager::SecretTargetAttachment": "free",
    "AWS::SecretsManager::RotationSchedule": "free; the rotation function's few runs a month are Lambda's free tier",
    "AWS::SSM::Parameter": "standard-tier parameters are free",
    "AWS::ECS::Cluster": "free; tasks are priced at their service",
    "AWS::ECS::ClusterCapacityProviderAssociations": "free",
    "AWS::ECS::TaskDefinition": "free; priced when a service or job runs it",
    "AWS::EKS::Addon": "free; runs on the node groups",
    "AWS::EKS::AccessEntry": "free",
    "AWS::EKS::PodIdentityAssociation": "free",
    "AWS::EKS::FargateProfile": "free; its pods are billed per vCPU- and GB-hour while they run (none at deploy)",
    "AWS::EFS::AccessPoint": "free",
    "AWS::EFS::MountTarget": "free",
    "AWS::ElastiCache::SubnetGroup": "free",
    "AWS::Neptune::DBSubnetGroup": "free",
    "AWS::Neptune::DBClusterParameterGroup": "free",
    "AWS::DAX::SubnetGroup": "free",
    "AWS::DAX::ParameterGroup": "free",
    "AWS::Neptune::DBCluster": "its instances are priced (storage and I/O by use are left out, as for Aurora's)",
    "AWS::RDS::DBSubnetGroup": "free",
    "AWS::RDS::DBParameterGroup": "free",
    "AWS::RDS::DBClusterParameterGroup": "free",
    "AWS::RDS::DBProxyTargetGroup": "free; the proxy is priced by what it targets",
    "AWS::RDS::GlobalCluster": "free; its clusters and replicated writes are priced",
    "AWS::ElasticLoadBalancingV2::Listener": "free; priced at the load balancer",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "free",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "free",
    "AWS::Events::Rule": "free for AWS service events; custom events are priced at their bus",
    "AWS::Glue::Database": "free within the Data Catalog's first million objects",
    "AWS::Glue::Table": "free within the Data Catalog's first million objects",
    "AWS::Glue::SecurityConfiguration": "free",
    "AWS::Glue::Workflow": "free; its jobs and crawlers are priced",
    "AWS::Glue::Trigger": "free",
    "AWS::Glue::DataQualityRuleset": "free; evaluated by a Glue job, priced there",
    "AWS::Lambda::LayerVersion": "free (its storage is within Lambda's code storage allowance)",
    "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption": "free; its log events are priced at the log group",
    "AWS::Budgets::Budget": "budgets without actions are free",
    "AWS::CE::AnomalyMonitor": "free",
    "AWS::CE::AnomalySubscription": "free",
    "AWS::CertificateManager::Certificate": "public ACM certificates are free",
    "AWS::CloudFront::OriginAccessControl": "free",
    "AWS::CloudFront::ResponseHeadersPolicy": "free",
    "AWS::Config::DeliveryChannel": "free; recorded items are priced at the recorder",
    "AWS::SecurityHub::Standard": "free; checks are priced at the hub",
    "AWS::XRay::Group": "free; traces are priced at the sampling rule",
    "AWS::APS::RuleGroupsNamespace": "free; rule evaluation is query samples of the workspace, within its estimate",
    "AWS::WAFv2::LoggingConfiguration": "free; the logs are priced at their log group",
    "AWS::WAFv2::WebACLAssociation": "free",
    "AWS::Backup::BackupPlan": "free; backups are priced at the vault",
    "AWS::Backup::BackupSelection": "free",
    "AWS::IAM::RolePolicy": "IAM is free",
    "AWS::IAM::InstanceProfile": "IAM is free",
    "AWS::IAM::OIDCProvider": "IAM is free",
    "AWS::LakeFormation::DataLakeSettings": "Lake Formation permissions are free",
    "AWS::LakeFormation::Permissions": "Lake Formation permissions are free",
    "AWS::LakeFormation::PrincipalPermissions": "Lake Formation permissions are free",
    "AWS::LakeFormation::Resource": "Lake Formation permissions are free",
    "AWS::LakeFormation::Tag": "Lake Formation permissions are free",
    "AWS::LakeFormation::TagAssociation": "Lake Formation permissions are free",
    "AWS::Glue::Connection": "free; the jobs using it are priced",
    "AWS::Glue::Partition": "free within the Data Catalog's first million objects",
    "AWS::Logs::SubscriptionFilter": "free; what it delivers to is priced there",
    "AWS::Logs::QueryDefinition": "free; queries are billed per GB scanned when run",
    "AWS::CloudWatch::AnomalyDetector": "free; an alarm on its band is priced at the alarm (3 metrics)",
    "AWS::SNS::TopicInlinePolicy": "free",
    "AWS::SQS::QueueInlinePolicy": "free",
    "AWS::ApplicationAutoScaling::ScalableTarget": "Application Auto Scaling is free; what it scales is priced",
    "AWS::SageMaker::Model": "free; its endpoint configuration's instances are priced",
    "AWS::SageMaker::Endpoint": "free; its endpoint configuration's instances are priced",
    "AWS::Bedrock::GuardrailVersion": "free; the guardrail's use is priced with the guardrail",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "Application Auto Scaling is free; what it scales is priced",
    "AWS::Serverless::Application": "a nested stack of a rotation function: a few Lambda runs a month, free tier",
}
"""Types that cost nothing by themselves, each with the reason."""
FREE_PREFIXES = {"Custom::": "a custom resource: its Lambda runs only while CloudFormation deploys"}


@rule("AWS::EKS::Cluster")
def _eks_cluster(resource: Resource) -> Iterator[Charge]:
    yield hours("EKS control plane", ref("eks:cluster-hour", "hour", "AmazonEKS", tiertype="HAStandard"), 1, "cluster")


@rule("AWS::EKS::Nodegroup")
def _node_group(resource: Resource) -> Iterator[Charge]:
    properties = resource.properties
    desired = properties["ScalingConfig"].get("DesiredSize", properties["ScalingConfig"]["MinSize"])
    instance_type = properties["InstanceTypes"][0]
    spot = properties.get("CapacityType") == "SPOT"
    charge = hours("node groups", ec2_instance(instance_type), desired, f"x {instance_type}")
    if spot:
        charge = Charge(
            charge.component, charge.ref, charge.quantity * SPOT_FACTOR, f"{charge.basis} x {SPOT_FACTOR} (Spot)"
        )
    yield charge
    volume = _launch_template_volume(resource)
    yield Charge("node groups", GP3, desired * volume, f"{_n(desired)} x {_n(volume)} GB root volume")


def _launch_template_volume(resource: Resource) -> float:
    template_id = resource.properties.get("LaunchTemplate", {}).get("Id", {}).get("Ref")
    size = 20.0  # EKS's default root volume without a launch template
    if template_id:
        data = resource.stack.template["Resources"][template_id]["Properties"]["LaunchTemplateData"]
        size = sum(float(m["Ebs"]["VolumeSize"]) for m in data.get("BlockDeviceMappings", []) if "Ebs" in m)
    return size


@rule("AWS::EC2::NatGateway")
def _nat(resource: Resource) -> Iterator[Charge]:
    yield hours(
        "NAT gateways",
        ref("vpc:nat-hour", "hour", "AmazonEC2", group="NGW:NatGateway", operation="NatGateway"),
        1,
        "gateway",
    )
    yield used(
        "NAT gateways",
        ref(
            "vpc:nat-gb", "GB", "AmazonEC2", group="NGW:NatGateway", operation="NatGateway", productFamily="NAT Gateway"
        ),
        "nat_gb",
    )


@rule("AWS::EC2::EIP")
def _eip(resource: Resource) -> Iterator[Charge]:
    yield hours("public IPv4 addresses", PUBLIC_IPV4, 1, "address")


@rule("AWS::EC2::VPCEndpoint")
def _endpoint(resource: Resource) -> Iterator[Charge]:
    if resource.properties.get("VpcEndpointType", "Gateway") == "Gateway":
        return  # S3 and DynamoDB gateway endpoints are free
    azs = len(resource.properties.get("SubnetIds", [])) or 1
    yield hours(
        "interface endpoints",
        ref("vpc:endpoint-az-hour", "hour", "AmazonVPC", group="VpcEndpoint", endpointType="PrivateLink"),
        azs,
        "AZ",
    )
    yield used(
        "interface endpoints",
        ref(
            "vpc:endpoint-gb",
            "GB",
            "AmazonVPC",
            group="VpcEndpoint",
            endpointType="PrivateLink",
            productFamily="VpcEndpoint",
        ),
        "endpoint_gb",
    )


@rule("AWS::EC2::TransitGatewayVpcAttachment")
def _tgw_attachment(resource: Resource) -> Iterator[Charge]:
    yield hours(
        "Transit Gateway",
        ref("tgw:attachment-hour", "hour", "AmazonVPC", group="AWSTransitGateway", operation="TransitGatewayVPC"),
        1,
        "attachment",
    )
    yield used(
        "Transit Gateway",
        ref(
            "tgw:gb",
            "GB",
            "AmazonVPC",
            group="AWSTransitGateway",
            operation="TransitGatewayVPC",
            productFamily="Transit Gateway Data Processing",
        ),
        "tgw_gb",
    )


@rule("AWS::EC2::TransitGatewayPeeringAttachment")
def _tgw_peering(resource: Resource) -> Iterator[Charge]:
    yield hours(
        "Transit Gateway",
        ref("tgw:attachment-hour", "hour", "AmazonVPC", group="AWSTransitGateway", operation="TransitGatewayVPC"),
        1,
        "peering attachment",
    )
    yield used("data transfer", ref("transfer:inter-region-gb", "GB"), "inter_region_gb")


@rule("AWS::EC2::VPC")
def _vpc(resource: Resource) -> Iterator[Charge]:
    yield used("data transfer", ref("transfer:inter-az-gb", "GB"), "inter_az_gb", 2)


@rule("AWS::ElasticLoadBalancingV2::LoadBalancer")
def _load_balancer(resource: Resource) -> Iterator[Charge]:
    kind = resource.properties.get("Type", "application")
    yield hours(
        "load balancers",
        ref(
            f"elb:{kind}-hour",
            "hour",
            "AWSELB",
            productFamily="Load Balancer-Application" if kind == "application" else "Load Balancer-Network",
            operation="LoadBalancing:Application" if kind == "application" else "LoadBalancing:Network",
        ),
        1,
        "load balancer",
    )
    yield used("load balancers", ref(f"elb:{kind}-lcu-hour", "LCU-hour"), "alb_lcu", HOURS_PER_MONTH)
    if resource.properties.get("Scheme", "internet-facing") == "internet-facing":
        azs = len(resource.properties.get("Subnets", [])) or len(resource.properties.get("SubnetMappings", [])) or 1
        yield hours("public IPv4 addresses", PUBLIC_IPV4, azs, "address (one per AZ)")
        yield used("data transfer", ref("transfer:internet-gb", "GB"), "internet_gb")


@rule("AWS::RDS::DBInstance")
def _db_instance(resource: Resource) -> Iterator[Charge]:
    properties = resource.properties
    instance_class = properties["DBInstanceClass"]
    if instance_class == "db.serverless":
        acu = _serverless_cluster(resource)["MinCapacity"]
        yield hours(
            "databases",
            ref(
                "aurora:serverless-v2-acu-hour",
                "ACU-hour",
                "AmazonRDS",
                productFamily="ServerlessV2",
                databaseEngine="Aurora PostgreSQL",
            ),
            float(acu),
            "ACU (its minimum)",
        )
        return
    engine = properties.get("Engine", "postgres")
    multi_az = bool(properties.get("MultiAZ", False))
    deployment = "Multi-AZ" if multi_az else "Single-AZ"
    yield hours(
        "databases",
        ref(
            f"rds:{instance_class}:{engine}:{deployment.lower()}",
            "hour",
            "AmazonRDS",
            instanceType=instance_class,
            databaseEngine="PostgreSQL",
            deploymentOption=deployment,
        ),
        1,
        f"x {instance_class} {deployment}",
    )
    if "DBClusterIdentifier" not in properties:
        storage = float(properties.get("AllocatedStorage", 20)) * (2 if multi_az else 1)
        yield Charge(
            "databases",
            ref(
                "rds:gp3-gb-month",
                "GB-month",
                "AmazonRDS",
                volumeType="General Purpose-GP3",
                deploymentOption="Single-AZ",
                databaseEngine="PostgreSQL",
            ),
            storage,
            f"{_n(storage)} GB allocated",
        )


def _serverless_cluster(resource: Resource) -> dict[str, Any]:
    cluster_id = resource.properties["DBClusterIdentifier"]["Ref"]
    cluster = resource.stack.template["Resources"][cluster_id]["Properties"]
    scaling: dict[str, Any] = cluster["ServerlessV2ScalingConfiguration"]
    return scaling


@rule("AWS::RDS::DBCluster")
def _db_cluster(resource: Resource) -> Iterator[Charge]:
    yield used(
        "databases",
        ref(
            "aurora:gb-month",
            "GB-month",
            "AmazonRDS",
            productFamily="Database Storage",
            databaseEngine="Aurora PostgreSQL",
            volumeType="General Purpose-Aurora",
        ),
        "aurora_gb",
    )
    yield used(
        "databases",
        ref(
            "aurora:million-io",
            "million I/O",
            "AmazonRDS",
            productFamily="System Operation",
            databaseEngine="Aurora PostgreSQL",
            group="Aurora I/O Operation",
        ),
        "aurora_io",
    )


@rule("AWS::RDS::DBProxy")
def _db_proxy(resource: Resource) -> Iterator[Charge]:
    """RDS Proxy bills the capacity behind it: the ACUs of an Aurora Serverless v2 cluster (at least 8) or
    the vCPUs of an instance (at least 2)."""
    templates = resource.stack.template["Resources"]
    (target,) = [
        body["Properties"]
        for body in templates.values()
        if body["Type"] == "AWS::RDS::DBProxyTargetGroup"
        and body["Properties"].get("DBProxyName") == {"Ref": resource.logical_id}
    ]
    if target.get("DBClusterIdentifiers"):
        cluster_id = target["DBClusterIdentifiers"][0]["Ref"]
        instances = [
            b
            for b in templates.values()
            if b["Type"] == "AWS::RDS::DBInstance" and b["Properties"].get("DBClusterIdentifier") == {"Ref": cluster_id}
        ]
        minimum = float(templates[cluster_id]["Properties"]["ServerlessV2ScalingConfiguration"]["MinCapacity"])
        acus = max(8.0, minimum * len(instances))
        yield hours(
            "database proxy",
            ref("rdsproxy:acu-hour", "ACU-hour", "AmazonRDS", productFamily="RDS Proxy", group="RDS Proxy Serverless"),
            acus,
            "ACU (the proxy's minimum)",
        )
    else:
        instance = templates[target["DBInstanceIdentifiers"][0]["Ref"]]["Properties"]
        vcpus = max(2, _vcpus(instance["DBInstanceClass"]))
        yield hours(
            "database proxy",
            ref("rdsproxy:vcpu-hour", "vCPU-hour", "AmazonRDS", productFamily="RDS Proxy", group="RDS Proxy"),
            vcpus,
            "vCPU (the proxy's minimum)",
        )


def _vcpus(instance_class: str) -> int:
    """vCPUs of an instance size: 2 up to large, 4 per xlarge."""
    size = instance_class.rsplit(".", 1)[-1]
    match = re.fullmatch(r"(\d*)xlarge", size)
    return 2 if match is None else 4 * int(match.group(1) or 1)


@rule("AWS::ElastiCache::ReplicationGroup")
def _cache(resource: Resource) -> Iterator[Charge]:
    properties = resource.properties
    node_type = properties["CacheNodeType"]
    engine = properties.get("Engine", "redis")
    nodes = properties.get("NumCacheClusters") or properties.get("NumNodeGroups", 1) * (
        1 + properties.get("ReplicasPerNodeGroup", 0)
    )
    yield hours(
        "cache nodes",
        ref(
            f"elasticache:{node_type}:{engine}",
            "hour",
            "AmazonElastiCache",
            instanceType=node_type,
            cacheEngine=engine.capitalize(),
        ),
        nodes,
        f"x {node_type}",
    )


@rule("AWS::Neptune::DBInstance")
def _graph(resource: Resource) -> Iterator[Charge]:
    """A provisioned instance by its class; a serverless one at its cluster's minimum NCUs, all month."""
    instance_class = resource.properties["DBInstanceClass"]
    if instance_class != "db.serverless":
        yield hours("graph instances", ref(f"neptune:{instance_class}", "hour", "AmazonNeptune",
                                           instanceType=instance_class), 1, f"x {instance_class}")  # fmt: skip
        return
    cluster = resource.stack.template["Resources"][resource.properties["DBClusterIdentifier"]["Ref"]]["Properties"]
    ncus = float(cluster["ServerlessScalingConfiguration"]["MinCapacity"])
    yield hours("graph instances", ref("neptune:ncu-hour", "NCU-hour", "AmazonNeptune"), ncus, "NCU (the minimum)")


@rule("AWS::Timestream::InfluxDBInstance")
def _time_series(resource: Resource) -> Iterator[Charge]:
    properties = resource.properties
    instance_type, storage = properties["DbInstanceType"], properties.get("DbStorageType", "InfluxIOIncludedT1")
    standby = 2 if properties.get("DeploymentType") == "WITH_MULTIAZ_STANDBY" else 1
    yield hours("time series", ref(f"influxdb:{instance_type}", "hour", "AmazonTimestream"), standby,
                f"x {instance_type}")  # fmt: skip
    yield Charge("time series", ref(f"influxdb:{storage}-gb-month", "GB-month", "AmazonTimestream"),
                 standby * float(properties["AllocatedStorage"]),
                 f"{standby} x {_n(float(properties['AllocatedStorage']))} GB")  # fmt: skip


@rule("AWS::DAX::Cluster")
def _accelerator(resource: Resource) -> Iterator[Charge]:
    node_type = resource.properties["NodeType"]
    yield hours("DAX nodes", ref(f"dax:{node_type}", "hour", "AmazonDAX", instanceType=node_type),
                resource.properties["ReplicationFactor"], f"x {node_type}")  # fmt: skip


@rule("AWS::MSK::Cluster")
def _kafka(resource: Resource) -> Iterator[Charge]:
    properties = resource.properties
    brokers = properties["NumberOfBrokerNodes"]
    info = properties["BrokerNodeGroupInfo"]
    broker_type = info["InstanceType"]
    yield hours(
        "Kafka brokers",
        ref(f"msk:{broker_type}", "hour", "AmazonMSK", instanceType=broker_type.removeprefix("kafka.")),
        brokers,
        f"x {broker_type}",
    )
    volume = float(info.get("StorageInfo", {}).get("EBSStorageInfo", {}).get("VolumeSize", 1000))
    yield Charge(
        "Kafka brokers",
        ref("msk:gb-month", "GB-month", "AmazonMSK", productFamily="Storage"),
        brokers * volume,
        f"{_n(brokers)} x {_n(volume)} GB",
    )


@rule("AWS::MSK::ServerlessCluster")
def _kafka_serverless(resource: Resource) -> Iterator[Charge]:
    yield hours(
        "Kafka (serverless)",
        ref("msk:serverless-cluster-hour", "hour", "AmazonMSK", productFamily="Serverless Cluster"),
        1,
        "cluster",
    )
    yield used(
        "Kafka (serverless)", ref("msk:serverless-partition-hour", "partition-hour"), "msk_partitions", HOURS_PER_MONTH
    )


@rule("AWS::OpenSearchService::Domain")
def _search(resource: Resource) -> Iterator[Charge]:
    cluster = resource.properties["ClusterConfig"]
    count = cluster.get("InstanceCount", 1)
    data_type = cluster["InstanceType"]
    yield hours("search nodes", _search_instance(data_type), count, f"x {data_type}")
    if cluster.get("DedicatedMasterEnabled"):
        master = cluster["DedicatedMasterType"]
        yield hours("search nodes", _search_instance(master), cluster["DedicatedMasterCount"], f"x {master} (master)")
    ebs = resource.properties.get("EBSOptions", {})
    if ebs.get("EBSEnabled"):
        volume = float(ebs["VolumeSize"]) * count
        yield Charge(
            "search nodes",
            ref(
                f"opensearch:{ebs.get('VolumeType', 'gp3')}-gb-month",
                "GB-month",
                "AmazonES",
                productFamily="Elastic Search Volume",
                storageMedia=ebs.get("VolumeType", "gp3").upper(),
            ),
            volume,
            f"{_n(count)} x {_n(float(ebs['VolumeSize']))} GB",
        )


def _search_instance(instance_type: str) -> PriceRef:
    return ref(f"opensearch:{instance_type}", "hour", "AmazonES", instanceType=instance_type)


@rule("AWS::KMS::Key", "AWS::KMS::ReplicaKey")
def _key(resource: Resource) -> Iterator[Charge]:
    yield Charge("keys", ref("kms:key-month", "key-month"), 1, "1 key")


@rule("AWS::SecretsManager::Secret")
def _secret(resource: Resource) -> Iterator[Charge]:
    copies = 1 + len(resource.properties.get("ReplicaRegions", []))
    yield Charge(
        "secrets",
        ref("secretsmanager:secret-month", "secret-month", "AWSSecretsManager", group="SecretsManager-Secret"),
        copies,
        f"{copies} (with replicas)" if copies > 1 else "1 secret",
    )


@rule("AWS::CloudWatch::Alarm")
def _alarm(resource: Resource) -> Iterator[Charge]:
    """Alarms bill per metric: a metric-math alarm per metric it reads, an anomaly band as 3."""
    metrics = resource.properties.get("Metrics")
    count = 1 if not metrics else sum(1 for m in metrics if "MetricStat" in m) or 1
    if resource.properties.get("ThresholdMetricId"):
        count = 3 * max(1, count)
    yield Charge("alarms", ref("cloudwatch:alarm-metric-month", "alarm metric-month"), count, f"{count} metric(s)")


@rule("AWS::Logs::MetricFilter")
def _metric_filter(resource: Resource) -> Iterator[Charge]:
    """Each metric a filter publishes is a custom metric."""
    metrics = len(resource.properties.get("MetricTransformations", [])) or 1
    yield Charge(
        "metrics", ref("cloudwatch:custom-metric-month", "metric-month"), metrics, f"{metrics} custom metric(s)"
    )


@rule("AWS::CloudWatch::CompositeAlarm")
def _composite(resource: Resource) -> Iterator[Charge]:
    yield Charge("alarms", ref("cloudwatch:composite-alarm-month", "alarm-month"), 1, "1 composite alarm")


@rule("AWS::CloudWatch::Dashboard")
def _dashboard(resource: Resource) -> Iterator[Charge]:
    yield Charge(
        "dashboards",
        ref("cloudwatch:dashboard-month", "dashboard-month"),
        1,
        "1 dashboard (the account's first 3 are free; not deducted)",
    )


@rule("AWS::Logs::LogGroup")
def _log_group(resource: Resource) -> Iterator[Charge]:
    yield used("log ingestion", ref("cloudwatch:logs-ingested-gb", "GB"), "log_gb")
    yield used("log ingestion", ref("cloudwatch:logs-stored-gb-month", "GB-month"), "log_gb")


@rule("AWS::WAFv2::WebACL")
def _web_acl(resource: Resource) -> Iterator[Charge]:
    rules = len(resource.properties.get("Rules", []))
    yield Charge("web ACLs", ref("waf:webacl-month", "web ACL-month"), 1, "1 web ACL")
    yield Charge("web ACLs", ref("waf:rule-month", "rule-month"), rules, f"{rules} rules")
    yield used("web ACLs", ref("waf:million-requests", "million requests"), "waf_requests")


@rule("AWS::Kinesis::Stream")
def _stream(resource: Resource) -> Iterator[Charge]:
    if resource.properties.get("StreamModeDetails", {}).get("StreamMode") == "ON_DEMAND":
        yield hours("streaming", ref("kinesis:on-demand-stream-hour", "stream-hour"), 1, "on-demand stream")
        yield used("streaming", ref("kinesis:on-demand-gb-in", "GB"), "kinesis_gb")
    else:
        yield hours(
            "streaming", ref("kinesis:shard-hour", "shard-hour"), resource.properties.get("ShardCount", 1), "shard"
        )


@rule("AWS::KinesisFirehose::DeliveryStream")
def _firehose(resource: Resource) -> Iterator[Charge]:
    yield used("streaming", ref("firehose:gb", "GB"), "firehose_gb")


@rule("AWS::Lambda::EventSourceMapping")
def _event_source(resource: Resource) -> Iterator[Charge]:
    """On-demand mappings are free (invocations are priced at the function); a provisioned one pays for its
    minimum event pollers around the clock."""
    pollers = resource.properties.get("ProvisionedPollerConfig", {}).get("MinimumPollers")
    if pollers:
        yield hours("stream processing", ref("lambda:event-poller-unit-hour", "EPU-hour"), pollers,
                    "provisioned event poller")  # fmt: skip


@rule("AWS::KinesisAnalyticsV2::Application")
def _flink(resource: Resource) -> Iterator[Charge]:
    """KPUs: the parallelism over parallelism per KPU, plus one per application for orchestration; 50 GB of
    running application storage per KPU (Managed Flink pricing). Autoscaling can add KPUs under load."""
    parallelism = resource.properties["ApplicationConfiguration"]["FlinkApplicationConfiguration"].get(
        "ParallelismConfiguration", {}
    )
    kpus = -(-int(parallelism.get("Parallelism", 1)) // int(parallelism.get("ParallelismPerKPU", 1)))
    yield hours("stream processing", ref("kinesisanalytics:kpu-hour", "KPU-hour"), kpus + 1,
                "KPU (one for orchestration)")  # fmt: skip
    yield Charge("stream processing", ref("kinesisanalytics:running-storage-gb-month", "GB-month"), kpus * 50,
                 f"{_n(kpus)} x 50 GB running storage")  # fmt: skip


@rule("AWS::CloudWatch::MetricStream")
def _metric_stream(resource: Resource) -> Iterator[Charge]:
    yield used("monitoring", ref("cloudwatch:metric-stream-thousand-updates", "1,000 metric updates"),
               "metric_updates_k")  # fmt: skip


@rule("AWS::S3::Bucket")
def _bucket(resource: Resource) -> Iterator[Charge]:
    yield used(
        "object storage",
        ref("s3:standard-gb-month", "GB-month", "AmazonS3", storageClass="General Purpose", volumeType="Standard"),
        "s3_gb",
    )
    # Each replication rule copies into another region (the replica's storage bills there, as its own bucket):
    # the transfer out of this region, and S3 Replication Time Control's fee where the rule turns it on.
    for rule in resource.properties.get("ReplicationConfiguration", {}).get("Rules", []):
        yield used("replication", ref("transfer:inter-region-gb", "GB"), "s3_replicated_gb")
        if rule.get("Destination", {}).get("ReplicationTime", {}).get("Status") == "Enabled":
            yield used("replication", ref("s3:rtc-gb", "GB"), "s3_replicated_gb")


@rule("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
def _table(resource: Resource) -> Iterator[Charge]:
    if resource.properties.get("BillingMode") != "PAY_PER_REQUEST":
        yield Charge(
            "tables", ref("dynamodb:provisioned-capacity", "capacity"), 1, "provisioned capacity (not modelled)"
        )
        return
    replicas = len(resource.properties.get("Replicas", [])) or 1
    yield used("tables", ref("dynamodb:gb-month", "GB-month"), "dynamodb_gb", replicas)
    yield used("tables", ref("dynamodb:million-writes", "million writes"), "dynamodb_writes", replicas)
    yield used("tables", ref("dynamodb:million-reads", "million reads"), "dynamodb_reads", replicas)


@rule("AWS::EFS::FileSystem")
def _file_system(resource: Resource) -> Iterator[Charge]:
    yield used(
        "file systems",
        ref(
            "efs:standard-gb-month",
            "GB-month",
            "AmazonEFS",
            storageClass="General Purpose",
            usagetype="TimedStorage-ByteHrs",
        ),
        "efs_gb",
    )


@rule("AWS::ECR::Repository")
def _repository(resource: Resource) -> Iterator[Charge]:
    yield used("image repositories", ref("ecr:gb-month", "GB-month"), "ecr_gb")


@rule("AWS::Backup::BackupVault")
def _vault(resource: Resource) -> Iterator[Charge]:
    yield used("backups", ref("backup:warm-gb-month", "GB-month"), "backup_gb")


GLUE_DPUS = {"G.025X": 0.25, "G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8, "Standard": 1}


@rule("AWS::Glue::Job")
def _glue_job(resource: Resource) -> Iterator[Charge]:
    properties = resource.properties
    dpus = properties.get("NumberOfWorkers", 1) * GLUE_DPUS[properties.get("WorkerType", "Standard")]
    yield used("Glue", ref("glue:dpu-hour", "DPU-hour"), "glue_hours", dpus)


@rule("AWS::Glue::Crawler")
def _crawler(resource: Resource) -> Iterator[Charge]:
    yield used("Glue", ref("glue:dpu-hour", "DPU-hour"), "crawler_dpu_hours")


@rule("AWS::Athena::WorkGroup")
def _workgroup(resource: Resource) -> Iterator[Charge]:
    yield used("queries", ref("athena:tb-scanned", "TB"), "athena_tb")


@rule("AWS::APS::Workspace")
def _prometheus(resource: Resource) -> Iterator[Charge]:
    yield used("metrics (Prometheus)", ref("aps:million-samples", "million samples"), "aps_samples")


@rule("AWS::APS::Scraper")
def _scraper(resource: Resource) -> Iterator[Charge]:
    """A managed collector bills the hours it is on and the samples it collects (ingesting them into the
    workspace is priced there)."""
    yield hours("metrics (Prometheus)", ref("aps:collector-hour", "collector-hour"), 1, "collector")
    yield used("metrics (Prometheus)", ref("aps:10m-samples-collected", "10 million samples"), "aps_collected")


@rule("AWS::SageMaker::EndpointConfig")
def _inference(resource: Resource) -> Iterator[Charge]:
    """Real-time inference bills each variant's instances by the hour, at their initial (minimum) count."""
    for variant in resource.properties["ProductionVariants"]:
        instance_type = variant["InstanceType"]
        price = ref(f"sagemaker:{instance_type}:hosting", "hour")
        yield hours("inference (SageMaker)", price, variant["InitialInstanceCount"], f"x {instance_type}")


@rule("AWS::Bedrock::Guardrail")
def _guardrail(resource: Resource) -> Iterator[Charge]:
    """A guardrail bills the text it evaluates: its content filters and, when it has one, its PII filter. The
    models' tokens are billed per request and are not a resource of the templates."""
    yield used("AI (Bedrock guardrail)", ref("bedrock:guardrail-content-1k-units", "1,000 text units"),
               "guardrail_text_units")  # fmt: skip
    if resource.properties.get("SensitiveInformationPolicyConfig"):
        yield used("AI (Bedrock guardrail)", ref("bedrock:guardrail-pii-1k-units", "1,000 text units"),
                   "guardrail_text_units")  # fmt: skip


@rule("AWS::GuardDuty::Detector")
def _guardduty(resource: Resource) -> Iterator[Charge]:
    yield used("threat detection", ref("guardduty:million-events", "million events"), "guardduty_events")


@rule("AWS::SecurityHub::Hub")
def _security_hub(resource: Resource) -> Iterator[Charge]:
    yield used("threat detection", ref("securityhub:check", "check"), "securityhub_checks")


@rule("AWS::Config::ConfigurationRecorder")
def _recorder(resource: Resource) -> Iterator[Charge]:
    yield used("configuration recording", ref("config:item", "item"), "config_items")


@rule("AWS::Config::ConfigRule")
def _config_rule(resource: Resource) -> Iterator[Charge]:
    yield used("configuration recording", ref("config:evaluation", "evaluation"), "config_evaluations")


@rule("AWS::CloudTrail::Trail")
def _trail(resource: Resource) -> Iterator[Charge]:
    selectors = resource.properties.get("EventSelectors", []) + resource.properties.get("AdvancedEventSelectors", [])
    if selectors and any("DataResources" in s or "FieldSelectors" in s for s in selectors):
        yield used("audit trail", ref("cloudtrail:100k-data-events", "100,000 events"), "trail_data_events")
    # The first copy of management events is free.


@rule("AWS::XRay::SamplingRule")
def _sampling(resource: Resource) -> Iterator[Charge]:
    yield used("tracing", ref("xray:million-traces", "million traces"), "xray_traces")


@rule("AWS::CloudFront::Distribution")
def _distribution(resource: Resource) -> Iterator[Charge]:
    yield used("CDN", ref("cloudfront:gb-out", "GB"), "cloudfront_gb")
    yield used("CDN", ref("cloudfront:10k-https-requests", "10,000 requests"), "cloudfront_requests")


@rule("AWS::Events::EventBus")
def _bus(resource: Resource) -> Iterator[Charge]:
    yield used("messaging", ref("events:million-custom-events", "million events"), "events_custom")


@rule("AWS::Events::Archive")
def _archive(resource: Resource) -> Iterator[Charge]:
    yield used("messaging", ref("events:archive-gb", "GB"), "events_archive_gb")


@rule("AWS::SNS::Topic")
def _topic(resource: Resource) -> Iterator[Charge]:
    yield used("messaging", ref("sns:million-publishes", "million requests"), "sns_requests")


@rule("AWS::SQS::Queue")
def _queue(resource: Resource) -> Iterator[Charge]:
    kind = "fifo" if resource.properties.get("FifoQueue") else "standard"
    yield used("messaging", ref(f"sqs:million-{kind}-requests", "million requests"), "sqs_requests")


@rule("AWS::Lambda::Function")
def _function(resource: Resource) -> Iterator[Charge]:
    memory_gb = float(resource.properties.get("MemorySize", 128)) / 1024
    yield used("functions", ref("lambda:million-requests", "million requests"), "lambda_requests")
    yield used("functions", ref("lambda:gb-second", "GB-second"), "lambda_gb_seconds", memory_gb)


@dataclass(frozen=True)
class FargateTask:
    """The size a task definition bills at on Fargate."""

    arch: str
    vcpu: float
    memory_gb: float
    extra_storage_gb: float
    """Ephemeral storage above the 20 GB every task gets free."""

    @classmethod
    def of(cls, resource: Resource, task_definition: Any) -> FargateTask:
        task = resource.stack.template["Resources"][task_definition["Ref"]]["Properties"]
        storage = float(task.get("EphemeralStorage", {}).get("SizeInGiB", 20))
        return cls(
            task.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64").lower(),
            float(task["Cpu"]) / 1024,
            float(task["Memory"]) / 1024,
            max(0.0, storage - 20),
        )

    def charges(self, task_hours: float, what: str, usage: Usage | None = None) -> Iterator[Charge]:
        """`task_hours` of this task a month, `what` saying how they were reached."""
        component = "containers (Fargate)"
        yield Charge(
            component,
            ref(f"fargate:{self.arch}-vcpu-hour", "vCPU-hour"),
            task_hours * self.vcpu,
            f"{what} x {_n(self.vcpu)} vCPU",
            usage,
        )
        yield Charge(
            component,
            ref(f"fargate:{self.arch}-gb-hour", "GB-hour"),
            task_hours * self.memory_gb,
            f"{what} x {_n(self.memory_gb)} GB",
            usage,
        )
        if self.extra_storage_gb:
            yield Charge(
                component,
                ref("fargate:ephemeral-gb-hour", "GB-hour"),
                task_hours * self.extra_storage_gb,
                f"{what} x {_n(self.extra_storage_gb)} GB storage above 20 GB",
                usage,
            )


@rule("AWS::ECS::Service")
def _service(resource: Resource) -> Iterator[Charge]:
    """A service at its desired count, on-demand: a queue-scaled one starts at 0 and costs only while it
    works (its scaled tasks are not counted; the base task of its strategy is on-demand FARGATE)."""
    desired = resource.properties.get("DesiredCount", 1)
    task = FargateTask.of(resource, resource.properties["TaskDefinition"])
    yield from task.charges(desired * HOURS_PER_MONTH, f"{desired} task(s) x {HOURS_PER_MONTH} h")


@rule("AWS::Scheduler::Schedule")
def _schedule(resource: Resource) -> Iterator[Charge]:
    """A schedule's invocations are within Scheduler's free 14 million a month; an ECS target's tasks are
    priced per run of the schedule, on-demand (the base task of the strategy), for the assumed duration."""
    target = resource.properties["Target"]
    ecs = target.get("EcsParameters")
    if ecs is None:
        return
    runs = runs_per_month(resource.properties["ScheduleExpression"])
    usage = USAGE["scheduled_task_hours"]
    tasks = float(ecs.get("TaskCount", 1))
    task_hours = runs * tasks * usage.quantity
    what = f"{_n(round(runs, 1))} runs x {_n(tasks)} task(s) x {_n(usage.quantity)} h"
    yield from FargateTask.of(resource, ecs["TaskDefinitionArn"]).charges(task_hours, what, usage)


DAYS_PER_MONTH = HOURS_PER_MONTH / 24


def runs_per_month(expression: str) -> float:
    """How often an EventBridge `rate(...)` or `cron(minutes hours day-of-month month day-of-week year)`
    expression fires in an average month."""
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if rate:
        per_hour = {"minute": 60.0, "hour": 1.0, "day": 1 / 24}[rate.group(2).rstrip("s")]
        return HOURS_PER_MONTH * per_hour / int(rate.group(1))
    cron = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression)
    if cron is None:
        raise ValueError(f"not a schedule expression: {expression}")
    minutes, hours_, day_of_month, month, day_of_week, _year = cron.groups()
    days = DAYS_PER_MONTH
    if day_of_month not in ("*", "?"):
        days = _field_count(day_of_month, 31)
    elif day_of_week not in ("*", "?"):
        days = _field_count(day_of_week, 7) * DAYS_PER_MONTH / 7
    months = _field_count(month, 12) / 12
    return _field_count(minutes, 60) * _field_count(hours_, 24) * days * months


def _field_count(field: str, size: int) -> float:
    """How many values one cron field matches (lists, ranges, steps, wildcards, day and month names; L, W
    and # as one day)."""
    count = 0.0
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            span = size
        elif "-" in base:
            low, high = (_cron_value(value) for value in base.split("-"))
            span = high - low + 1 if low is not None and high is not None else 1
        else:
            start = _cron_value(base)
            span = size - start if step and start is not None else 1
        count += -(-span // int(step)) if step else span
    return min(count, size)


CRON_NAMES = {
    name: index + 1
    for names in (("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), tuple(calendar.month_abbr)[1:])
    for index, name in enumerate(n.upper() for n in names)
}


def _cron_value(token: str) -> int | None:
    """A cron field's number or name (None when it is neither, e.g. L or 3#2)."""
    return int(token) if token.isdigit() else CRON_NAMES.get(token.upper())


@rule("AWS::Route53::RecordSet")
def _record(resource: Resource) -> Iterator[Charge]:
    if "AliasTarget" not in resource.properties:
        yield used("DNS", ref("route53:million-queries", "million queries"), "route53_queries")
    # Alias queries to AWS resources are free; the hosted zone is the user's own, not created here.


@rule("AWS::Route53::HealthCheck")
def _health_check(resource: Resource) -> Iterator[Charge]:
    """An AWS-endpoint health check (one reading a CloudWatch alarm is one) bills per month."""
    yield Charge("DNS", ref("route53:health-check-month", "health-check-month"), 1, "1 health check")


@rule("AWS::StepFunctions::StateMachine")
def _state_machine(resource: Resource) -> Iterator[Charge]:
    yield used("workflows", ref("sfn:1k-transitions", "1,000 transitions"), "sfn_transitions")


@dataclass(frozen=True)
class LineItem:
    """A charge priced: the stack it belongs to, the monthly USD (None: the table has no price for it)."""

    stack: str
    region: str
    charge: Charge
    unit_usd: float | None

    @property
    def monthly(self) -> float:
        return (self.unit_usd or 0.0) * self.charge.quantity


@dataclass(frozen=True)
class Unpriced:
    """A resource the estimate cannot price: a type with no rule (this tool's gap), or a price its region's
    table lacks (`make prices` fills it, with AWS credentials)."""

    stack: str
    resource: str
    reason: str
    no_rule: bool = False


@dataclass(frozen=True)
class Estimate:
    stage: str
    items: tuple[LineItem, ...]
    unpriced: tuple[Unpriced, ...]
    tables: dict[str, PriceTable]

    @property
    def total(self) -> float:
        return sum(item.monthly for item in self.items)

    def by_stack(self) -> dict[str, dict[str, float]]:
        totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for item in self.items:
            totals[item.stack][item.charge.component] += item.monthly
        return {stack: dict(components) for stack, components in totals.items()}

    def assumptions(self) -> list[str]:
        return sorted({item.charge.usage.text for item in self.items if item.charge.usage is not None})


def charges(resource: Resource) -> Iterator[Charge] | str:
    """The charges of one resource, or the reason it has none (free), or raise KeyError for no rule."""
    if resource.type in FREE:
        return FREE[resource.type]
    for prefix, reason in FREE_PREFIXES.items():
        if resource.type.startswith(prefix):
            return reason
    return RULES[resource.type](resource)


def estimate(stage: StageAssembly, tables: dict[str, PriceTable] | None = None) -> Estimate:
    """Price every resource of `stage` with the tables of its regions (loaded from docs/prices/ by default)."""
    tables = dict(tables or {})
    items: list[LineItem] = []
    unpriced: list[Unpriced] = []
    for resource in stage.resources():
        region = resource.stack.region
        if region not in tables:
            tables[region] = PriceTable.load(region)
        table = tables[region]
        try:
            found = charges(resource)
        except KeyError:
            reason = f"no cost rule for {resource.type}"
            unpriced.append(Unpriced(resource.stack.name, resource.path, reason, no_rule=True))
            continue
        if isinstance(found, str):
            continue
        for charge in found:
            price = table.usd(charge.ref)
            if price is None:
                reason = f"{_table_path(region)} has no price for {charge.ref.key}"
                unpriced.append(Unpriced(resource.stack.name, resource.path, reason))
            items.append(LineItem(resource.stack.name, region, charge, price))
    return Estimate(stage.name, tuple(items), tuple(unpriced), tables)


def price_refs(assembly: CloudAssembly) -> dict[str, list[PriceRef]]:
    """Every price each region's table needs for the stages of `assembly` (what `make prices` refreshes)."""
    needed: dict[str, dict[str, PriceRef]] = defaultdict(dict)
    for stage in assembly.stages.values():
        for resource in stage.resources():
            try:
                found = charges(resource)
            except KeyError:
                continue
            if not isinstance(found, str):
                for charge in found:
                    needed[resource.stack.region][charge.ref.key] = charge.ref
    return {region: list(refs.values()) for region, refs in needed.items()}


def render(result: Estimate) -> str:
    """The estimate as printed: per stack and component, the total, the price tables' dates, the
    assumptions, and anything unpriced."""
    lines = [f"{result.stage}: monthly estimate in USD (on-demand prices, {HOURS_PER_MONTH} hours a month)"]
    by_stack = result.by_stack()
    for stack, components in by_stack.items():
        region = next(item.region for item in result.items if item.stack == stack)
        lines.append(f"  {stack} ({region}){_money(sum(components.values())):>{60 - len(stack) - len(region)}}")
        for component, amount in sorted(components.items(), key=lambda kv: -kv[1]):
            lines.append(f"      {component:<38}{_money(amount):>14}")
    lines.append(f"  total{_money(result.total):>59}")
    tables = (f"{region} as of {t.as_of} ({_table_path(region)})" for region, t in sorted(result.tables.items()))
    lines.append("prices: " + "; ".join(tables))
    lines.append(
        "not counted: Karpenter's nodes above each group's desired size, GPU burst capacity, ECS tasks a queue"
        f" scales up, the account's free tiers; Spot at {SPOT_FACTOR:.0%} of on-demand"
    )
    lines.append("usage assumed (edit USAGE in tools/cost.py):")
    lines += [f"  - {text}" for text in result.assumptions()]
    if result.unpriced:
        lines.append(f"NOT PRICED ({len(result.unpriced)}; the total leaves them out):")
        lines += [f"  - {u.stack}: {u.resource}: {u.reason}" for u in result.unpriced]
    return "\n".join(lines)


def detail(result: Estimate) -> str:
    """Every line item with its basis and unit price (`make cost DETAIL=1`)."""
    lines = []
    for item in sorted(result.items, key=lambda i: (i.stack, i.charge.component, i.charge.ref.key)):
        price = "unpriced" if item.unit_usd is None else f"${item.unit_usd:g}/{item.charge.ref.unit}"
        lines.append(f"{item.stack}\t{item.charge.component}\t{item.charge.basis} x {price}\t{_money(item.monthly)}")
    return "\n".join(lines)


def _table_path(region: str) -> Path:
    return (PRICES_DIR / f"{region}.json").relative_to(REPO_ROOT)


def _money(amount: float) -> str:
    return f"${amount:,.2f}"


def _n(value: float) -> str:
    return f"{value:g}"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make cost", description=__doc__)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--detail", action="store_true", help="print every line item")
    parser.add_argument("--config-dir", type=Path, default=LIVE_CONFIG, help="a folder of stage files")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        stage = ensure([args.stage], args.config_dir).stage(args.stage)
    except AssemblyError as error:
        print(error, file=sys.stderr)
        return 1
    result = estimate(stage)
    print(render(result))
    if args.detail:
        print(detail(result))
    return 1 if result.unpriced else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
