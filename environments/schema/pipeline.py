"""environments/pipeline.yaml: the self-mutating delivery pipeline and the stages it promotes."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from environments.schema.base import PRODUCTION_STAGE, ConfigModel, TagsConfig, YamlList


class PipelineSourceConfig(ConfigModel):
    """Where the pipeline reads the app from: a CodeConnections connection, repository and branch."""

    connection_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
    )
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    branch: str = Field(min_length=1, max_length=255)


class PipelineConfig(ConfigModel):
    """The self-mutating delivery pipeline (environments/pipeline.yaml), in the tooling account."""

    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    tags: TagsConfig
    source: PipelineSourceConfig
    stages: Annotated[tuple[str, ...], YamlList] = Field(min_length=1, description="promotion order")
    manual_approval_before: Annotated[tuple[str, ...], YamlList] = ()
    notification_emails: Annotated[tuple[str, ...], YamlList] = ()


def pipeline_problems(pipeline: PipelineConfig, available: list[str]) -> list[tuple[str, str]]:
    """Checks across the pipeline file and the stage files."""
    problems: list[tuple[str, str]] = []
    if len(set(pipeline.stages)) != len(pipeline.stages):
        problems.append(("stages", "lists the same stage twice"))
    for index, stage in enumerate(pipeline.stages):
        if stage not in available:
            problems.append((f"stages.{index}", f"{stage} has no environments/{stage}.yaml"))
    for index, stage in enumerate(pipeline.manual_approval_before):
        if stage not in pipeline.stages:
            problems.append((f"manual_approval_before.{index}", f"{stage} is not one of the pipeline's stages"))
    if PRODUCTION_STAGE in pipeline.stages and PRODUCTION_STAGE not in pipeline.manual_approval_before:
        problems.append(("manual_approval_before", "prod must be behind a manual approval"))
    connection_account = pipeline.source.connection_arn.split(":")[4]
    if connection_account != pipeline.account:
        problems.append(
            ("source.connection_arn", f"is in account {connection_account}, not the pipeline's {pipeline.account}")
        )
    for index, email in enumerate(pipeline.notification_emails):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            problems.append((f"notification_emails.{index}", f"{email!r} is not an email address"))
    return problems
