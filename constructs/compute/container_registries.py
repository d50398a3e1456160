"""ECR repositories for the platform's services (seed 002): scanned, immutable, KMS, pruned."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from constructs import Construct


class ContainerRegistries(Construct):
    """`repositories` by service name, named `<prefix>/<service>`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Sequence[str],
        name_prefix: str,
        encryption_key: kms.IKey,
        keep_images: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.repositories = {
            name: ecr.Repository(
                self,
                "".join(part.capitalize() for part in name.split("-")),
                repository_name=f"{name_prefix}/{name}",
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                encryption=ecr.RepositoryEncryption.KMS,
                encryption_key=encryption_key,
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        description="Drop untagged layers after a week",
                        tag_status=ecr.TagStatus.UNTAGGED,
                        max_image_age=cdk.Duration.days(7),
                        rule_priority=1,
                    ),
                    ecr.LifecycleRule(
                        description=f"Keep the newest {keep_images} images",
                        tag_status=ecr.TagStatus.ANY,
                        max_image_count=keep_images,
                        rule_priority=2,
                    ),
                ],
                removal_policy=removal_policy,
                empty_on_delete=removal_policy == cdk.RemovalPolicy.DESTROY,
            )
            for name in names
        }
