"""Who may read what a SecretProviderClass mounts: the IAM role Pod Identity gives the mounting pod's service
account, read from the templates (associations, managed and inline policies, secrets and their keys), across the
stage's stacks. A pod mounts a class's secrets only when that role may call secretsmanager:GetSecretValue on each
secret (and ssm:GetParameters on each parameter), and kms:Decrypt through Secrets Manager on each secret's key.
Per region: a region's pods mount its classes with the roles its associations name, and read each secret there,
the secret itself or its replica (the primary's ReplicaRegions), under the key it has in that region.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.behaviour.create_time import MANIFEST
from tests.behaviour.permissions import flatten
from tests.behaviour.templates import StackTemplate, json_text, target

ResourceKey = tuple[str, str]
"""(stack name, logical id)."""


@dataclass(frozen=True)
class Mount:
    """A service account whose pods mount a SecretProviderClass (the class's namespace)."""

    namespace: str
    service_account: str
    secret_provider_class: str


def secret_provider_classes(stacks: Sequence[StackTemplate]) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, name) -> every SecretProviderClass the stage's manifests apply."""
    return {
        (obj["metadata"]["namespace"], obj["metadata"]["name"]): obj
        for stack in stacks
        for _, props in stack.of_type(MANIFEST)
        for obj in json_text(props.get("Manifest")) or []
        if obj.get("kind") == "SecretProviderClass"
    }


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(stacks: Sequence[StackTemplate], role: ResourceKey) -> Iterator[tuple[StackTemplate, dict[str, Any]]]:
    """Every Allow statement of the managed and inline policies attached to `role`."""
    for stack in stacks:
        for _, props in stack.of_type("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            attached = [target(stack, r, stacks) for r in props.get("Roles", [])]
            if any(found and (found[0].name, found[1]) == role for found in attached):
                for statement in props["PolicyDocument"]["Statement"]:
                    if statement.get("Effect") == "Allow":
                        yield stack, statement


def _allows(
    stacks: Sequence[StackTemplate], role: ResourceKey, action: str, resource: ResourceKey, via: str | None = None
) -> bool:
    """Whether an Allow statement of `role` grants `action` on `resource` (named by a reference), with no condition
    but `kms:ViaService` equal to `via`."""
    for stack, statement in _statements(stacks, role):
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in _listed(statement["Action"])):
            continue
        if not any(resource in _named_by(stack, r, stacks) for r in _listed(statement["Resource"])):
            continue
        condition = statement.get("Condition")
        if condition is None or (via and condition == {"StringEquals": {"kms:ViaService": via}}):
            return True
    return False


def _named_by(stack: StackTemplate, value: Any, stacks: Sequence[StackTemplate]) -> set[ResourceKey]:
    """The resources a policy's Resource names: the one it references, or those an ARN it joins references (an
    SSM parameter's ARN is `arn:...:parameter` joined with the parameter's name)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return {key for part in value["Fn::Join"][1] for key in _named_by(stack, part, stacks)}
    found = target(stack, value, stacks)
    return {(found[0].name, found[1])} if found else set()


def _named(stacks: Sequence[StackTemplate], resource_type: str, name: str) -> tuple[StackTemplate, str] | None:
    for stack in stacks:
        for logical_id, props in stack.of_type(resource_type):
            if props.get("Name") == name:
                return stack, logical_id
    return None


def access_problems(stage: str, stacks: Sequence[StackTemplate], mounts: Sequence[Mount]) -> list[str]:
    """One line for each object a mount's class names that its service account's role may not read, in each
    region that runs a cluster."""
    regions = sorted({stack.region for stack in stacks if any(stack.of_type("AWS::EKS::Cluster"))})
    return [
        problem
        for region in regions
        for problem in _region_problems(stage, region, stacks, [s for s in stacks if s.region == region], mounts)
    ]


def _region_problems(
    stage: str, region: str, stacks: Sequence[StackTemplate], here: Sequence[StackTemplate], mounts: Sequence[Mount]
) -> list[str]:
    classes = secret_provider_classes(here)
    roles: dict[tuple[str, str], ResourceKey] = {}
    for stack in here:
        for _, props in stack.of_type("AWS::EKS::PodIdentityAssociation"):
            found = target(stack, props["RoleArn"], stacks)
            if found:
                roles[(props["Namespace"], props["ServiceAccount"])] = (found[0].name, found[1])
    problems = []
    for mount in mounts:
        where = f"{stage}: {region}: {mount.namespace}/{mount.service_account} mounting {mount.secret_provider_class}"
        spc = classes.get((mount.namespace, mount.secret_provider_class))
        role = roles.get((mount.namespace, mount.service_account))
        if spc is None or role is None:
            missing = "no such SecretProviderClass" if spc is None else "no Pod Identity association"
            problems.append(f"{where}: {missing}")
            continue
        parameters = spc["spec"]["parameters"]
        if parameters["region"] != region:
            problems.append(f"{where}: its class reads from {parameters['region']}")
        via = f"secretsmanager.{region}.amazonaws.com"
        for obj in json.loads(parameters["objects"]):
            problems += [f"{where}: {problem}" for problem in _object_problems(obj, region, stacks, here, role, via)]
    return problems


def _object_problems(
    obj: Mapping[str, str],
    region: str,
    stacks: Sequence[StackTemplate],
    here: Sequence[StackTemplate],
    role: ResourceKey,
    via: str,
) -> list[str]:
    """What stops `role` reading one mounted object in `region`: a parameter or secret of the region's stacks,
    or a secret's replica there."""
    name, kind = obj["objectName"], obj["objectType"]
    resource_type, action = {
        "secretsmanager": ("AWS::SecretsManager::Secret", "secretsmanager:GetSecretValue"),
        "ssmparameter": ("AWS::SSM::Parameter", "ssm:GetParameters"),
    }[kind]
    found = _named(here, resource_type, name)
    replica = None if found or kind != "secretsmanager" else _replica(stacks, name, region)
    if found is None and replica is None:
        return [f"{name} is no {resource_type} of the region, nor a replica there"]
    problems = []
    if found:
        secret_stack, secret = found
        allowed = _allows(stacks, role, action, (secret_stack.name, secret))
        key, key_stack = secret_stack.resources[secret].get("Properties", {}).get("KmsKeyId"), secret_stack
    else:
        assert replica is not None
        key_stack, key = replica
        account = key_stack.account
        allowed = _allows_arn(stacks, role, action, f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf")
    if not allowed:
        problems.append(f"its role {role[1]} may not {action} {name}")
    key_id = target(key_stack, key, stacks) if key else None
    if key_id and not _allows(stacks, role, "kms:Decrypt", (key_id[0].name, key_id[1]), via):
        problems.append(f"its role {role[1]} may not kms:Decrypt {name}'s key {key_id[1]}")
    return problems


def _replica(stacks: Sequence[StackTemplate], name: str, region: str) -> tuple[StackTemplate, Any] | None:
    """(the primary secret's stack, the replica's KmsKeyId) of the replica in `region` of the secret `name`."""
    for stack in stacks:
        for _, props in stack.of_type("AWS::SecretsManager::Secret"):
            if props.get("Name") == name:
                for replica in props.get("ReplicaRegions", []):
                    if replica["Region"] == region:
                        return stack, replica.get("KmsKeyId")
    return None


def _allows_arn(stacks: Sequence[StackTemplate], role: ResourceKey, action: str, arn: str) -> bool:
    """Whether an unconditional Allow statement of `role` grants `action` on the literal `arn` (a resource no
    template makes, such as a replica: the statement names it by a pattern joined from strings)."""
    for _, statement in _statements(stacks, role):
        if statement.get("Condition") or not any(
            fnmatch.fnmatchcase(action, pattern) for pattern in _listed(statement["Action"])
        ):
            continue
        if any(fnmatch.fnmatchcase(arn, pattern) for r in _listed(statement["Resource"]) if (pattern := _text(r))):
            return True
    return False


def _text(value: Any) -> str | None:
    """A Resource as text (as cdk-nag flattens it, the partition filled in); None where it references more."""
    text = flatten(value).replace("<AWS::Partition>", "aws")
    return None if "<" in text or text.startswith("{") else text
