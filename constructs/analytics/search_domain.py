"""OpenSearch for log analytics (seeds 000, 004): in the data tier behind the `search` group, KMS at rest,
node-to-node encryption, HTTPS with TLS 1.2+, fine-grained access control with an IAM master role, and
slow, application and audit logs to encrypted log groups."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encrypted_log_group import EncryptedLogGroup
from constructs.common.managed_policy_role import grant_policy

from environments.schema.analytics import OpenSearchConfig

LOG_TYPES = ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS")
TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"


class SearchDomain(Construct):
    """`domain` (and its `domain_arn`, by name), its `master_role` (fine-grained access control admin) and
    `log_groups` by log type."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        search: OpenSearchConfig,
        name: str,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        admin_principals: Sequence[str],
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        """`admin_principals`: ARN patterns of the stage's administrators, who may assume the master role."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.domain_arn = stack.format_arn(service="es", resource="domain", resource_name=name)
        self._paths_arn = f"{self.domain_arn}/*"
        # The account, narrowed to the administrators' ARN patterns (the cluster-admin role's trust, for the same
        # reason: IAM rejects a trust policy naming a principal that does not exist yet).
        self.master_role = iam.Role(
            self,
            "MasterRole",
            assumed_by=iam.AccountPrincipal(stack.account).with_conditions(
                {"ArnLike": {"aws:PrincipalArn": list(admin_principals)}}
            ),
            description=f"OpenSearch {name}: fine-grained access control master user",
        )
        self.log_groups = {
            log_type: EncryptedLogGroup(
                self,
                log_type.title().replace("_", ""),
                encryption_key=logs_key,
                retention_days=log_retention_days,
                removal_policy=removal_policy,
            ).log_group
            for log_type in LOG_TYPES
        }
        log_policy = logs.CfnResourcePolicy(
            self,
            "LogDelivery",
            policy_name=f"{name}-opensearch-logs",
            policy_document=stack.to_json_string(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "es.amazonaws.com"},
                            "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
                            "Resource": [group.log_group_arn for group in self.log_groups.values()],
                            "Condition": {"StringEquals": {"aws:SourceAccount": stack.account}},
                        }
                    ],
                }
            ),
        )
        zone_count = 3 if search.data_nodes % 3 == 0 else 2
        zone_aware = search.data_nodes > 1
        self.domain = opensearch.CfnDomain(
            self,
            "Domain",
            domain_name=name,
            engine_version=search.engine_version,
            cluster_config=opensearch.CfnDomain.ClusterConfigProperty(
                instance_type=search.data_instance_type,
                instance_count=search.data_nodes,
                zone_awareness_enabled=zone_aware,
                zone_awareness_config=opensearch.CfnDomain.ZoneAwarenessConfigProperty(
                    availability_zone_count=zone_count
                )
                if zone_aware
                else None,
                dedicated_master_enabled=search.dedicated_masters > 0,
                dedicated_master_count=search.dedicated_masters or None,
                dedicated_master_type=search.master_instance_type if search.dedicated_masters else None,
            ),
            ebs_options=opensearch.CfnDomain.EBSOptionsProperty(
                ebs_enabled=True, volume_type="gp3", volume_size=search.volume_gib
            ),
            vpc_options=opensearch.CfnDomain.VPCOptionsProperty(
                subnet_ids=[s.subnet_id for s in subnets[: zone_count if zone_aware else 1]],
                security_group_ids=[security_group.security_group_id],
            ),
            encryption_at_rest_options=opensearch.CfnDomain.EncryptionAtRestOptionsProperty(
                enabled=True, kms_key_id=encryption_key.key_id
            ),
            node_to_node_encryption_options=opensearch.CfnDomain.NodeToNodeEncryptionOptionsProperty(enabled=True),
            domain_endpoint_options=opensearch.CfnDomain.DomainEndpointOptionsProperty(
                enforce_https=True, tls_security_policy=TLS_POLICY
            ),
            advanced_security_options=opensearch.CfnDomain.AdvancedSecurityOptionsInputProperty(
                enabled=True,
                internal_user_database_enabled=False,
                master_user_options=opensearch.CfnDomain.MasterUserOptionsProperty(
                    master_user_arn=self.master_role.role_arn
                ),
            ),
            # IAM lets the account's principals reach the domain; fine-grained access control decides
            # what each of them may do inside it.
            access_policies={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:{stack.partition}:iam::{stack.account}:root"},
                        "Action": "es:ESHttp*",
                        "Resource": self._paths_arn,
                    }
                ],
            },
            log_publishing_options={
                log_type: opensearch.CfnDomain.LogPublishingOptionProperty(
                    cloud_watch_logs_log_group_arn=group.log_group_arn, enabled=True
                )
                for log_type, group in self.log_groups.items()
            },
        )
        self.domain.add_resource_dependency(log_policy)
        self.domain.apply_removal_policy(removal_policy)
        self.domain_endpoint = self.domain.attr_domain_endpoint
        acknowledge(
            self.domain,
            "AwsSolutions-OS3",
            "The domain is in the VPC's data tier: only the search security group's sources reach it, and IAM "
            "plus fine-grained access control decide what they may do; an IP allowlist adds nothing there.",
        )
        if not zone_aware:
            acknowledge(
                self.domain,
                "AwsSolutions-OS7",
                "A single data node by config in this non-production stage (prod requires 3+ across AZs).",
            )
        if not search.dedicated_masters:
            acknowledge(
                self.domain,
                "AwsSolutions-OS4",
                "No dedicated master nodes by config in this non-production stage (prod requires them).",
            )

    def grant_http(self, role: iam.IRole, *, shared: iam.ManagedPolicy | None = None) -> None:
        """Let `role` search and index over HTTPS; in `shared` when given (grant_policy). IAM only lets the request
        reach the domain: fine-grained access control decides what it may do there, once the master user maps the
        role (README, The analytics)."""
        policy = grant_policy(
            self,
            "HttpPolicy",
            role=role,
            shared=shared,
            statements=[
                iam.PolicyStatement(
                    sid="Http",
                    actions=["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"],
                    resources=[self._paths_arn],
                )
            ],
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{self._paths_arn}]",
            "Every path of this domain (indexes and search APIs); fine-grained access control scopes them.",
        )
