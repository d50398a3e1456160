"""Bedrock for the workloads (seed 000: LLM inference): the configured models only, each invocation through the
stage's guardrail, and model invocation logging to an encrypted log group and bucket."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct
from constructs.common.acknowledgments import acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.encryption_key import EncryptionKey
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.common.secure_bucket import SecureBucket

from environments.schema.ai import BedrockConfig, GuardrailConfig, InvocationLogsConfig

INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
"""What Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream are authorised as."""
GUARDRAIL_CONDITION = "bedrock:GuardrailIdentifier"
"""The condition key that carries the guardrail (ARN:version) a request applies (Bedrock user guide,
guardrails-permissions-id)."""
LOG_STREAM = "aws/bedrock/modelinvocations"
"""The stream Bedrock writes invocation logs to in the configured log group."""
LOG_PREFIX = "invocations"
LOGGING_ACTIONS = [
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
]
LAMBDA_POLICIES = ("service-role/AWSLambdaBasicExecutionRole", "service-role/AWSLambdaVPCAccessExecutionRole")


class BedrockAccess(Construct):
    """`guardrail` and its published `guardrail_version`; `guardrail_identifier` (what requests must name);
    `model_arns` (what the workload roles in `roles` may invoke, only with that guardrail); with
    `invocation_logs`, `log_group` and `log_bucket` where Bedrock logs every invocation of the account and region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bedrock_config: BedrockConfig,
        name: str,
        roles: Sequence[iam.IRole],
        storage_key: EncryptionKey,
        logs_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        versioned: bool,
        noncurrent_version_expiration_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        """`storage_key` encrypts the guardrail and the log bucket (its policy admits Bedrock's log delivery);
        `subnets` (the app tier) run the function that sets the logging configuration."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        assert bedrock_config.guardrail is not None, "the schema requires a guardrail with Bedrock"
        self.guardrail = self._guardrail(bedrock_config.guardrail, name, storage_key.key)
        self.guardrail_version = bedrock.CfnGuardrailVersion(
            self,
            "GuardrailVersion",
            guardrail_identifier=self.guardrail.attr_guardrail_arn,
            description="The version the workload roles' grants require",
        )
        self.guardrail_identifier = f"{self.guardrail.attr_guardrail_arn}:{self.guardrail_version.attr_version}"
        self.model_arns: list[str] = []
        profile_arns: list[str] = []
        for model in bedrock_config.models:
            if model.inference_profile:
                # A cross-Region profile routes to the model in any Region of its geography: the request is
                # authorised on the profile here and on the model where it lands (inference-profiles-prereq).
                profile_arns.append(
                    stack.format_arn(service="bedrock", resource="inference-profile", resource_name=model.invoked_id)
                )
                self.model_arns.append(f"arn:{stack.partition}:bedrock:*::foundation-model/{model.id}")
            else:
                self.model_arns.append(
                    stack.format_arn(service="bedrock", account="", resource="foundation-model", resource_name=model.id)
                )
        self.model_arns += profile_arns
        guarded = {"StringEquals": {GUARDRAIL_CONDITION: self.guardrail_identifier}}
        self.invoke_policy = iam.ManagedPolicy(
            self,
            "InvokePolicy",
            description="Invoke the configured Bedrock models, only through the stage's guardrail",
            roles=list(roles),
            statements=[
                iam.PolicyStatement(
                    sid="InvokeThroughGuardrail", actions=INVOKE_ACTIONS, resources=self.model_arns, conditions=guarded
                ),
                iam.PolicyStatement(
                    sid="ApplyGuardrail",
                    actions=["bedrock:ApplyGuardrail"],
                    resources=[self.guardrail.attr_guardrail_arn],
                ),
                iam.PolicyStatement(
                    sid="GuardrailKey",
                    actions=["kms:Decrypt"],
                    resources=[storage_key.key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"bedrock.{stack.region}.amazonaws.com"}},
                ),
            ],
        )
        wildcards = [m for m in self.model_arns if ":bedrock:*:" in m]
        acknowledge_all(
            self.invoke_policy,
            [
                (
                    f"AwsSolutions-IAM5[Resource::{stack.resolve(arn)}]",
                    "A cross-Region inference profile lands on this one model in any Region of its geography; the "
                    "model id is exact and the grant requires the guardrail.",
                )
                for arn in wildcards
            ],
        )
        self.log_group: logs.ILogGroup | None = None
        self.log_bucket: s3.IBucket | None = None
        if bedrock_config.invocation_logs:
            self.log_group, self.log_bucket = self._invocation_logging(
                bedrock_config.invocation_logs,
                storage_key=storage_key,
                logs_key=logs_key,
                access_log_bucket=access_log_bucket,
                vpc=vpc,
                subnets=subnets,
                versioned=versioned,
                noncurrent_version_expiration_days=noncurrent_version_expiration_days,
                removal_policy=removal_policy,
            )

    def _guardrail(self, config: GuardrailConfig, name: str, key: kms.IKey) -> bedrock.CfnGuardrail:
        """Content filters and PII handling from config, encrypted with the storage key."""
        return bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=name,
            description="Every Bedrock invocation of the platform's workloads applies this guardrail",
            blocked_input_messaging=config.blocked_message,
            blocked_outputs_messaging=config.blocked_message,
            kms_key_arn=key.key_arn,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(
                filters_config=[
                    bedrock.CfnGuardrail.ContentFilterConfigProperty(
                        type=f.type, input_strength=f.input, output_strength=f.output
                    )
                    for f in config.content_filters
                ]
            ),
            sensitive_information_policy_config=bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                pii_entities_config=[
                    bedrock.CfnGuardrail.PiiEntityConfigProperty(type=p.type, action=p.action) for p in config.pii
                ]
            )
            if config.pii
            else None,
        )

    def _invocation_logging(
        self,
        config: InvocationLogsConfig,
        *,
        storage_key: EncryptionKey,
        logs_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        versioned: bool,
        noncurrent_version_expiration_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> tuple[logs.ILogGroup, s3.Bucket]:
        """The account's invocation logging configuration (no CloudFormation type holds it), set by an
        AwsCustomResource calling PutModelInvocationLoggingConfiguration, to a log group Bedrock writes through a
        role and a bucket whose policy and key admit Bedrock for this account's requests only."""
        stack = cdk.Stack.of(self)
        source = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": stack.format_arn(service="bedrock", resource="*", resource_name=None)},
        }
        log_group = EncryptedLogGroup(
            self,
            "InvocationLogs",
            encryption_key=logs_key,
            retention_days=config.retention_days,
            removal_policy=removal_policy,
        ).log_group
        bucket = SecureBucket(
            self,
            "InvocationLogBucket",
            encryption_key=storage_key.key,
            access_log_bucket=access_log_bucket,
            versioned=versioned,
            noncurrent_version_expiration_days=noncurrent_version_expiration_days,
            removal_policy=removal_policy,
            lifecycle_rules=(
                s3.LifecycleRule(id="expire-invocations", expiration=cdk.Duration.days(config.retention_days)),
            ),
            stays_in_region_because="Bedrock's record of this region's invocations, kept beside the log group it "
            "duplicates and expired after the same retention; Bedrock writes only to a bucket of its own region.",
        ).bucket
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BedrockInvocationLogs",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{LOG_PREFIX}/AWSLogs/{stack.account}/*")],
                conditions=source,
            )
        )
        storage_key.allow_services("BedrockInvocationLogs", ["bedrock.amazonaws.com"], ["kms:GenerateDataKey"], source)
        delivery = ManagedPolicyRole(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com", conditions=source),
            description="Bedrock writes model invocation logs to the platform's log group",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name=f"{log_group.log_group_name}:log-stream:{LOG_STREAM}",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                )
            ],
        )
        setter = ManagedPolicyRole(
            self,
            "SetterRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Sets and removes Bedrock's model invocation logging configuration",
            statements=[
                iam.PolicyStatement(sid="LoggingConfiguration", actions=LOGGING_ACTIONS, resources=["*"]),
                iam.PolicyStatement(
                    sid="PassDeliveryRole",
                    actions=["iam:PassRole"],
                    resources=[delivery.role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                ),
            ],
            aws_managed_policies=LAMBDA_POLICIES,
        )
        logging_config = {
            "cloudWatchConfig": {"logGroupName": log_group.log_group_name, "roleArn": delivery.role.role_arn},
            "s3Config": {"bucketName": bucket.bucket_name, "keyPrefix": LOG_PREFIX},
            "textDataDeliveryEnabled": config.text,
            "imageDataDeliveryEnabled": False,
            "embeddingDataDeliveryEnabled": False,
        }
        put = cr.AwsSdkCall(
            service="Bedrock",
            action="PutModelInvocationLoggingConfiguration",
            parameters={"loggingConfig": logging_config},
            physical_resource_id=cr.PhysicalResourceId.of(f"bedrock-invocation-logging-{stack.region}"),
        )
        setting = cr.AwsCustomResource(
            self,
            "LoggingConfiguration",
            on_create=put,
            on_update=put,
            on_delete=cr.AwsSdkCall(service="Bedrock", action="DeleteModelInvocationLoggingConfiguration"),
            role=setter.immutable_role,
            install_latest_aws_sdk=False,
            log_group=EncryptedLogGroup(
                self,
                "SetterLogs",
                encryption_key=logs_key,
                retention_days=config.retention_days,
                removal_policy=removal_policy,
            ).log_group,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
        )
        # Bedrock checks the destinations when the configuration is set: they must exist, and admit it, first.
        setting.node.add_dependency(delivery, bucket.policy or bucket, storage_key.key)
        function = stack.node.find_child("AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
        acknowledge_all(
            function,
            [
                ("NIST.800.53.R5-LambdaConcurrency", "Runs only while CloudFormation deploys this stack: one call."),
                ("NIST.800.53.R5-LambdaDLQ", "Invoked synchronously by CloudFormation, which reports failures itself."),
            ],
        )
        acknowledge_all(
            setter,
            [
                *(
                    (
                        f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]",
                        "AWS's execution policies for a function in a VPC: its own log streams and its ENIs.",
                    )
                    for policy in LAMBDA_POLICIES
                ),
                (
                    "AwsSolutions-IAM5[Resource::*]",
                    "Bedrock's invocation logging configuration is one per account and Region: "
                    "no resource-level permissions.",
                ),
            ],
        )
        return log_group, bucket
