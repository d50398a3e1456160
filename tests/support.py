"""Small helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnElement, Stack
from constructs import IConstruct

STAGES = ("dev", "staging", "prod")
"""Stage ids the app must build, in promotion order."""


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of `resource_type`."""
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def props(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The Properties of every resource of `resource_type`."""
    return [value.get("Properties", {}) for value in resources(template, resource_type).values()]


def ref_id(value: Any) -> str:
    """The logical id a {"Ref": ...} or {"Fn::GetAtt": [...]} points at."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def logical_id(construct: IConstruct) -> str:
    """The logical id of a construct's CloudFormation resource (itself, or its default child)."""
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    assert isinstance(element, CfnElement)
    return Stack.of(construct).get_logical_id(element)
