"""The cluster a platform stack's template asks for, read the way EKS and CDK's kubectl provider will read it:
node groups, add-ons (configuration parsed), Helm releases (values parsed) and the objects its manifests
apply. CloudFormation tokens inside JSON strings become readable placeholders (`<Ref Logical>`,
`<GetAtt Logical.Attr>`, `<Output Name>`), so an object that names a resource still says which one.

The `with_*` helpers return a changed copy of a template: the behaviour tests' mutations break a template
the way a construct change would, then show that the contract catches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.behaviour.templates import copied

HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"


def placeholder(token: Any) -> str:
    """A readable stand-in for a CloudFormation token."""
    if "Ref" in token:
        return f"<Ref {token['Ref']}>"
    if "Fn::GetAtt" in token:
        return f"<GetAtt {'.'.join(token['Fn::GetAtt'])}>"
    if "Fn::GetStackOutput" in token:
        return f"<Output {token['Fn::GetStackOutput']['OutputName']}>"
    return f"<{next(iter(token))}>"


def text(value: Any) -> str:
    """A string property as CloudFormation will resolve it, with tokens as placeholders."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(text(part) for part in parts)
    return placeholder(value)


@dataclass(frozen=True)
class HelmRelease:
    logical_id: str
    chart: str
    version: str
    repository: str
    namespace: str
    values: dict[str, Any]
    skip_crds: bool


@dataclass(frozen=True)
class Addon:
    logical_id: str
    name: str
    version: str | None
    configuration: dict[str, Any]


@dataclass(frozen=True)
class ClusterTemplate:
    """What one platform template installs into its cluster."""

    resources: dict[str, dict[str, Any]]
    kubernetes_version: str
    node_groups: dict[str, dict[str, Any]]
    """Logical id -> the AWS::EKS::Nodegroup's properties."""
    addons: list[Addon]
    releases: list[HelmRelease]
    objects: list[dict[str, Any]]
    """Every object the template's KubernetesManifests apply, in template order."""
    fargate_profiles: dict[str, dict[str, Any]]
    """Logical id -> the AWS::EKS::FargateProfile's properties."""

    @classmethod
    def read(cls, template: dict[str, Any]) -> ClusterTemplate:
        resources: dict[str, dict[str, Any]] = template["Resources"]

        def of_type(kind: str) -> dict[str, dict[str, Any]]:
            return {key: r.get("Properties", {}) for key, r in resources.items() if r["Type"] == kind}

        (cluster,) = of_type("AWS::EKS::Cluster").values()
        addons = [
            Addon(key, p["AddonName"], p.get("AddonVersion"), json.loads(p.get("ConfigurationValues", "{}")))
            for key, p in of_type("AWS::EKS::Addon").items()
        ]
        releases = [
            HelmRelease(
                key,
                p["Chart"],
                p["Version"],
                p["Repository"],
                p["Namespace"],
                json.loads(text(p["Values"])) if "Values" in p else {},
                bool(p.get("SkipCrds", False)),
            )
            for key, p in of_type(HELM_CHART).items()
        ]
        objects = [obj for p in of_type(MANIFEST).values() for obj in json.loads(text(p["Manifest"]))]
        return cls(
            resources,
            cluster["Version"],
            of_type("AWS::EKS::Nodegroup"),
            addons,
            releases,
            objects,
            of_type("AWS::EKS::FargateProfile"),
        )

    def release(self, chart: str) -> HelmRelease:
        (found,) = [r for r in self.releases if r.chart == chart]
        return found

    def objects_of(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]


def _the_resource(template: dict[str, Any], kind: str, where: dict[str, Any]) -> dict[str, Any]:
    """The properties of the one resource of `kind` whose properties include `where`."""
    found: list[dict[str, Any]] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == kind and all(r["Properties"].get(k) == v for k, v in where.items())
    ]
    (properties,) = found
    return properties


def with_resource(template: dict[str, Any], kind: str, where: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """A copy of `template` whose one `kind` resource matching `where` gets `properties` (None removes one)."""
    changed = copied(template)
    found = _the_resource(changed, kind, where)
    for key, value in properties.items():
        if value is None:
            found.pop(key, None)
        else:
            found[key] = value
    return changed


def with_chart_values(template: dict[str, Any], chart: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of `template` whose `chart` release has its values edited in place by `change`."""
    changed = copied(template)
    release = _the_resource(changed, HELM_CHART, {"Chart": chart})
    values = json.loads(text(release.get("Values", "{}")))
    change(values)
    release["Values"] = json.dumps(values)
    return changed


def with_objects(template: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of `template` whose applied objects are each passed to `change`, which edits them in place."""
    changed = copied(template)
    for resource in changed["Resources"].values():
        if resource["Type"] == MANIFEST:
            objects = json.loads(text(resource["Properties"]["Manifest"]))
            for obj in objects:
                change(obj)
            resource["Properties"]["Manifest"] = json.dumps(objects)
    return changed
