"""Threat detection (seed 000), one per account and region: GuardDuty (EKS audit logs and runtime
monitoring, S3, malware protection), Security Hub (AWS FSBP and CIS), AWS Config (recorder, delivery,
managed rules), and Detective and Macie when asked. High and critical GuardDuty and Security Hub findings go
to an alert topic through EventBridge."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_detective as detective
from aws_cdk import aws_events as events
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_macie as macie
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_securityhub as securityhub
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.common.secure_bucket import SecureBucket

from environments.schema.observability import DetectionConfig

GUARDDUTY_FEATURES = {
    "EKS_AUDIT_LOGS": None,
    "RUNTIME_MONITORING": ["EKS_ADDON_MANAGEMENT", "ECS_FARGATE_AGENT_MANAGEMENT"],
    "S3_DATA_EVENTS": None,
    "EBS_MALWARE_PROTECTION": None,
    "RDS_LOGIN_EVENTS": None,
    "LAMBDA_NETWORK_LOGS": None,
}
SECURITY_HUB_STANDARDS = (
    "standards/aws-foundational-security-best-practices/v/1.0.0",
    "standards/cis-aws-foundations-benchmark/v/3.0.0",
)
GUARDDUTY_HIGH = 7
"""GuardDuty's severities: 7.0-8.9 high, 9.0-10.0 critical
(https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html)."""
SECURITY_HUB_LABELS = ["HIGH", "CRITICAL"]
"""ASFF Severity.Label values routed (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html)."""
CONFIG_RULES = (
    "S3_BUCKET_SSL_REQUESTS_ONLY",
    "ENCRYPTED_VOLUMES",
    "RDS_STORAGE_ENCRYPTED",
    "EKS_SECRETS_ENCRYPTED",
    "CLOUD_TRAIL_ENABLED",
    "VPC_FLOW_LOGS_ENABLED",
    "DYNAMODB_PITR_ENABLED",
)


class ThreatDetection(Construct):
    """Whatever `detection` turns on: `guardduty`, `security_hub`, `config_recorder` (with its bucket and
    `config_rules`), `detective`, `macie`; the attributes of services left off are None. `finding_rules` (by
    service) send the high and critical findings of the services this stage owns to `findings_target`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        detection: DetectionConfig,
        storage_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        versioned: bool,
        removal_policy: cdk.RemovalPolicy,
        findings_target: events.IRuleTarget,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.guardduty = (
            guardduty.CfnDetector(
                self,
                "GuardDuty",
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                features=[
                    guardduty.CfnDetector.CFNFeatureConfigurationProperty(
                        name=name,
                        status="ENABLED",
                        additional_configuration=[
                            guardduty.CfnDetector.CFNFeatureAdditionalConfigurationProperty(
                                name=extra, status="ENABLED"
                            )
                            for extra in extras
                        ]
                        if extras
                        else None,
                    )
                    for name, extras in GUARDDUTY_FEATURES.items()
                ],
            )
            if detection.guardduty
            else None
        )
        self.security_hub: securityhub.CfnHub | None = None
        if detection.security_hub:
            self.security_hub = securityhub.CfnHub(self, "SecurityHub", enable_default_standards=False)
            for standard in SECURITY_HUB_STANDARDS:
                securityhub.CfnStandard(
                    self,
                    standard.split("/")[1].title().replace("-", ""),
                    standards_arn=f"arn:{stack.partition}:securityhub:{stack.region}::{standard}",
                ).add_resource_dependency(self.security_hub)
        self.config_recorder: config.CfnConfigurationRecorder | None = None
        self.config_rules: list[config.ManagedRule] = []
        if detection.config_recorder:
            self._config(stack, storage_key, access_log_bucket, versioned, removal_policy)
        self.finding_rules = self._route_findings(detection, findings_target)
        self.detective = detective.CfnGraph(self, "Detective") if detection.detective else None
        self.macie = macie.CfnSession(self, "Macie", status="ENABLED") if detection.macie else None

    def _route_findings(self, detection: DetectionConfig, target: events.IRuleTarget) -> dict[str, events.Rule]:
        """GuardDuty findings of severity 7 and up, and new active Security Hub findings labelled HIGH or CRITICAL
        (GuardDuty's own, which Security Hub also imports, only once: through GuardDuty's rule)."""
        patterns: dict[str, events.EventPattern] = {}
        if detection.guardduty:
            patterns["guardduty"] = events.EventPattern(
                source=["aws.guardduty"],
                detail_type=["GuardDuty Finding"],
                detail={"severity": [{"numeric": [">=", GUARDDUTY_HIGH]}]},
            )
        if detection.security_hub:
            finding: dict[str, object] = {
                "Severity": {"Label": SECURITY_HUB_LABELS},
                "Workflow": {"Status": ["NEW"]},
                "RecordState": ["ACTIVE"],
            }
            if detection.guardduty:
                finding["ProductName"] = [{"anything-but": "GuardDuty"}]
            patterns["security_hub"] = events.EventPattern(
                source=["aws.securityhub"],
                detail_type=["Security Hub Findings - Imported"],
                detail={"findings": finding},
            )
        return {
            service: events.Rule(
                self,
                f"{''.join(part.title() for part in service.split('_'))}Findings",
                description=f"High and critical {service.replace('_', ' ')} findings to the critical topic",
                event_pattern=pattern,
                targets=[target],
            )
            for service, pattern in patterns.items()
        }

    def _config(
        self,
        stack: cdk.Stack,
        storage_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        versioned: bool,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        bucket = SecureBucket(
            self,
            "ConfigHistory",
            encryption_key=storage_key,
            access_log_bucket=access_log_bucket,
            versioned=versioned,
            noncurrent_version_expiration_days=365,
            removal_policy=removal_policy,
            stays_in_region_because="AWS Config's history of this region's resources; Config records each region "
            "on its own, and this bucket's copy is versioned here.",
        ).bucket
        principal = iam.ServicePrincipal("config.amazonaws.com")
        own_account = {"StringEquals": {"AWS:SourceAccount": stack.account}}
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ConfigAclCheck",
                principals=[principal],
                actions=["s3:GetBucketAcl", "s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions=own_account,
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ConfigDelivery",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"AWSLogs/{stack.account}/Config/*")],
                conditions=own_account,
            )
        )
        config_role = ManagedPolicyRole(
            self,
            "ConfigRole",
            assumed_by=principal,
            description="AWS Config recorder and delivery channel",
            aws_managed_policies=["service-role/AWS_ConfigRole"],
            statements=[
                iam.PolicyStatement(
                    sid="DeliveryKey", actions=["kms:GenerateDataKey", "kms:Encrypt"], resources=[storage_key.key_arn]
                )
            ],
        )
        acknowledge(
            config_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWS_ConfigRole]",
            "AWS Config's own service-role policy: read the configuration of every resource type it records.",
        )
        role = config_role.role
        self.config_recorder = config.CfnConfigurationRecorder(
            self,
            "Recorder",
            role_arn=role.role_arn,
            recording_group=config.CfnConfigurationRecorder.RecordingGroupProperty(
                all_supported=True, include_global_resource_types=True
            ),
        )
        channel = config.CfnDeliveryChannel(
            self,
            "Delivery",
            s3_bucket_name=bucket.bucket_name,
            s3_kms_key_arn=storage_key.key_arn,
            config_snapshot_delivery_properties=config.CfnDeliveryChannel.ConfigSnapshotDeliveryPropertiesProperty(
                delivery_frequency="TwentyFour_Hours"
            ),
        )
        # PutDeliveryChannel fails while the account has no recorder: create the recorder first.
        channel.node.add_dependency(self.config_recorder)
        for identifier in CONFIG_RULES:
            rule = config.ManagedRule(
                self, "".join(p.capitalize() for p in identifier.split("_")), identifier=identifier
            )
            rule.node.add_dependency(self.config_recorder)
            rule.node.add_dependency(channel)
            self.config_rules.append(rule)
