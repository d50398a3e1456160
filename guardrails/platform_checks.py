"""The project's cdk-nag 3 rule pack: invariants of this platform that cdk-nag's packs do not check (or
check differently), run on every synth beside them, and cdk-nag's Lambda rules over every function in the
templates (theirs see only lambda.CfnFunction, not the functions CDK's providers write as raw resources).
Findings are acknowledged like theirs, on the construct, as `Platform-<Rule>` or, where a rule finds
several things on one resource, `Platform-<Rule>[<finding>]`.

The rules read the synthesized templates, not the construct tree: NagPack's own walk calls back into
Python for every resource of the app (1,500 here), which cost over a second of every synth. Only a
resource a rule finds fault with goes through NagPack (`validate_scope`), so rule IDs, messages and
acknowledgments stay cdk-nag's.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

PACK_NAME = "Platform"
CONTROL_PLANE_LOG_TYPES = frozenset({"api", "audit", "authenticator", "controllerManager", "scheduler"})
ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
PATH_METADATA = "aws:cdk:path"

Resource = Mapping[str, Any]
Template = Mapping[str, Any]
Outcome = bool | list[str]
"""A rule's verdict on one resource: compliant or not, or the list of findings (empty: compliant)."""


def _properties(resource: Resource) -> Mapping[str, Any]:
    return resource.get("Properties") or {}


def eks_endpoint_private(resource: Resource, _template: Template) -> Outcome:
    """The API endpoint is private, or public only to listed CIDRs (never to the whole internet)."""
    vpc = _properties(resource).get("ResourcesVpcConfig") or {}
    if vpc.get("EndpointPublicAccess") is False:
        return True
    cidrs = vpc.get("PublicAccessCidrs") or []
    return bool(cidrs) and not ANYWHERE & set(cidrs)


def eks_control_plane_logs(resource: Resource, _template: Template) -> Outcome:
    """All five control-plane log types are on; a finding names each one that is off."""
    logging = (_properties(resource).get("Logging") or {}).get("ClusterLogging") or {}
    enabled = {log_type.get("Type") for log_type in logging.get("EnabledTypes") or []}
    return sorted(CONTROL_PLANE_LOG_TYPES - enabled)


def eks_secrets_encryption(resource: Resource, _template: Template) -> Outcome:
    """Kubernetes secrets are envelope-encrypted with a KMS key."""
    configs = _properties(resource).get("EncryptionConfig") or []
    return any("secrets" in (config.get("Resources") or []) for config in configs)


def launch_template_imdsv2(resource: Resource, _template: Template) -> Outcome:
    """Instances launched from the template must use IMDSv2 (session tokens)."""
    data = _properties(resource).get("LaunchTemplateData") or {}
    return (data.get("MetadataOptions") or {}).get("HttpTokens") == "required"


def _open_ingress(rule: Mapping[str, Any]) -> list[str]:
    if not ANYWHERE & {rule.get("CidrIp"), rule.get("CidrIpv6")}:
        return []
    protocol = str(rule.get("IpProtocol"))
    if protocol == "-1":
        return ["all"]
    from_port, to_port = rule.get("FromPort"), rule.get("ToPort")
    return [f"{protocol}:{from_port}" if from_port == to_port else f"{protocol}:{from_port}-{to_port}"]


def no_open_ingress(resource: Resource, _template: Template) -> Outcome:
    """No ingress from 0.0.0.0/0 or ::/0; one finding per open rule (`tcp:443`, `tcp:8000-8100`, `all`).
    The internet-facing load balancer's group acknowledges exactly its `tcp:80` and `tcp:443`."""
    properties = _properties(resource)
    if resource["Type"] == "AWS::EC2::SecurityGroupIngress":
        return _open_ingress(properties)
    return [finding for rule in properties.get("SecurityGroupIngress") or [] for finding in _open_ingress(rule)]


def log_group_kms(resource: Resource, _template: Template) -> Outcome:
    """Log events are encrypted with a customer-managed KMS key."""
    return bool(_properties(resource).get("KmsKeyId"))


def log_group_retention(resource: Resource, _template: Template) -> Outcome:
    """Log events expire: a retention is set (CloudWatch keeps them forever otherwise)."""
    return _properties(resource).get("RetentionInDays") is not None


def _dead_letter_targets(template: Template) -> list[Any]:
    """What the template's queues redrive to and its event source mappings send failed records to."""
    targets = []
    for resource in template.get("Resources", {}).values():
        properties = _properties(resource)
        if resource["Type"] == "AWS::SQS::Queue":
            targets.append((properties.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
        elif resource["Type"] == "AWS::Lambda::EventSourceMapping":
            targets.append(((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"))
    return [target for target in targets if target]


def queue_has_dlq(resource: Resource, template: Template) -> Outcome:
    """A queue has a dead-letter queue, or is one: another queue's redrive target, or the on-failure
    destination of an event source mapping (failed stream records land there)."""
    if (_properties(resource).get("RedrivePolicy") or {}).get("deadLetterTargetArn"):
        return True
    logical_id = next(key for key, value in template["Resources"].items() if value is resource)
    return {"Fn::GetAtt": [logical_id, "Arn"]} in _dead_letter_targets(template)


def lambda_dlq(resource: Resource, _template: Template) -> Outcome:
    """Failed asynchronous invocations are kept: the function has a dead-letter queue. cdk-nag's LambdaDLQ
    sees only lambda.CfnFunction; this sees every function in the template, CDK's raw providers too."""
    return bool((_properties(resource).get("DeadLetterConfig") or {}).get("TargetArn"))


def lambda_concurrency(resource: Resource, _template: Template) -> Outcome:
    """The function reserves its concurrency, so it neither starves the account nor is starved (every
    function in the template, as LambdaDLQ)."""
    return _properties(resource).get("ReservedConcurrentExecutions") is not None


def lambda_inside_vpc(resource: Resource, _template: Template) -> Outcome:
    """The function runs in the VPC's subnets, behind its security groups (every function in the template,
    as LambdaDLQ)."""
    return bool((_properties(resource).get("VpcConfig") or {}).get("SubnetIds"))


RuleCheck = Callable[[Resource, Template], Outcome]


@dataclass(frozen=True)
class Rule:
    """`Platform-<suffix>`: `info` says what a finding means; the check's docstring says why it matters."""

    suffix: str
    info: str
    check: RuleCheck


EKS_RULES = (
    Rule("EKSEndpoint", "The EKS API endpoint is public to the internet.", eks_endpoint_private),
    Rule("EKSControlPlaneLogs", "A control-plane log type is off.", eks_control_plane_logs),
    Rule("EKSSecretsEncryption", "Kubernetes secrets are not KMS-encrypted.", eks_secrets_encryption),
)
OPEN_INGRESS = (Rule("OpenIngress", "Ingress from anywhere.", no_open_ingress),)
RULES: dict[str, tuple[Rule, ...]] = {
    "AWS::EKS::Cluster": EKS_RULES,
    "AWS::EC2::LaunchTemplate": (
        Rule("IMDSv2", "The launch template does not require IMDSv2.", launch_template_imdsv2),
    ),
    "AWS::EC2::SecurityGroup": OPEN_INGRESS,
    "AWS::EC2::SecurityGroupIngress": OPEN_INGRESS,
    "AWS::Logs::LogGroup": (
        Rule("LogGroupKms", "The log group is not encrypted with a KMS key.", log_group_kms),
        Rule("LogGroupRetention", "The log group keeps events forever.", log_group_retention),
    ),
    "AWS::SQS::Queue": (Rule("SqsDlq", "The queue has no dead-letter queue and is none.", queue_has_dlq),),
    "AWS::Lambda::Function": (
        Rule("LambdaDLQ", "The function has no dead-letter queue.", lambda_dlq),
        Rule("LambdaConcurrency", "The function reserves no concurrency.", lambda_concurrency),
        Rule("LambdaInsideVPC", "The function is not in the VPC.", lambda_inside_vpc),
    ),
}
"""CloudFormation type -> the rules that apply to it."""
RULE_IDS = sorted({f"{PACK_NAME}-{rule.suffix}" for rules in RULES.values() for rule in rules})


def template_findings(template: Template) -> dict[str, list[tuple[Rule, Outcome]]]:
    """Logical ID -> the rules `template`'s resource breaks, with what each found."""
    findings: dict[str, list[tuple[Rule, Outcome]]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        for rule in RULES.get(resource["Type"], ()):
            outcome = rule.check(resource, template)
            if outcome is not True and outcome != []:
                findings.setdefault(logical_id, []).append((rule, outcome))
    return findings


@jsii.implements(IApplyRule)
class _AppliedRule:
    """A rule's outcome on one resource, in the shape NagPack.applyRule expects. jsii sees only members
    declared on the class, so each field is a property."""

    def __init__(self, rule: Rule, outcome: Outcome, node: cdk.CfnResource) -> None:
        self._rule, self._outcome, self._node = rule, outcome, node

    @builtins.property
    def rule_suffix_override(self) -> str:
        return self._rule.suffix

    @builtins.property
    def info(self) -> str:
        return self._rule.info

    @builtins.property
    def explanation(self) -> str:
        return (self._rule.check.__doc__ or "").strip()

    @builtins.property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @builtins.property
    def node(self) -> cdk.CfnResource:
        return self._node

    def rule(self, _node: cdk.CfnResource) -> NagRuleCompliance | list[str]:
        if isinstance(self._outcome, list):
            return self._outcome
        return NagRuleCompliance.COMPLIANT if self._outcome else NagRuleCompliance.NON_COMPLIANT


class PlatformChecks(NagPack):
    """`Platform-*` rules (RULES); register with `Validations.of(app).add_plugins(PlatformChecks(app))`."""

    def __init__(self, scope: IConstruct) -> None:
        super().__init__(scope)
        self._pack_name = PACK_NAME
        self._scope = scope
        self._pending: dict[str, list[tuple[Rule, Outcome]]] = {}

    @builtins.property
    def name(self) -> str:
        return PACK_NAME

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        by_rule: dict[str, list[cdk.PolicyViolation]] = {}
        for template_path in context.template_paths:
            template = json.loads(Path(template_path).read_text())
            for logical_id, found in template_findings(template).items():
                construct = self._construct_of(template["Resources"][logical_id], logical_id, template_path)
                self._pending[construct.node.path] = found
                for violation in self.validate_scope(construct).violations:
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

    def _construct_of(self, resource: Resource, logical_id: str, template_path: str) -> IConstruct:
        """The construct behind a template's resource: by the construct path CDK records in its metadata
        (the CLI's default), or else by its logical ID in the stack that wrote the template."""
        path = (resource.get("Metadata") or {}).get(PATH_METADATA)
        root = self._scope.node.root
        if path:
            construct: IConstruct = root
            for segment in str(path).split("/"):
                construct = construct.node.find_child(segment)
            return construct
        name = Path(template_path).name
        stack = next(c for c in root.node.find_all() if isinstance(c, cdk.Stack) and c.template_file == name)
        return next(
            c for c in stack.node.find_all() if isinstance(c, cdk.CfnElement) and stack.get_logical_id(c) == logical_id
        )

    def _check_resource(self, node: cdk.CfnResource) -> None:
        for rule, outcome in self._pending.pop(node.node.path, []):
            # Read-only where the protocol allows setting: NagPack only reads them.
            self._apply_rule(cast(IApplyRule, _AppliedRule(rule, outcome, node)))
