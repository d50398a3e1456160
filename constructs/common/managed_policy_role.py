"""An IAM role whose permissions live in one customer-managed policy, never in inline policies."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct


class ManagedPolicyRole(Construct):
    """`role` assumed by `assumed_by`, with `statements` in the managed policy `policy` and any AWS-managed
    policies named in `aws_managed_policies` (each needs an AwsSolutions-IAM4 acknowledgment where used);
    CloudFormation names it unless `role_name` is given.

    L2 constructs that get a role they can update add an inline default policy to it (NIST 800-53
    IAMNoInlinePolicy). Hand them `immutable_role`: their grants are then dropped, so `statements`
    must already hold everything the service needs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        description: str,
        statements: Sequence[iam.PolicyStatement] = (),
        aws_managed_policies: Sequence[str] = (),
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=assumed_by,
            description=description,
            role_name=role_name,
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in aws_managed_policies],
        )
        self.policy = (
            iam.ManagedPolicy(self, "Policy", roles=[self.role], statements=list(statements)) if statements else None
        )
        self.immutable_role = self.role.without_policy_updates()


def grant_policy(
    scope: Construct,
    construct_id: str,
    *,
    role: iam.IRole,
    statements: Sequence[iam.PolicyStatement],
    shared: iam.ManagedPolicy | None = None,
) -> iam.ManagedPolicy:
    """The managed policy that gives `role` `statements`: `shared` (already attached to `role`) when given, so that
    several grants count once against IAM's 10 managed policies per role, else one of its own (`construct_id`)."""
    if shared is None:
        return iam.ManagedPolicy(scope, construct_id, roles=[role], statements=list(statements))
    shared.add_statements(*statements)
    return shared
