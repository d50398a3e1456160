"""The synthesized templates as the create-time rules read them: where each stack deploys, a worst-case
resolver for the values CloudFormation computes, and the dependency graph inside a template.

Names and sizes are checked on the value CloudFormation will pass. `literal` gives it when it depends only
on pseudo parameters, at their longest (PSEUDO), so a name that fits in us-east-1 but not in a longer
region fails now. `estimate` always gives a string at least as long as the deployed value: references to
resources become their longest ARN or name (the name CloudFormation generates is `<stack>-<logical id>-
<13 random characters>`, cut to the type's limit), and another stack's output is read from that stack.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

import aws_cdk as cdk

from environments.schema.stage import StageConfig
from stacks.stage import PlatformStage
from tests.synthesis import SynthesizedPlatform

PSEUDO = {
    "AWS::Region": "ap-southeast-5",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws-us-gov",
    "AWS::URLSuffix": "amazonaws.com.cn",
}
"""The longest value of each pseudo parameter a name can contain (AWS::StackName is the stack's own)."""
RANDOM_SUFFIX = "x" * 13
"""The random part of a name CloudFormation generates."""
UNKNOWN = "x" * 256
"""What an intrinsic this resolver cannot follow is taken to be."""
NAME_LIMITS = {
    "AWS::IAM::Role": 64,
    "AWS::IAM::ManagedPolicy": 128,
    "AWS::Lambda::Function": 64,
    "AWS::S3::Bucket": 63,
    "AWS::SQS::Queue": 80,
    "AWS::SNS::Topic": 256,
    "AWS::DynamoDB::Table": 255,
    "AWS::DynamoDB::GlobalTable": 255,
    "AWS::Logs::LogGroup": 512,
    "AWS::ElastiCache::ReplicationGroup": 40,
    "AWS::OpenSearchService::Domain": 28,
}
"""Where CloudFormation cuts the names it generates, for the types whose names reach policies and ARNs."""
ARNS = {
    "AWS::SecretsManager::Secret": "secretsmanager:{region}:{account}:secret:{name}-XXXXXX",
    "AWS::KMS::Key": "kms:{region}:{account}:key/" + "x" * 36,
    "AWS::DynamoDB::Table": "dynamodb:{region}:{account}:table/{name}",
    "AWS::DynamoDB::GlobalTable": "dynamodb:{region}:{account}:table/{name}",
    "AWS::S3::Bucket": "s3:::{name}",
    "AWS::SNS::Topic": "sns:{region}:{account}:{name}",
    "AWS::SQS::Queue": "sqs:{region}:{account}:{name}",
    "AWS::IAM::Role": "iam::{account}:role/{name}",
    "AWS::IAM::ManagedPolicy": "iam::{account}:policy/{name}",
    "AWS::Lambda::Function": "lambda:{region}:{account}:function:{name}",
    "AWS::Logs::LogGroup": "logs:{region}:{account}:log-group:{name}:*",
    "AWS::EKS::Cluster": "eks:{region}:{account}:cluster/{name}",
    "AWS::EFS::FileSystem": "elasticfilesystem:{region}:{account}:file-system/fs-" + "x" * 17,
    "AWS::RDS::DBProxy": "rds:{region}:{account}:db-proxy:prx-" + "x" * 17,
    "AWS::Kinesis::Stream": "kinesis:{region}:{account}:stream/{name}",
    "AWS::ECR::Repository": "ecr:{region}:{account}:repository/{name}",
}
"""The ARN of each resource type, after `arn:{partition}:`; other types get `<service>:{region}:{account}:{name}`."""
REF_IS_ARN = frozenset({"AWS::SecretsManager::Secret", "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"})
"""Types whose Ref is their ARN (for the others in ARNS, Ref is the name or an id)."""
NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::EKS::Cluster": "Name",
    "AWS::Kinesis::Stream": "Name",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::ElastiCache::ReplicationGroup": "ReplicationGroupId",
    "AWS::OpenSearchService::Domain": "DomainName",
}
"""The property that names a resource of each type, when the app sets it."""


@dataclass(frozen=True, eq=False)
class StackTemplate:
    """One stack a stage deploys: its name, account and region, the stage it belongs to, its template, and the
    ARNs written in the stage's file (the loader checked they are in the stage's account)."""

    stage: str
    name: str
    account: str
    region: str
    template: Mapping[str, Any]
    stage_arns: frozenset[str] = frozenset()

    @property
    def resources(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.template.get("Resources", {}))

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(logical id, properties) of every resource of one of `types`."""
        for logical_id, resource in self.resources.items():
            if resource["Type"] in types:
                yield logical_id, resource.get("Properties", {})

    def type_of(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def where(self, logical_id: str) -> str:
        """The resource's construct path (which starts with the stage), or `<stack>/<logical id>`."""
        path = self.resources.get(logical_id, {}).get("Metadata", {}).get("aws:cdk:path")
        return str(path) if path else f"{self.name}/{logical_id}"

    def relabelled(self, **changes: Any) -> StackTemplate:
        """This stack with other attributes (a copy deployed elsewhere, or with another template)."""
        values = {name: getattr(self, name) for name in ("stage", "name", "account", "region", "template")}
        return StackTemplate(**{**values, "stage_arns": self.stage_arns, **changes})


T = TypeVar("T")


def copied(value: T) -> T:
    """A deep copy of `value` (templates, or the stacks holding them), as `copy.deepcopy` makes it in half the
    time: the mutation tests copy a whole stage's templates for every break they make."""
    return cast(T, pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)))


_LOADED: dict[tuple[Path, str], list[StackTemplate]] = {}


def stage_stacks(platform: SynthesizedPlatform, stage: str) -> list[StackTemplate]:
    """Every stack `cdk deploy '<stage>/*'` deploys, as the rules read it (read once per synthesis)."""
    key = (platform.outdir, stage)
    if key not in _LOADED:
        _LOADED[key] = _stacks(platform.stages[stage], platform.configs[stage])
    return list(_LOADED[key])


def _stacks(stage: PlatformStage, config: StageConfig) -> list[StackTemplate]:
    arns = frozenset(value for value in _strings(config.model_dump()) if value.startswith("arn:"))
    return [
        StackTemplate(
            stage=config.name,
            name=child.stack_name,
            account=child.account,
            region=child.region,
            template=json.loads((Path(cast(cdk.Stage, cdk.Stage.of(child)).outdir) / child.template_file).read_text()),
            stage_arns=arns,
        )
        for child in stage.node.children
        if isinstance(child, cdk.Stack)
    ]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def literal(value: Any) -> str | None:
    """`value` as the string CloudFormation passes, pseudo parameters at their longest; None when it depends on
    a resource or another stack."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | dict):
        return None
    if not isinstance(value, dict):
        return str(value)
    if set(value) == {"Ref"}:
        return PSEUDO.get(value["Ref"])
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        resolved = [literal(part) for part in parts] if isinstance(parts, list) else [None]
        return None if None in resolved else separator.join(cast(list[str], resolved))
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text: str = value["Fn::Sub"]
        names = re.findall(r"\$\{([^}!]+)\}", text)
        if any(name not in PSEUDO for name in names):
            return None
        return re.sub(r"\$\{([^}!]+)\}", lambda found: PSEUDO[found[1]], text)
    return None


def target(stack: StackTemplate, value: Any, group: Sequence[StackTemplate]) -> tuple[StackTemplate, str] | None:
    """The resource a Ref, GetAtt or another stack's output points at, as (its stack, its logical id)."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Ref" and argument in stack.resources:
        return stack, str(argument)
    if function == "Fn::GetAtt":
        logical_id = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
        return (stack, logical_id) if logical_id in stack.resources else None
    if function == "Fn::GetStackOutput":
        found = output(argument, group)
        return target(found[0], found[1], group) if found else None
    return None


def output(reference: Mapping[str, Any], group: Sequence[StackTemplate]) -> tuple[StackTemplate, Any] | None:
    """(the producing stack, the output's value) of a weak cross-stack reference, when that stack is in `group`."""
    for producer in group:
        if producer.name == reference.get("StackName") and producer.region == reference.get("Region", producer.region):
            value = producer.template.get("Outputs", {}).get(reference.get("OutputName"), {}).get("Value")
            return (producer, value) if value is not None else None
    return None


def attribute(value: Any) -> str:
    """The attribute a GetAtt reads ("" for Ref)."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        argument = value["Fn::GetAtt"]
        return str(argument[1]) if isinstance(argument, list) else str(argument).split(".", 1)[1]
    return ""


def estimate(value: Any, stack: StackTemplate, group: Sequence[StackTemplate] = ()) -> str:
    """A string at least as long as whatever CloudFormation passes for `value`."""
    exact = literal(value)
    if exact is not None:
        return exact
    if not isinstance(value, dict) or len(value) != 1:
        return UNKNOWN
    ((function, argument),) = value.items()
    if function in ("Ref", "Fn::GetAtt"):
        found = target(stack, value, group)
        if found is None:
            return stack.name if argument == "AWS::StackName" else UNKNOWN
        return _reference(found[0], found[1], attribute(value), group)
    if function == "Fn::GetStackOutput":
        produced = output(argument, group)
        return estimate(produced[1], produced[0], group) if produced else UNKNOWN
    if function == "Fn::Join":
        separator, parts = argument
        return str(separator).join(estimate(part, stack, group) for part in parts)
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        return re.sub(
            r"\$\{([^}!]+)\}",
            lambda found: (
                estimate(variables[found[1]], stack, group)
                if found[1] in variables
                else estimate(_sub_reference(found[1]), stack, group)
            ),
            text,
        )
    if function == "Fn::Select":  # a piece of a split string is no longer than the string
        return estimate(argument[1], stack, group)
    if function == "Fn::Split":
        return estimate(argument[1], stack, group)
    if function == "Fn::If":
        return max((estimate(branch, stack, group) for branch in argument[1:]), key=len)
    return UNKNOWN


def _sub_reference(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": name.split(".", 1)} if "." in name else {"Ref": name}


def _reference(stack: StackTemplate, logical_id: str, attribute_name: str, group: Sequence[StackTemplate]) -> str:
    """The longest value of a Ref ("") or GetAtt of a resource: its ARN or its name."""
    resource_type = stack.type_of(logical_id)
    wants_arn = attribute_name.endswith("Arn") or (not attribute_name and resource_type in REF_IS_ARN)
    name = resource_name(stack, logical_id, group)
    if not wants_arn:
        return name
    service = resource_type.split("::")[1].lower()
    shape = ARNS.get(resource_type, service + ":{region}:{account}:{name}")
    return f"arn:{PSEUDO['AWS::Partition']}:" + shape.format(
        region=PSEUDO["AWS::Region"], account=PSEUDO["AWS::AccountId"], name=name
    )


def resource_name(stack: StackTemplate, logical_id: str, group: Sequence[StackTemplate] = ()) -> str:
    """The resource's name: the one the app sets, or the longest CloudFormation can generate."""
    resource_type = stack.type_of(logical_id)
    given = stack.resources[logical_id].get("Properties", {}).get(NAME_PROPERTIES.get(resource_type, ""))
    if given is not None:
        return estimate(given, stack, group)
    return f"{stack.name}-{logical_id}-{RANDOM_SUFFIX}"[: NAME_LIMITS.get(resource_type, 255)]


def expand(value: Any, stack: StackTemplate, group: Sequence[StackTemplate] = ()) -> Any:
    """A JSON document with every intrinsic replaced by its `estimate` (for policy sizes)."""
    if isinstance(value, list):
        return [expand(item, stack, group) for item in value]
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            return estimate(value, stack, group)
        return {key: expand(item, stack, group) for key, item in value.items()}
    return value


def size(document: Any, stack: StackTemplate, group: Sequence[StackTemplate] = ()) -> int:
    """Characters of a policy document without whitespace, as IAM counts them, at its longest."""
    return len(json.dumps(expand(document, stack, group), separators=(",", ":")))


def json_text(value: Any) -> Any:
    """A JSON document CloudFormation assembles with Fn::Join (chart values, manifests), parsed, with every
    token as TOKEN (inside a string: `fs-TOKEN` is "TOKEN::TOKEN" for two); None when it is not JSON."""
    if isinstance(value, dict) and "Fn::Join" in value:
        text, inside = [], False
        for part in value["Fn::Join"][1]:
            if isinstance(part, str):
                text.append(part)
                inside = _inside_string_after(part, inside)
            else:
                text.append("TOKEN" if inside else '"TOKEN"')
        value = "".join(text)
    try:
        return json.loads(value) if isinstance(value, str) else None
    except json.JSONDecodeError:
        return None


def _inside_string_after(text: str, inside: bool) -> bool:
    """Whether a JSON text that starts inside a string (`inside`) ends inside one."""
    escaped = False
    for character in text:
        if escaped:
            escaped = False
        elif character == "\\" and inside:
            escaped = True
        elif character == '"':
            inside = not inside
    return inside


@dataclass(frozen=True)
class Graph:
    """What each resource of a template waits for: DependsOn, and every Ref, GetAtt and Fn::Sub reference."""

    edges: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def reaches(self, start: str, goals: set[str]) -> bool:
        """Whether `start` waits, directly or through others, for one of `goals`."""
        seen, todo = {start}, [start]
        while todo:
            for nxt in self.edges.get(todo.pop(), frozenset()):
                if nxt in goals:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False


@cache
def graph(stack: StackTemplate) -> Graph:
    resources = stack.resources
    edges = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        found = set([depends] if isinstance(depends, str) else depends)
        found |= {name for name in _references(resource.get("Properties", {})) if name in resources}
        edges[logical_id] = frozenset(found)
    return Graph(edges)


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt":
                yield item[0] if isinstance(item, list) else str(item).split(".")[0]
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                yield from (name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
                if not isinstance(item, str):
                    yield from _references(item[1])
            else:
                yield from _references(item)


def nested_dicts(value: Any) -> Iterator[Any]:
    """`value`'s dicts, itself first and then every dict nested in it (the references a Join's parts hold)."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from nested_dicts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from nested_dicts(inner)
