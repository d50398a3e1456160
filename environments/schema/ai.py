"""The `ai:` section: Bedrock (model access through a guardrail, invocation logging) and a SageMaker real-time
inference endpoint (constructs/ai/), seed 000's AI services, and the checks AWS would otherwise make at create
time."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from environments.schema.base import ConfigModel, RetentionDays, YamlList
from environments.schema.compute import ImageTag

if TYPE_CHECKING:
    from environments.schema.stage import StageConfig

BEDROCK_RUNTIME_ENDPOINT = "bedrock-runtime"
SAGEMAKER_RUNTIME_ENDPOINT = "sagemaker.runtime"
"""The interface endpoints the workloads call the two services through; the network stack adds each with its
toggle."""
WORKLOAD_KINDS = ("app", "gpu")
"""The workload roles the data stack makes (constructs/data/workload_identities.py)."""
PROFILE_GEOGRAPHIES = {"us": ("us-",), "eu": ("eu-",), "apac": ("ap-",)}
"""A geographic cross-Region inference profile's prefix -> the region prefixes it can be called from (Bedrock
user guide, cross-region-inference: a profile is called from a source Region inside its geography)."""
Strength = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
ContentFilter = Literal["SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"]
PiiEntity = Literal[
    "ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY", "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD", "PHONE",
    "PIN", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "USERNAME", "US_BANK_ACCOUNT_NUMBER", "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER", "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
]  # fmt: skip
"""The PII entity types a guardrail's sensitive-information policy takes (AWS::Bedrock::Guardrail
PiiEntityConfig Type)."""
LOCAL_STORAGE_FAMILIES = ("c5d", "m5d", "r5d", "g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "trn1")
"""ML instance families with NVMe instance storage, which the instance's hardware module encrypts: SageMaker
refuses a KmsKeyId for an endpoint configuration that uses one (CreateEndpointConfig, KmsKeyId)."""


def has_local_storage(instance_type: str) -> bool:
    """`ml.g5.xlarge` -> True: its family has instance storage."""
    return instance_type.split(".")[1] in LOCAL_STORAGE_FAMILIES


ModelId = Annotated[str, Field(pattern=r"^[a-z0-9-]+\.[a-z0-9][a-z0-9.:-]*$")]
"""A Bedrock foundation model id, exactly (`anthropic.claude-3-5-sonnet-20241022-v2:0`): no wildcard."""
ImageDigest = Annotated[str, Field(pattern=r"^sha256:[a-f0-9]{64}$")]


class BedrockModelConfig(ConfigModel):
    """One model the workloads may invoke; `inference_profile` names the geography of the system-defined cross-Region
    profile they call it through (`us` -> `us.<id>`), for models Bedrock serves on demand only that way."""

    id: ModelId
    inference_profile: Literal["us", "eu", "apac"] | None = None

    @property
    def invoked_id(self) -> str:
        """What a request names as its modelId (and CloudWatch as ModelId): the profile, or the model."""
        return f"{self.inference_profile}.{self.id}" if self.inference_profile else self.id


class ContentFilterConfig(ConfigModel):
    """How strongly the guardrail filters one category in prompts (`input`) and in completions (`output`)."""

    type: ContentFilter
    input: Strength
    output: Strength


class PiiConfig(ConfigModel):
    """What the guardrail does with one PII type: refuse the request or response, or mask it."""

    type: PiiEntity
    action: Literal["BLOCK", "ANONYMIZE"]


class GuardrailConfig(ConfigModel):
    """The guardrail every invocation must name (the IAM grant requires it)."""

    content_filters: Annotated[tuple[ContentFilterConfig, ...], YamlList] = Field(min_length=1)
    pii: Annotated[tuple[PiiConfig, ...], YamlList] = ()
    blocked_message: str = Field(min_length=1, max_length=500)


class InvocationLogsConfig(ConfigModel):
    """Bedrock's model invocation logging (account- and region-wide) to a log group and a bucket."""

    retention_days: RetentionDays
    text: bool = Field(default=True, description="log prompts and completions, not only metadata")


class BedrockConfig(ConfigModel):
    """Bedrock for the workload roles named: the bedrock-runtime endpoint, model access, guardrail and logging."""

    enabled: bool
    models: Annotated[tuple[BedrockModelConfig, ...], YamlList] = ()
    workload_roles: Annotated[tuple[Literal["app", "gpu"], ...], YamlList] = ("app",)
    guardrail: GuardrailConfig | None = None
    invocation_logs: InvocationLogsConfig | None = Field(
        default=None, description="unset only where another stage of the same account and region owns it"
    )


class SageMakerConfig(ConfigModel):
    """One real-time inference endpoint: model data in the models bucket, the image in one of the platform's ECR
    repositories (by tag or digest: it must exist when the endpoint is created), one production variant scaled on
    invocations per instance."""

    enabled: bool
    name: str = Field(default="inference", pattern=r"^[a-z][a-z0-9-]{0,30}$")
    model_data_key: str = Field(default="", pattern=r"^$|^[A-Za-z0-9!_.*'()/-]+\.tar\.gz$")
    image_repository: str = ""
    image_tag: ImageTag | None = None
    image_digest: ImageDigest | None = None
    instance_type: str = Field(default="ml.g5.xlarge", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    instance_count: int = Field(default=1, ge=1, le=100)
    max_instance_count: int = Field(default=1, ge=1, le=100)
    invocations_per_instance: int = Field(default=100, ge=1, description="target of SageMakerVariantInvocations...")
    capture_percentage: int = Field(default=20, ge=1, le=100, description="requests and responses kept in S3")
    invoked_by: Annotated[tuple[Literal["app", "gpu"], ...], YamlList] = ("app",)
    log_retention_days: RetentionDays = 365


class AiConfig(ConfigModel):
    """Seed 000's AI services; both off unless a stage turns them on."""

    bedrock: BedrockConfig = BedrockConfig(enabled=False)
    sagemaker: SageMakerConfig = SageMakerConfig(enabled=False)


def ai_interface_endpoints(config: StageConfig) -> tuple[str, ...]:
    """The interface endpoints the enabled AI services add to network.interface_endpoints."""
    return tuple(
        service
        for service, on in ((BEDROCK_RUNTIME_ENDPOINT, config.ai.bedrock.enabled),
                            (SAGEMAKER_RUNTIME_ENDPOINT, config.ai.sagemaker.enabled))
        if on and service not in config.network.interface_endpoints
    )  # fmt: skip


def ai_problems(config: StageConfig) -> list[tuple[str, str]]:
    return _bedrock_problems(config) + _sagemaker_problems(config)


def _bedrock_problems(config: StageConfig) -> list[tuple[str, str]]:
    bedrock = config.ai.bedrock
    if not bedrock.enabled:
        return []
    problems = [
        (f"ai.bedrock.{field}", "required when Bedrock is enabled")
        for field in ("models", "guardrail", "workload_roles")
        if not getattr(bedrock, field)
    ]
    guardrail_name = f"{config.tags.project}-{config.name}"
    if not re.fullmatch(r"[0-9a-zA-Z_-]{1,50}", guardrail_name):
        # CreateGuardrail's name: 1-50 of letters, digits, - and _.
        problems.append(("tags.project", f"the guardrail's name {guardrail_name} is not 1-50 letters, digits, - or _"))
    ids = [model.id for model in bedrock.models]
    if len(set(ids)) != len(ids):
        problems.append(("ai.bedrock.models", "lists the same model twice"))
    for index, model in enumerate(bedrock.models):
        prefixes = PROFILE_GEOGRAPHIES.get(model.inference_profile or "", ())
        if model.inference_profile and not config.region.startswith(prefixes):
            problems.append(
                (
                    f"ai.bedrock.models.{index}.inference_profile",
                    f"the {model.inference_profile} profile cannot be called from {config.region}",
                )
            )
    if len(set(bedrock.workload_roles)) != len(bedrock.workload_roles):
        problems.append(("ai.bedrock.workload_roles", "lists the same role twice"))
    if bedrock.guardrail:
        filters = [f.type for f in bedrock.guardrail.content_filters]
        if len(set(filters)) != len(filters):
            problems.append(("ai.bedrock.guardrail.content_filters", "lists the same type twice"))
        for index, content in enumerate(bedrock.guardrail.content_filters):
            # Bedrock refuses a guardrail whose prompt-attack filter looks at completions (CreateGuardrail).
            if content.type == "PROMPT_ATTACK" and content.output != "NONE":
                problems.append(
                    (
                        f"ai.bedrock.guardrail.content_filters.{index}.output",
                        "PROMPT_ATTACK filters prompts only: its output strength must be NONE",
                    )
                )
        pii = [p.type for p in bedrock.guardrail.pii]
        if len(set(pii)) != len(pii):
            problems.append(("ai.bedrock.guardrail.pii", "lists the same type twice"))
    return problems


def _sagemaker_problems(config: StageConfig) -> list[tuple[str, str]]:
    sagemaker = config.ai.sagemaker
    if not sagemaker.enabled:
        return []
    where = "ai.sagemaker"
    problems = [
        (f"{where}.{field}", "required when SageMaker is enabled")
        for field in ("model_data_key", "image_repository")
        if not getattr(sagemaker, field)
    ]
    endpoint_name = f"{config.tags.project}-{config.name}-{sagemaker.name}"
    if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", endpoint_name):
        # CreateEndpoint's EndpointName: at most 63 letters and digits, hyphens between them.
        problems.append((f"{where}.name", f"the endpoint's name {endpoint_name} is not 1-63 letters, digits and -"))
    if sagemaker.image_repository and sagemaker.image_repository not in config.platform.ecr_repositories:
        problems.append(
            (f"{where}.image_repository", f"{sagemaker.image_repository} is not one of platform.ecr_repositories")
        )
    if (sagemaker.image_tag is None) == (sagemaker.image_digest is None):
        # SageMaker pulls the image when it creates the model: it must be in the repository before the deploy that
        # turns the endpoint on (the platform stack creates the repository; push the image, then name it here).
        problems.append(
            (
                f"{where}.image_tag",
                "name exactly one of image_tag and image_digest: an image already pushed to "
                f"{sagemaker.image_repository or 'the repository'} (SageMaker pulls it at create time)",
            )
        )
    if sagemaker.instance_count > sagemaker.max_instance_count:
        problems.append(
            (
                f"{where}.instance_count",
                f"{sagemaker.instance_count} is above max_instance_count {sagemaker.max_instance_count}",
            )
        )
    if config.is_production and sagemaker.instance_count < 2:
        problems.append(
            (
                f"{where}.instance_count",
                "prod needs at least 2 instances: SageMaker spreads them over availability zones",
            )
        )
    if len(set(sagemaker.invoked_by)) != len(sagemaker.invoked_by):
        problems.append((f"{where}.invoked_by", "lists the same role twice"))
    return problems


def invocation_logging_problems(configs: list[StageConfig]) -> list[tuple[str, str, str]]:
    """(stage, field, message) for each account and region where stages use Bedrock and not exactly one of them
    configures its invocation logging (PutModelInvocationLoggingConfiguration holds one per account and region:
    a second owner would overwrite the first)."""
    users: dict[tuple[str, str], list[StageConfig]] = {}
    for config in configs:
        if config.ai.bedrock.enabled:
            users.setdefault((config.account, config.region), []).append(config)
    problems = []
    for (account, region), stages in users.items():
        owners = [c.name for c in stages if c.ai.bedrock.invocation_logs]
        if len(owners) != 1:
            field = "ai.bedrock.invocation_logs"
            held = f"{', '.join(owners)} all set it" if owners else "no stage sets it"
            problems.append((stages[-1].name, field, f"{held} for {account}/{region}: exactly one stage must"))
    return problems
