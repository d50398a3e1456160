"""DynamoDB Accelerator (seed 000: DynamoDB with a DAX cache) in front of the conversations and sessions tables:
a cluster in the data tier, encrypted at rest (SSE) and in transit (TLS endpoint, port 9111), whose role may
read and write those tables only.

DAX encrypts at rest with an AWS-owned key (it takes no customer key); the tables behind it keep the stage's
DynamoDB key, which its role may use only through DynamoDB.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_dax as dax
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct
from constructs.common.managed_policy_role import ManagedPolicyRole
from constructs.network.tier_security_groups import ACCELERATOR_TLS_PORT

from environments.schema.data import AcceleratorConfig

DATA_ACTIONS = [
    "dax:GetItem", "dax:BatchGetItem", "dax:Query", "dax:PutItem", "dax:UpdateItem", "dax:DeleteItem",
    "dax:BatchWriteItem", "dax:ConditionCheckItem",
]  # fmt: skip
"""What a workload's DAX client calls on the cluster (DAX's API permissions reference); no Scan, as on the tables."""
TABLE_ACTIONS = [
    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
    "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
]  # fmt: skip
"""What DAX calls on the tables for its clients (their writes go through, their reads fill the caches)."""


class TableAccelerator(Construct):
    """`cluster` (its `arn` is what workloads' `dax:` permissions name), its `role`, and `endpoint` (the
    cluster discovery endpoint, dax:// over TLS) and `port`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        accelerator: AcceleratorConfig,
        tables: Sequence[dynamodb.ITableV2],
        indexes: Sequence[str],
        tables_key: kms.IKey,
        subnets: ec2.SelectedSubnets,
        security_group: ec2.ISecurityGroup,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        """`indexes`: the ARNs of the tables' global secondary indexes that clients query through DAX."""
        super().__init__(scope, construct_id)
        assert accelerator.node_type and accelerator.nodes and accelerator.item_ttl_minutes
        region = cdk.Stack.of(self).region
        service_role = ManagedPolicyRole(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("dax.amazonaws.com"),
            description="DAX: reads and writes the conversations and sessions tables for its clients",
            statements=[
                iam.PolicyStatement(
                    sid="Tables",
                    actions=TABLE_ACTIONS,
                    resources=[*(table.table_arn for table in tables), *indexes],
                ),
                iam.PolicyStatement(
                    sid="TablesKey",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[tables_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
                ),
            ],
        )
        self.role = service_role.role
        subnet_group = dax.CfnSubnetGroup(
            self, "SubnetGroup", description="DAX: isolated data subnets", subnet_ids=subnets.subnet_ids
        )
        ttl = str(accelerator.item_ttl_minutes * 60_000)
        parameters = dax.CfnParameterGroup(
            self,
            "Parameters",
            description="DAX: how long cached items and query results live",
            parameter_name_values={"record-ttl-millis": ttl, "query-ttl-millis": ttl},
        )
        self.cluster = dax.CfnCluster(
            self,
            "Cluster",
            description="Cache in front of the conversations and sessions tables",
            iam_role_arn=self.role.role_arn,
            node_type=accelerator.node_type,
            replication_factor=accelerator.nodes,
            subnet_group_name=subnet_group.ref,
            parameter_group_name=parameters.ref,
            security_group_ids=[security_group.security_group_id],
            sse_specification=dax.CfnCluster.SSESpecificationProperty(sse_enabled=True),
            cluster_endpoint_encryption_type="TLS",
            preferred_maintenance_window="sun:05:00-sun:06:00",
        )
        # DAX checks at create time that it may assume the role, and uses its policy from the first request.
        self.cluster.node.add_dependency(service_role)
        self.cluster.apply_removal_policy(removal_policy)
        self.arn = self.cluster.attr_arn
        self.endpoint = self.cluster.attr_cluster_discovery_endpoint_url
        self.port = ACCELERATOR_TLS_PORT
