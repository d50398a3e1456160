"""The AI stack (seed 000's AI services): Bedrock through the stage's guardrail with invocation logging, and a
SageMaker real-time inference endpoint. Built only when a stage enables one of them.

It reads the network (app tier), the data stack (keys, the models bucket, the workload roles it grants) and the
platform stack (the ECR repository of the endpoint's image); only observability reads it."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct
from constructs.ai.bedrock_access import BedrockAccess
from constructs.ai.inference_endpoint import InferenceEndpoint

from environments.schema.stage import StageConfig
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.platform import PlatformComputeStack


class AiStack(PlatformStack):
    """`bedrock` (BedrockAccess) and `inference` (InferenceEndpoint), each None while its toggle is off."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        network: NetworkStack,
        data: DataStack,
        platform: PlatformComputeStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=f"{config.name}: Bedrock guardrail and invocation logging, SageMaker inference endpoint",
        )
        ai, buckets = config.ai, config.data.buckets
        name = f"{config.tags.project}-{config.name}"
        roles = data.workload_roles.by_kind
        app_subnets = network.app_subnets.subnets
        self.access_logs = self.own_access_log_bucket()
        self.bedrock = (
            BedrockAccess(
                self,
                "Bedrock",
                bedrock_config=ai.bedrock,
                name=name,
                roles=[roles[kind] for kind in ai.bedrock.workload_roles],
                storage_key=data.keys.encryption_key("storage"),
                logs_key=data.keys.logs,
                access_log_bucket=self.access_logs,
                vpc=network.vpc,
                subnets=app_subnets,
                versioned=buckets.versioned,
                noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
                removal_policy=self.stateful_removal_policy,
            )
            if ai.bedrock.enabled
            else None
        )
        sagemaker = ai.sagemaker
        self.inference = (
            InferenceEndpoint(
                self,
                "Inference",
                sagemaker_config=sagemaker,
                endpoint_name=f"{name}-{sagemaker.name}",
                vpc=network.vpc,
                subnets=app_subnets,
                models_bucket=data.buckets.models,
                repository=platform.registries.repositories[sagemaker.image_repository],
                storage_key=data.keys.storage,
                logs_key=data.keys.logs,
                access_log_bucket=self.access_logs,
                versioned=buckets.versioned,
                noncurrent_version_expiration_days=buckets.noncurrent_version_expiration_days,
                removal_policy=self.stateful_removal_policy,
            )
            if sagemaker.enabled
            else None
        )
        if self.inference:
            self.inference.grant_invoke([roles[kind] for kind in sagemaker.invoked_by])
            self.endpoint_output = cdk.CfnOutput(
                self, "InferenceEndpointName", value=self.inference.endpoint_name, description="InvokeEndpoint this"
            )
        self.log_custom_resource_providers(logs_key=data.keys.logs, retention_days=config.platform.log_retention_days)
