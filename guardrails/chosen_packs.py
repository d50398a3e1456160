"""The cdk-nag packs each part of the app chose, run on that part only.

cdk-nag 3's packs are validation plugins, and CDK hands every plugin the whole app's construct tree
(wherever it was registered): a pack registered on one stage would still check them all. ChosenPack runs
one pack over the scopes that chose it (a stage, the pipeline's stacks), so dev can stay on AwsSolutions and
NIST 800-53 while prod also runs HIPAA and PCI DSS.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

from guardrails.nag_rules import PACK_NAMES

PACK_CLASSES: dict[str, Callable[[IConstruct], NagPack]] = dict(
    zip(PACK_NAMES, (AwsSolutionsChecks, NIST80053R5Checks, HIPAASecurityChecks, PCIDSS321Checks), strict=True)
)
"""compliance.packs names (their rule-ID prefixes) -> cdk-nag's pack."""


@jsii.implements(cdk.IPolicyValidationPlugin)
class ChosenPack:
    """cdk-nag's `pack_name` over the app's top-level constructs named in `scope_ids` (looked up at
    validation, when every stack exists) and nothing else."""

    def __init__(self, app: cdk.App, pack_name: str, scope_ids: Iterable[str]) -> None:
        self._app = app
        self._pack = PACK_CLASSES[pack_name](app)
        self._name = pack_name
        self._scope_ids = frozenset(scope_ids)

    @builtins.property
    def name(self) -> str:
        return self._name

    @builtins.property
    def version(self) -> str | None:
        return None

    @builtins.property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, _context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        by_rule: dict[str, list[cdk.PolicyViolation]] = {}
        for scope in (child for child in self._app.node.children if child.node.id in self._scope_ids):
            for violation in self._pack.validate_scope(scope).violations:
                by_rule.setdefault(violation.rule_name, []).append(violation)
        violations = [
            cdk.PolicyViolation(
                rule_name=rule_name,
                description=found[0].description,
                severity=found[0].severity,
                violating_resources=[resource for v in found for resource in v.violating_resources],
            )
            for rule_name, found in by_rule.items()
        ]
        return cdk.PolicyValidationPluginReport(success=not violations, violations=violations)
