"""What every section shares: the strict, frozen base model, the stage-wide constants and the validated
scalar types (CIDRs, retention days, private ASNs, YAML lists). Nothing here imports aws_cdk."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

PRODUCTION_STAGE = "prod"


AZ_COUNT = 3
"""Every tier has one subnet in each of exactly three AZs (seed 000/001); OpenSearch and MSK need three."""


CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only retention periods CloudWatch Logs accepts (RetentionInDays)."""


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


YamlList = BeforeValidator(yaml_list)


class ConfigModel(BaseModel):
    """Strict, frozen, closed: unknown keys and coerced types are errors, not surprises."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TagsConfig(ConfigModel):
    """Cost-allocation tags put on every resource (with `stage`, which comes from the file name)."""

    project: str = Field(min_length=1, max_length=256)
    cost_center: str = Field(min_length=1, max_length=256)
