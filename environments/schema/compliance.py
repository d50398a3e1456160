"""Which cdk-nag packs check a stage (compliance.packs). The project's own Platform pack checks every stage
whatever is chosen; acknowledgments are written once per concern and cover every pack's ID for it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from environments.schema.base import ConfigModel, YamlList

PACKS = {
    "AwsSolutions": "AWS Solutions (AWS's best practices)",
    "NIST.800.53.R5": "NIST 800-53 rev 5",
    "HIPAA.Security": "HIPAA Security",
    "PCI.DSS.321": "PCI DSS 3.2.1",
}
"""The packs by the prefix of their rule IDs (as findings name them) -> what they are."""
DEFAULT_PACKS = ("AwsSolutions", "NIST.800.53.R5")


def _packs(value: tuple[str, ...]) -> tuple[str, ...]:
    choices = ", ".join(PACKS)
    for name in value:
        if name not in PACKS:
            raise ValueError(f"{name} is not a cdk-nag pack this project runs (choose from {choices})")
    if len(set(value)) != len(value):
        raise ValueError("lists a pack twice")
    return value


class ComplianceConfig(ConfigModel):
    """The cdk-nag packs that check this stage's templates; any unacknowledged finding fails the synth.
    Without a compliance section a stage runs AwsSolutions and NIST 800-53 rev 5."""

    packs: Annotated[tuple[str, ...], YamlList, AfterValidator(_packs)] = DEFAULT_PACKS
