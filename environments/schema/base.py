"""What every section shares: the strict, frozen base model, the stage-wide constants and the validated
scalar types (CIDRs, retention days, private ASNs, YAML lists). Nothing here imports aws_cdk."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

PRODUCTION_STAGE = "prod"


AZ_COUNT = 3
"""Every tier has one subnet in each of exactly three AZs (seed 000/001); OpenSearch and MSK need three."""


RESERVABLE_CONCURRENCY = 1000 - 100
"""The most one function can reserve in an account with Lambda's default 1,000 concurrent executions: Lambda
keeps 100 unreserved (PutFunctionConcurrency). Every function of the account and region shares this."""


CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only retention periods CloudWatch Logs accepts (RetentionInDays)."""


SYSTEM_GROUP = "system"
"""The node group the cluster add-ons, Argo CD and Karpenter's controller run on; Karpenter never adds to it."""

AZ_LETTERS = {
    "us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "abc", "us-west-2": "abcd",
    "ca-central-1": "abd", "ca-west-1": "abc", "mx-central-1": "abc", "sa-east-1": "abc",
    "eu-west-1": "abc", "eu-west-2": "abc", "eu-west-3": "abc", "eu-central-1": "abc", "eu-central-2": "abc",
    "eu-north-1": "abc", "eu-south-1": "abc", "eu-south-2": "abc", "il-central-1": "abc",
    "me-south-1": "abc", "me-central-1": "abc", "af-south-1": "abc",
    "ap-south-1": "abc", "ap-south-2": "abc", "ap-east-1": "abc", "ap-east-2": "abc",
    "ap-northeast-1": "acd", "ap-northeast-2": "abcd", "ap-northeast-3": "abc",
    "ap-southeast-1": "abc", "ap-southeast-2": "abc", "ap-southeast-3": "abc", "ap-southeast-4": "abc",
    "ap-southeast-5": "abc", "ap-southeast-7": "abc",
    "us-gov-west-1": "abc", "us-gov-east-1": "abc",
}  # fmt: skip
"""Availability zone letters per commercial and GovCloud region, from the AWS documentation's list of
Regions and Availability Zones (docs.aws.amazon.com/global-infrastructure/latest/regions). Synthesis
looks nothing up, so this is how a typo such as `us-east-1g` or `eu-west-1d` is caught before a deploy.
A region missing here is one the project has not been told about yet: add it with its letters."""


def availability_zone_problems(
    region_field: str, region: str, field: str, zones: tuple[str, ...]
) -> list[tuple[str, str]]:
    """(field, message) for an unknown `region`, or each of `zones` that is not one of its availability zones."""
    if region not in AZ_LETTERS:
        return [(region_field, f"{region} is not a region this project knows; add it to AZ_LETTERS in {__name__}")]
    problems = []
    for index, zone in enumerate(zones):
        letter = zone.removeprefix(region)
        if len(zone) != len(region) + 1 or letter not in AZ_LETTERS[region]:
            known = ", ".join(f"{region}{letter}" for letter in AZ_LETTERS[region])
            problems.append((f"{field}.{index}", f"{zone} is not an availability zone of {region} ({known})"))
    return problems


CRON_FIELDS = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day-of-week", 1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
    ("year", 1970, 2199, ()),
)
"""CloudWatch Events / EventBridge cron fields, in order, with their ranges and names (Glue triggers and
AWS Backup plans use the same form): docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html"""


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.upper() in names:
        return True
    return text.isdigit() and low <= int(text) <= high


def _cron_item(item: str, field: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    """One comma-separated item of a cron field: *, a value, a range, a step, or a field's special form."""
    if field == "day-of-month" and (item in ("L", "LW") or (item.endswith("W") and _cron_value(item[:-1], 1, 31, ()))):
        return True
    if field == "day-of-week" and (
        item == "L"
        or (item.endswith("L") and _cron_value(item[:-1], low, high, names))
        or ("#" in item and _cron_value(item.split("#")[0], low, high, names) and item.split("#")[1] in "12345")
    ):
        return True
    base, _, step = item.partition("/")
    if step and not (step.isdigit() and int(step) > 0):
        return False
    if base == "*":
        return True
    start, _, end = base.partition("-")
    return _cron_value(start, low, high, names) and (not end or _cron_value(end, low, high, names))


def cron_expression(value: str) -> str:
    """A six-field `cron(minutes hours day-of-month month day-of-week year)` CloudWatch accepts."""
    example = "e.g. cron(0 1 * * ? *) for 01:00 UTC daily"
    if not (value.startswith("cron(") and value.endswith(")")):
        raise ValueError(f"{value!r} is not a cron(...) expression ({example})")
    parts = value[5:-1].split()
    if len(parts) != len(CRON_FIELDS):
        raise ValueError(f"{value!r} has {len(parts)} fields; CloudWatch's cron has 6 ({example})")
    for text, (field, low, high, names) in zip(parts, CRON_FIELDS, strict=True):
        question = text == "?" and field in ("day-of-month", "day-of-week")
        if not question and not all(_cron_item(item, field, low, high, names) for item in text.split(",")):
            raise ValueError(f"{value!r}: {text!r} is not a valid {field} ({low}-{high}) ({example})")
    if (parts[2] == "?") == (parts[4] == "?"):
        raise ValueError(f"{value!r}: exactly one of day-of-month and day-of-week must be '?' ({example})")
    return value


def cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ValueError(f"{value} is not a valid CIDR") from None
    if not 16 <= network.prefixlen <= 28:
        raise ValueError(f"{value}: a VPC CIDR must be between /16 and /28")
    return value


def retention(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        raise ValueError(
            f"{value} days is not a retention CloudWatch Logs accepts "
            f"({', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))})"
        )
    return value


def private_asn(value: int) -> int:
    if not (64512 <= value <= 65534 or 4_200_000_000 <= value <= 4_294_967_294):
        raise ValueError(f"{value} is not a private ASN (64512-65534 or 4200000000-4294967294)")
    return value


def yaml_list(value: Any) -> Any:
    """YAML has lists, the frozen models hold tuples; strict mode would refuse the conversion."""
    return tuple(value) if isinstance(value, list) else value


Cidr = Annotated[str, AfterValidator(cidr)]


RetentionDays = Annotated[int, AfterValidator(retention)]


PrivateAsn = Annotated[int, AfterValidator(private_asn)]


CronExpression = Annotated[str, AfterValidator(cron_expression)]


YamlList = BeforeValidator(yaml_list)


K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
"""A Kubernetes object name (DNS label): namespaces, services, node groups."""


class ConfigModel(BaseModel):
    """Strict, frozen, closed: unknown keys and coerced types are errors, not surprises."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TagsConfig(ConfigModel):
    """Cost-allocation tags put on every resource (with `stage`, which comes from the file name)."""

    project: str = Field(min_length=1, max_length=256)
    cost_center: str = Field(min_length=1, max_length=256)
