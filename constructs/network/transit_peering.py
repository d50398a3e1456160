"""Peering between two regions' Transit Gateways, in CloudFormation's three steps: the requester asks
(TransitPeeringRequest), the accepter's region accepts and waits for it (TransitPeeringAcceptance), and
only then can each side route the other's CIDR through it (TransitPeerRoute)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct
from constructs.common.acknowledgments import acknowledge_all, acknowledge_vpc_function_role
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.event_function import RUNTIME, lambda_code


class TransitPeeringRequest(Construct):
    """`attachment_id`: the requester side of the peering, waiting for the peer region to accept it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        transit_gateway_id: str,
        peer_transit_gateway_id: str,
        peer_region: str,
        peer_account: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.attachment = ec2.CfnTransitGatewayPeeringAttachment(
            self,
            "Attachment",
            transit_gateway_id=transit_gateway_id,
            peer_transit_gateway_id=peer_transit_gateway_id,
            peer_region=peer_region,
            peer_account_id=peer_account,
            tags=[cdk.CfnTag(key="Name", value=name)],
        )
        self.attachment_id = self.attachment.attr_transit_gateway_attachment_id


class TransitPeeringAcceptance(Construct):
    """Accepts the peering `attachment_id` on `accepter_transit_gateway_id` and completes once it is
    available; `accepted_attachment_id` is the attachment's ID on this side.

    A custom resource (lambdas/peering_accepter) because CloudFormation has no accepter resource; the
    provider framework's waiter polls until the attachment is available, so routes can follow.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        attachment_id: str,
        requester_transit_gateway_id: str,
        accepter_transit_gateway_id: str,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        logs_key: kms.IKey,
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        placement = ec2.SubnetSelection(subnets=list(subnets))

        def log_group(log_id: str) -> EncryptedLogGroup:
            return EncryptedLogGroup(
                self, log_id, encryption_key=logs_key, retention_days=log_retention_days, removal_policy=removal_policy
            )

        def handler_function(function_id: str, entry_point: str) -> lambda_.Function:
            return lambda_.Function(
                self,
                function_id,
                runtime=RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                handler=f"handler.{entry_point}",
                code=lambda_code("peering_accepter"),
                log_group=log_group(f"{function_id}Logs").log_group,
                tracing=lambda_.Tracing.ACTIVE,
                reserved_concurrent_executions=1,
                timeout=cdk.Duration.seconds(60),
                vpc=vpc,
                vpc_subnets=placement,
            )

        accept = handler_function("Accept", "on_event")
        accept.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ec2:AcceptTransitGatewayPeeringAttachment"],
                resources=[
                    stack.format_arn(service="ec2", resource="transit-gateway-attachment", resource_name=attachment_id)
                ],
            )
        )
        wait = handler_function("WaitUntilAvailable", "is_complete")
        for function in (accept, wait):
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["ec2:DescribeTransitGatewayPeeringAttachments"], resources=["*"])
            )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=accept,
            is_complete_handler=wait,
            query_interval=cdk.Duration.seconds(30),
            total_timeout=cdk.Duration.minutes(30),
            log_group=log_group("ProviderLogs").log_group,
            disable_waiter_state_machine_logging=False,  # CDK's default is no logging at all
            waiter_state_machine_log_options=cr.LogOptions(
                destination=log_group("WaiterLogs").log_group, level=sfn.LogLevel.ALL
            ),
            vpc=vpc,
            vpc_subnets=placement,
        )
        _narrow_waiter_logging(provider)
        acceptance = cdk.CustomResource(
            self,
            "Acceptance",
            service_token=provider.service_token,
            resource_type="Custom::TransitGatewayPeeringAcceptance",
            properties={
                "AttachmentId": attachment_id,
                "RequesterTransitGatewayId": requester_transit_gateway_id,
                "AccepterTransitGatewayId": accepter_transit_gateway_id,
            },
        )
        self.accepted_attachment_id = acceptance.get_att_string("AttachmentId")
        self._acknowledge(provider, handlers=(accept, wait))

    @staticmethod
    def _acknowledge(provider: cr.Provider, *, handlers: Sequence[lambda_.Function]) -> None:
        """The handlers' findings, and those of the provider framework's generated functions and waiter."""
        stack = cdk.Stack.of(provider)
        framework = [provider.node.find_child(f"framework-{name}") for name in ("onEvent", "isComplete", "onTimeout")]
        deploy_time_only = "Runs only while CloudFormation deploys this stack, one operation at a time."
        synchronous = "Invoked synchronously (by CloudFormation or the waiter), which reports failures itself."
        invoke_versions = "AwsSolutions-IAM5[Resource::<{}.Arn>:*]"
        for function in (*handlers, *framework):
            acknowledge_vpc_function_role(
                function, inline_policy_reason="CDK writes the function's grants as its role's inline default policy."
            )
        for function in handlers:
            acknowledge_all(
                function,
                [
                    ("NIST.800.53.R5-LambdaDLQ", synchronous),
                    (
                        "AwsSolutions-IAM5[Resource::*]",
                        "ec2:DescribeTransitGatewayPeeringAttachments and X-Ray's writes have no resource-level "
                        "permissions.",
                    ),
                ],
            )

        def logical_ids(functions: Sequence[IConstruct]) -> list[str]:
            return [stack.get_logical_id(cast(cdk.CfnElement, f.node.default_child)) for f in functions]

        # Each framework function invokes the handlers; the waiter invokes the framework's other two.
        waited = logical_ids(framework[1:])
        invoked = logical_ids(handlers)
        for function in framework:
            acknowledge_all(
                function,
                [
                    ("NIST.800.53.R5-LambdaDLQ", synchronous),
                    ("NIST.800.53.R5-LambdaConcurrency", deploy_time_only),
                    ("CKV_AWS_173", "The environment holds only the ARNs of what it invokes, no secret."),
                    *((invoke_versions.format(target), "The framework invokes versions.") for target in invoked),
                ],
            )
        acknowledge_all(
            provider.node.find_child("waiter-state-machine"),
            [
                ("AwsSolutions-SF2", "The provider framework's waiter exposes no tracing; its two functions trace."),
                (
                    "AwsSolutions-IAM5[Resource::*]",
                    "Step Functions' vended-log delivery calls, which have no resource-level permissions (its logging "
                    "guide grants them on *).",
                ),
                (
                    "NIST.800.53.R5-IAMNoInlinePolicy",
                    "CDK writes the waiter's grants as its role's inline default policy.",
                ),
                *((invoke_versions.format(target), "The waiter invokes versions.") for target in waited),
            ],
        )


VENDED_LOG_ACTIONS = (
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
)  # fmt: skip
"""What a state machine's role needs to log to CloudWatch Logs (Step Functions developer guide, logging)."""


def _narrow_waiter_logging(provider: cr.Provider) -> None:
    """CDK's waiter role also gets logs:CreateLogStream and logs:PutLogEvents on `*`, which vended-log delivery
    never calls with it: its logging statement keeps the delivery calls only."""
    policy = provider.node.find_child("waiter-state-machine").node.find_child("Role").node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    statements = cdk.Stack.of(provider).resolve(policy.document)["Statement"]
    index = next(i for i, statement in enumerate(statements) if "logs:PutLogEvents" in statement["Action"])
    cast(cdk.CfnResource, policy.node.default_child).add_property_override(
        f"PolicyDocument.Statement.{index}.Action", list(VENDED_LOG_ACTIONS)
    )


class TransitPeerRoute(Construct):
    """Associates the accepted peering with `route_table_id` and routes `peer_cidr` through it."""

    def __init__(
        self, scope: Construct, construct_id: str, *, route_table_id: str, attachment_id: str, peer_cidr: str
    ) -> None:
        super().__init__(scope, construct_id)
        association = ec2.CfnTransitGatewayRouteTableAssociation(
            self,
            "Association",
            transit_gateway_attachment_id=attachment_id,
            transit_gateway_route_table_id=route_table_id,
        )
        route = ec2.CfnTransitGatewayRoute(
            self,
            "Route",
            transit_gateway_route_table_id=route_table_id,
            transit_gateway_attachment_id=attachment_id,
            destination_cidr_block=peer_cidr,
        )
        route.add_resource_dependency(association)
