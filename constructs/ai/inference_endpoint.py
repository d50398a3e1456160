"""A SageMaker real-time inference endpoint (seed 000: custom ML models): model data from the models bucket, the
image from the platform's ECR, in the app tier with network isolation, encrypted with the stage's key, requests and
responses captured to an encrypted bucket, scaled on invocations per instance."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct
from constructs.common.acknowledgments import acknowledge, acknowledge_all
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.common.secure_bucket import SecureBucket

from environments.schema.ai import SageMakerConfig, has_local_storage

VARIANT = "primary"
"""The endpoint's one production variant (CloudWatch's VariantName)."""
CAPTURE_PREFIX = "capture"
SCALING_PRINCIPAL = "sagemaker.application-autoscaling.amazonaws.com"
ENI_READS = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets",
             "ec2:DescribeSecurityGroups"]  # fmt: skip
ENI_CHANGES = ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
               "ec2:DeleteNetworkInterfacePermission"]  # fmt: skip
"""What SageMaker does with the execution role to place a model in a VPC (SageMaker developer guide,
sagemaker-roles: CreateModel API execution role permissions)."""


class InferenceEndpoint(Construct):
    """`endpoint` (named `endpoint_name`, variant VARIANT), `model`, `execution_role`, `security_group` (the
    model's network interfaces in the app tier), `capture_bucket` and `log_group` (/aws/sagemaker/Endpoints/<name>)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sagemaker_config: SageMakerConfig,
        endpoint_name: str,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        models_bucket: s3.IBucket,
        repository: ecr.IRepository,
        storage_key: kms.IKey,
        logs_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        versioned: bool,
        noncurrent_version_expiration_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        config = sagemaker_config
        self.endpoint_name = endpoint_name
        self.capture_bucket = SecureBucket(
            self,
            "Capture",
            encryption_key=storage_key,
            access_log_bucket=access_log_bucket,
            versioned=versioned,
            noncurrent_version_expiration_days=noncurrent_version_expiration_days,
            removal_policy=removal_policy,
            stays_in_region_because="Samples of the endpoint's requests and responses, for monitoring the model "
            "here; the endpoint runs in the primary region only, so there is no failover that needs them.",
        ).bucket
        self.log_group = EncryptedLogGroup(
            self,
            "Logs",
            encryption_key=logs_key,
            retention_days=config.log_retention_days,
            removal_policy=removal_policy,
            log_group_name=f"/aws/sagemaker/Endpoints/{endpoint_name}",
        ).log_group
        # The model's containers are network-isolated: the group only lets SageMaker fetch the model data (S3,
        # through the gateway endpoint) and the image (the ECR endpoints) over HTTPS; nothing connects to it.
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="SageMaker model interfaces: HTTPS out to S3 and ECR only, nothing in",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "Model data and image (HTTPS)")
        model_data = models_bucket.arn_for_objects(config.model_data_key)
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}
        network_interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
        vpc_arn = stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id)
        group_arn = stack.format_arn(
            service="ec2", resource="security-group", resource_name=self.security_group.security_group_id
        )
        role = ManagedPolicyRole(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"SageMaker runs the {endpoint_name} endpoint's model",
            statements=[
                iam.PolicyStatement(sid="ModelData", actions=["s3:GetObject"], resources=[model_data]),
                iam.PolicyStatement(
                    sid="Image",
                    actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    resources=[repository.repository_arn],
                ),
                iam.PolicyStatement(sid="RegistryLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                iam.PolicyStatement(
                    sid="Capture",
                    actions=["s3:PutObject"],
                    resources=[self.capture_bucket.arn_for_objects(f"{CAPTURE_PREFIX}/*")],
                ),
                iam.PolicyStatement(
                    sid="StorageKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[storage_key.key_arn],
                    conditions=via_s3,
                ),
                iam.PolicyStatement(
                    sid="Logs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="PlaceInterfaces",
                    actions=["ec2:CreateNetworkInterface"],
                    resources=[
                        network_interfaces,
                        group_arn,
                        *(
                            stack.format_arn(service="ec2", resource="subnet", resource_name=subnet.subnet_id)
                            for subnet in subnets
                        ),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ManageInterfaces",
                    actions=ENI_CHANGES,
                    resources=[network_interfaces],
                    conditions={"ArnEquals": {"ec2:Vpc": vpc_arn}},
                ),
                iam.PolicyStatement(sid="DescribeNetwork", actions=ENI_READS, resources=["*"]),
            ],
        )
        self.execution_role = role.role
        acknowledge_all(
            role,
            [
                ("AwsSolutions-IAM5[Resource::*]",
                 "ecr:GetAuthorizationToken and EC2's Describe calls have no resource-level permissions."),
                (f"AwsSolutions-IAM5[Resource::{stack.resolve(network_interfaces)}]",
                 "The interfaces SageMaker creates for the model have ids only once created; changes to them are "
                 "conditioned on this VPC."),
                (f"AwsSolutions-IAM5[Resource::<{self._logical_id(self.capture_bucket)}.Arn>/{CAPTURE_PREFIX}/*]",
                 "Data capture writes one object per batch of requests under the capture prefix."),
            ],
        )  # fmt: skip
        # The repository is this account's and Region's: its URI from the name alone (CDK's own splits its ARN,
        # a cross-stack reference that Fn::Split cannot take).
        registry = f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"
        reference = f"@{config.image_digest}" if config.image_digest else f":{config.image_tag}"
        image = f"{registry}/{repository.repository_name}{reference}"
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.execution_role.role_arn,
            enable_network_isolation=True,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image, model_data_url=models_bucket.s3_url_for_object(config.model_data_key), mode="SingleModel"
            ),
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=[subnet.subnet_id for subnet in subnets],
                security_group_ids=[self.security_group.security_group_id],
            ),
        )
        # SageMaker checks the role's permissions when it creates the model: the policy must be attached first.
        self.model.node.add_dependency(role)
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            # The stage's key for the instances' storage volume; an instance with local NVMe storage has no such
            # volume (its hardware module encrypts the disk) and SageMaker then refuses a key.
            kms_key_id=None if has_local_storage(config.instance_type) else storage_key.key_arn,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT,
                    model_name=self.model.attr_model_name,
                    instance_type=config.instance_type,
                    initial_instance_count=config.instance_count,
                    initial_variant_weight=1,
                )
            ],
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=config.capture_percentage,
                destination_s3_uri=self.capture_bucket.s3_url_for_object(CAPTURE_PREFIX),
                kms_key_id=storage_key.key_arn,
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=mode) for mode in ("Input", "Output")
                ],
            ),
        )
        if has_local_storage(config.instance_type):
            acknowledge(
                self.endpoint_config,
                "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
                f"{config.instance_type} keeps its data on NVMe instance storage, which the instance's hardware "
                "encrypts; SageMaker refuses a KMS key for it. Data capture is encrypted with the storage key.",
            )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.endpoint.node.add_dependency(self.log_group)
        self.endpoint_arn = self.endpoint.attr_endpoint_arn
        scaling = autoscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint.attr_endpoint_name}/variant/{VARIANT}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=config.instance_count,
            max_capacity=config.max_instance_count,
            # Application Auto Scaling's own role for SageMaker (created on first use); CDK's default is a new
            # role with no permissions.
            role=iam.Role.from_role_arn(
                self,
                "ScalingRole",
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name=f"aws-service-role/{SCALING_PRINCIPAL}/AWSServiceRoleForApplicationAutoScaling_"
                    "SageMakerEndpoint",
                ),
            ),
        )
        scaling.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=config.invocations_per_instance,
            predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        )

    def grant_invoke(self, roles: Sequence[iam.IRole]) -> iam.ManagedPolicy:
        """Let `roles` call the endpoint (InvokeEndpoint, through the sagemaker.runtime endpoint)."""
        return iam.ManagedPolicy(
            self,
            "InvokePolicy",
            description=f"Invoke the {self.endpoint_name} SageMaker endpoint",
            roles=list(roles),
            statements=[
                iam.PolicyStatement(
                    sid="InvokeEndpoint",
                    actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                    resources=[self.endpoint_arn],
                )
            ],
        )

    def _logical_id(self, bucket: s3.IBucket) -> str:
        return cdk.Stack.of(self).get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
