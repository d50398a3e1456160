"""The delivery pipeline: a self-mutating CDK Pipelines CodePipeline that promotes, dev -> staging -> prod
from a tooling account, the very PlatformStage objects app.py builds for direct deploys.

Reusing the objects (not new ones under this stack) keeps every construct path, and so every logical id
and Name tag, identical: a stage first deployed by hand and later by the pipeline is not replaced."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import pipelines
from constructs import Construct
from constructs.common.acknowledgments import acknowledge
from constructs.common.encryption_key import EncryptionKey

from environments.schema.pipeline import PipelineConfig
from stacks.stage import PlatformStage

PACKAGE_JSON = Path(__file__).resolve().parent.parent / "package.json"
FAILED_EVENTS = ["codepipeline-pipeline-pipeline-execution-failed", "codepipeline-pipeline-manual-approval-failed"]
SMOKE_CHECK = (
    'python3 -c "import os, socket; '
    "[print(name, socket.getaddrinfo(os.environ[name], None)[0][4][0]) "
    "for name in sorted(os.environ) if name.startswith('SMOKE_')]\""
)
"""Resolve every SMOKE_* endpoint the stage exported: proves it exists and has DNS, with no cross-account
credentials (the endpoints are private, so connecting is the platform's own health checks' job)."""


def pinned_cli_version() -> str:
    """The CDK CLI version package.json pins, so the pipeline runs the CLI developers run."""
    version: str = json.loads(PACKAGE_JSON.read_text())["devDependencies"]["aws-cdk"]
    return version


class PipelineStack(cdk.Stack):
    """`pipeline` (CDK Pipelines) and `failure_topic`; `stages` are deployed in the order given."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_config: PipelineConfig,
        stages: Sequence[PlatformStage],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=pipeline_config.account, region=pipeline_config.region),
            termination_protection=True,
            description="Self-mutating delivery pipeline: dev -> staging -> prod",
        )
        for key, value in (
            ("project", pipeline_config.tags.project),
            ("cost-center", pipeline_config.tags.cost_center),
        ):
            cdk.Tags.of(self).add(key, value)
        source = pipelines.CodePipelineSource.connection(
            pipeline_config.source.repository,
            pipeline_config.source.branch,
            connection_arn=pipeline_config.source.connection_arn,
        )
        synth = pipelines.ShellStep(
            "Synth",
            input=source,
            # The Makefile creates the venv and node_modules from the pinned files, like on a laptop.
            commands=["make test", "make synth"],
            primary_output_directory="cdk.out",
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            self_mutation=True,
            cross_account_keys=True,
            enable_key_rotation=True,
            docker_enabled_for_synth=False,
            docker_enabled_for_self_mutation=False,
            publish_assets_in_parallel=False,
            cli_version=pinned_cli_version(),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.MEDIUM
                )
            ),
            synth=synth,
        )
        self.stages = {stage.stage_name: stage for stage in stages}
        for stage in stages:
            name = stage.stage_name
            preflight = self._preflight_step(stage, source, synth)
            approval = (
                [pipelines.ManualApprovalStep(f"Approve-{name}", comment=f"Promote to {name}?")]
                if name in pipeline_config.manual_approval_before
                else []
            )
            for step in approval:
                step.add_step_dependency(preflight)
            self.pipeline.add_stage(stage, pre=[preflight, *approval], post=[self._smoke_step(stage)])
        self.pipeline.build_pipeline()
        self._acknowledge_pipeline_internals()

        notification_key = EncryptionKey(
            self,
            "NotificationKey",
            alias=f"alias/{pipeline_config.tags.project}/pipeline-notifications",
            description="Pipeline failure notifications",
            deletion_window_days=30,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        notification_key.allow_services(
            "AllowCodeStarNotifications",
            ["codestar-notifications.amazonaws.com"],
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            {"StringEquals": {"aws:SourceAccount": self.account}},
        )
        self.failure_topic = sns.Topic(
            self, "FailureTopic", display_name="Pipeline failures", master_key=notification_key.key, enforce_ssl=True
        )
        for email in pipeline_config.notification_emails:
            self.failure_topic.add_subscription(subscriptions.EmailSubscription(email))
        notifications.NotificationRule(
            self,
            "FailureNotifications",
            source=self.pipeline.pipeline,
            events=FAILED_EVENTS,
            targets=[self.failure_topic],
            detail_type=notifications.DetailType.BASIC,
        )

    def _acknowledge_pipeline_internals(self) -> None:
        """CDK Pipelines generates its roles, grants and artifact bucket; accept what it writes, finding by
        finding (the ids embed logical ids, so they are computed from the built pipeline)."""
        pipeline = self.pipeline.pipeline
        generated = "CDK Pipelines generates this grant, scoped to the pipeline's own artifacts and key."
        artifacts = self.get_logical_id(cast(cdk.CfnElement, pipeline.artifact_bucket.node.default_child))
        for finding in (
            *(f"Action::s3:{action}" for action in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")),
            "Action::kms:GenerateDataKey*",
            "Action::kms:ReEncrypt*",
            f"Resource::<{artifacts}.Arn>/*",
        ):
            acknowledge(self.pipeline, f"AwsSolutions-IAM5[{finding}]", generated)
        acknowledge(
            self.pipeline,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK Pipelines attaches its generated least-privilege grants as each role's default inline policy.",
        )
        acknowledge(
            self.pipeline,
            "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
            "Every CodeBuild project here takes its source from CodePipeline (type CODEPIPELINE): the source "
            "action fetches the repository through the CodeStar connection; no project reaches a repository or "
            "holds a credential for one.",
        )
        for project in self.pipeline.node.find_all():
            if isinstance(project, codebuild.CfnProject):
                project_id = self.get_logical_id(project)
                for finding in (
                    f"arn:aws:logs:{self.region}:{self.account}:log-group:/aws/codebuild/<{project_id}>:*",
                    f"arn:aws:codebuild:{self.region}:{self.account}:report-group/<{project_id}>-*",
                ):
                    acknowledge(
                        self.pipeline,
                        f"AwsSolutions-IAM5[Resource::{finding}]",
                        "A CodeBuild project writes its own log streams and test reports (names end in *).",
                    )
        assets = self.pipeline.node.find_child("Assets").node.find_child("FileRole")
        for finding, reason in (
            ("Resource::*", "Asset publishing looks up the bootstrap buckets of every target account (by ARN)."),
            (
                f"Resource::arn:aws:logs:{self.region}:{self.account}:log-group:/aws/codebuild/*",
                "Asset-publishing projects are created per asset; their log groups are not known up front.",
            ),
            (
                f"Resource::arn:aws:codebuild:{self.region}:{self.account}:report-group/*",
                "Asset-publishing projects are created per asset; their report groups are not known up front.",
            ),
        ):
            acknowledge(assets, f"AwsSolutions-IAM5[{finding}]", reason)
        self_mutation = self.pipeline.node.find_child("UpdatePipeline").node.find_child("SelfMutation")
        for finding, reason in (
            ("Resource::*", "Self-mutation reads CloudFormation and SSM bootstrap versions in every account."),
            (
                f"Resource::arn:*:iam::{self.account}:role/*",
                "Self-mutation assumes the CDK bootstrap roles (cdk-*-deploy-role etc.) to update the pipeline.",
            ),
        ):
            acknowledge(self_mutation, f"AwsSolutions-IAM5[{finding}]", reason)
        bucket_reason = (
            "CDK Pipelines' artifact bucket holds transient build outputs, re-creatable from source; it is "
            "KMS-encrypted and TLS-only, and CodePipeline's own execution history is the audit trail."
        )
        bucket_findings = (
            "AwsSolutions-S1",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketVersioningEnabled",
        )
        for finding in bucket_findings:
            acknowledge(pipeline.artifact_bucket, finding, bucket_reason)
        # Stages with a stack in another region (the secondary region) get a support stack there, with a
        # replication bucket for the artifacts and a key the pipeline role uses by alias.
        for support in pipeline.cross_region_support.values():
            for finding in bucket_findings:
                acknowledge(support.replication_bucket, finding, bucket_reason)
            acknowledge(
                pipeline.role,
                f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{self.resolve(support.replication_bucket.bucket_name)}/*]",
                "The pipeline copies artifacts into its replication bucket in the other region.",
            )
        if pipeline.cross_region_support:
            acknowledge(
                pipeline.role,
                "AwsSolutions-IAM5[Resource::*]",
                "The replication buckets' keys in other regions are addressed by alias, which IAM cannot scope.",
            )

    @staticmethod
    def _preflight_step(
        stage: PlatformStage, source: pipelines.IFileSetProducer, synth: pipelines.ShellStep
    ) -> pipelines.ShellStep:
        """`make preflight` for the stage, on the assembly the synth step made, before its approval and
        deploy: a placeholder or a missing prerequisite stops the promotion here. It runs as the pipeline's
        CodeBuild role, so the checks that need the stage's account are listed as unchecked."""
        return pipelines.ShellStep(
            f"Preflight-{stage.stage_name}",
            input=source,
            additional_inputs={"cdk.out": synth},
            commands=[f"make preflight STAGE={stage.stage_name}"],
        )

    @staticmethod
    def _smoke_step(stage: PlatformStage) -> pipelines.ShellStep:
        return pipelines.ShellStep(
            f"Smoke-{stage.stage_name}",
            env_from_cfn_outputs={
                "SMOKE_POSTGRES_PROXY": stage.data.proxy_endpoint_output,
                "SMOKE_CACHE": stage.data.cache_endpoint_output,
            },
            commands=[SMOKE_CHECK],
        )
