"""A Lambda function in the app tier fed by an event source (an SQS queue, a Kinesis stream): reserved
concurrency, X-Ray tracing and a KMS log group. Plain Python from lambdas/: no Docker bundling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from constructs.common.acknowledgments import acknowledge_all, acknowledge_vpc_function_role
from constructs.common.encrypted_log_group import EncryptedLogGroup

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
RUNTIME = lambda_.Runtime.PYTHON_3_14


def lambda_code(code_directory: str) -> lambda_.Code:
    """lambdas/<code_directory> as the function's code, without the bytecode Python leaves beside the sources
    when the synth or a test imports them: it would make the asset's hash (and the template) depend on what
    ran before the synth, and on the clone's file times."""
    return lambda_.Code.from_asset(str(LAMBDAS / code_directory), exclude=["__pycache__"])


class EventFunction(Construct):
    """`function` running lambdas/<code_directory>/handler.py (or `code`'s handler.py: an asset staged from
    several folders), fed by `event_source`; failures are handled by the source (a queue's DLQ, a stream's
    on-failure destination), never dropped."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_directory: str | None = None,
        code: lambda_.Code | None = None,
        event_source: lambda_.IEventSource,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        reserved_concurrency: int,
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if code is None:
            if code_directory is None:
                raise ValueError(f"{construct_id}: give code_directory or code")
            code = lambda_code(code_directory)
        log_group = EncryptedLogGroup(
            self, "Logs", encryption_key=logs_key, retention_days=log_retention_days, removal_policy=removal_policy
        ).log_group
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=code,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_groups=[security_group],
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            timeout=cdk.Duration.seconds(60),
            memory_size=256,
            environment=dict(environment or {}),
        )
        self.function.add_event_source(event_source)
        acknowledge_vpc_function_role(
            self.function,
            inline_policy_reason="Lambda writes the event-source, key and tracing grants as the role's inline "
            "default policy.",
        )
        acknowledge_all(
            self.function,
            [
                (
                    "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions.",
                ),
                (
                    "NIST.800.53.R5-LambdaDLQ",
                    "Invoked synchronously by its event source mapping: failed records go to the source's DLQ or "
                    "on-failure destination; a function DLQ only catches asynchronous invocations.",
                ),
            ],
        )
