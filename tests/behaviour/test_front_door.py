"""It works once deployed, the front door. The ingress load balancer is the platform stack's, so nothing names
it by hand: no template of any stage (every region) and no stage file holds a load balancer's DNS name or
CloudWatch name. And for every configured service the chain from the HTTPS listener to the pods holds at
each link: rule, target group, TargetGroupBinding, Service and container port where the repository defines
them, and the network in between. The chain check is proven on broken copies of each stage's templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import yaml
from constructs.compute.ingress_load_balancer import ORIGIN_VERIFY_HEADER, SERVICE_LABEL

from environments.schema.stage import StageConfig
from tests.behaviour.reachability import (
    KUBERNETES_RESOURCE,
    Kind,
    Placed,
    StackTemplate,
    Traffic,
    VpcModel,
    manifest_objects,
    rejoined,
    with_placeholders,
)
from tests.behaviour.templates import copied
from tests.stage_files import REPO_ROOT
from tests.synthesis import SynthesizedPlatform, read_template

TYPED_NAMES = (
    re.compile(r"elb\.amazonaws\.com", re.IGNORECASE),
    re.compile(r"\b(app|net)/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}\b"),
    re.compile(r"\btargetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}\b"),
)
"""A load balancer's DNS name, or its or a target group's CloudWatch dimension (`app/<name>/<id>`)."""


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string in a template or config, keys included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", str(key)
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}.{index}")
    elif isinstance(value, str):
        yield path, value


def typed_names(value: Any) -> list[str]:
    return [f"{path}: {text}" for path, text in strings(value) if any(p.search(text) for p in TYPED_NAMES)]


def test_no_template_names_a_load_balancer_by_hand(platform: SynthesizedPlatform, stage: str) -> None:
    found = [
        f"{stack.stack_name}{where}"
        for stack in platform.stacks(stage)
        for where in typed_names(read_template(stack)["Resources"])
    ]
    assert found == [], "\n".join(found)


def test_no_stage_file_names_a_load_balancer(platform: SynthesizedPlatform, stage: str) -> None:
    assert typed_names(platform.configs[stage].model_dump()) == []


def test_the_check_finds_a_name_typed_in() -> None:
    template = {
        "Alarm": {
            "Properties": {"Dimensions": [{"Name": "LoadBalancer", "Value": "app/k8s-platform/0123456789abcdef"}]}
        },
        "Origin": {"Properties": {"DomainName": "k8s-platform-0000000000.us-east-1.elb.amazonaws.com"}},
        "Fine": {"Properties": {"Value": {"Fn::GetAtt": ["IngressLoadBalancer", "LoadBalancerFullName"]}}},
    }
    assert [line.split(":")[0] for line in typed_names(template)] == [
        ".Alarm.Properties.Dimensions.0.Value",
        ".Origin.Properties.DomainName",
    ]


# --- the chain: load balancer -> target group -> pods, consistent at every link ----------------------------

LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
WORKLOADS = REPO_ROOT / "workloads"
"""Where the application's own Kubernetes manifests live, when there are any."""
POD_SPECS = {"Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"), "DaemonSet": ("spec", "template")}


def kubernetes_objects(stacks: Sequence[StackTemplate]) -> list[dict[str, Any]]:
    """Every Kubernetes object the platform applies (tokens as placeholders) and every plain manifest under
    workloads/ (files that are not plain YAML, such as chart templates, are not read)."""
    found = [
        obj
        for stack in stacks
        for _, resource in sorted(stack.template.get("Resources", {}).items())
        if resource["Type"] == KUBERNETES_RESOURCE
        for obj in manifest_objects(resource["Properties"]["Manifest"])[0]
    ]
    for path in sorted(WORKLOADS.rglob("*.y*ml")) if WORKLOADS.is_dir() else []:
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        found += [doc for doc in documents if isinstance(doc, dict) and "kind" in doc]
    return found


def chain_problems(stacks: Sequence[StackTemplate], config: StageConfig) -> list[str]:
    """For each of platform.services, each link from the HTTPS listener to the pods' container port: the
    listener rule (its paths, and CloudFront's header with the edge), the target group (IP, the service
    port), the TargetGroupBinding (the Service and its port), the Service and pods where the repository
    defines them (port, targetPort, selector, container port), and the network between the load balancer
    and the workloads on that port (the alb group's egress, the workload group's ingress, both tiers' ACLs)."""
    (platform,) = [s for s in stacks if s.name == f"{config.name}-platform"]
    resources = platform.template["Resources"]
    properties = {key: r["Properties"] for key, r in resources.items()}
    listeners = [k for k, r in resources.items() if r["Type"] == LISTENER and r["Properties"]["Port"] == 443]
    rules = {
        r["Properties"]["Actions"][0]["TargetGroupArn"]["Ref"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == RULE and r["Properties"]["ListenerArn"] in [{"Ref": k} for k in listeners]
    }
    bindings = {
        (obj["metadata"]["namespace"], obj["metadata"]["name"]): (obj, tokens)
        for r in resources.values()
        if r["Type"] == KUBERNETES_RESOURCE
        for objects, tokens in [manifest_objects(r["Properties"]["Manifest"])]
        for obj in objects
        if obj["kind"] == "TargetGroupBinding"
    }
    objects = kubernetes_objects(stacks)
    problems = [] if len(listeners) == 1 else [f"{platform.name}: {len(listeners)} HTTPS listeners, expected 1"]
    model = VpcModel(config.name, stacks)
    balancers = model.parties(config.region, Placed(frozenset({Kind.LOAD_BALANCER})))
    serving = model.parties(config.region, Placed(frozenset({Kind.NODE_GROUP, Kind.KARPENTER_NODES})))
    for service in config.platform.services:
        where = f"{config.name}: {service.name} ({service.namespace}, port {service.port})"
        binding, tokens = bindings.get((service.namespace, service.name), (None, {}))
        if binding is None:
            problems.append(f"{where}: no TargetGroupBinding {service.namespace}/{service.name}")
            continue
        spec = binding["spec"]
        if spec.get("serviceRef") != {"name": service.name, "port": service.port}:
            problems.append(f"{where}: the TargetGroupBinding's serviceRef is {spec.get('serviceRef')}")
        if spec.get("targetType") != "ip":
            problems.append(f"{where}: the TargetGroupBinding registers {spec.get('targetType')} targets, not ip")
        group_id = tokens.get(spec.get("targetGroupARN"), {}).get("Ref")
        group = properties.get(group_id) if resources.get(group_id, {}).get("Type") == TARGET_GROUP else None
        if group is None:
            problems.append(f"{where}: the TargetGroupBinding names no target group of {platform.name}")
            continue
        if (group["Port"], group["Protocol"], group["TargetType"]) != (service.port, "HTTP", "ip"):
            problems.append(
                f"{where}: target group {group_id} is {group['Protocol']}/{group['Port']} {group['TargetType']}"
            )
        rule = rules.get(group_id)
        if rule is None:
            problems.append(f"{where}: no HTTPS listener rule forwards to target group {group_id}")
        else:
            problems += _rule_problems(where, rule, service.path_patterns, config.edge.enabled)
        problems += _workload_problems(where, service.name, service.namespace, service.port, objects)
        problems += [
            f"{where}: {balancer} -> {workload}: {problem}"
            for balancer in balancers
            for workload in serving
            for problem in model.required(balancer, workload, Traffic.tcp(service.port))
        ]
    return problems


def _rule_problems(where: str, rule: dict[str, Any], paths: Sequence[str], verified: bool) -> list[str]:
    conditions = {c["Field"]: c for c in rule["Conditions"]}
    problems = []
    routed = conditions.get("path-pattern", {}).get("PathPatternConfig", {}).get("Values")
    if routed != list(paths):
        problems.append(f"{where}: its listener rule routes {routed}, the service {list(paths)}")
    header = conditions.get("http-header", {}).get("HttpHeaderConfig", {}).get("HttpHeaderName")
    if verified and header != ORIGIN_VERIFY_HEADER:
        problems.append(f"{where}: its listener rule does not require {ORIGIN_VERIFY_HEADER} (the edge is on)")
    if not verified and header is not None:
        problems.append(f"{where}: its listener rule requires {header}, which nothing sends (no edge)")
    return problems


def _workload_problems(
    where: str, name: str, namespace: str, port: int, objects: Sequence[dict[str, Any]]
) -> list[str]:
    """The Service and the pods behind it, wherever the repository defines them."""
    problems = []
    for service in (o for o in objects if o.get("kind") == "Service" and _named(o, namespace, name)):
        ports = [p for p in service.get("spec", {}).get("ports", []) if p.get("port") == port]
        if not ports:
            problems.append(f"{where}: Service {namespace}/{name} has no port {port}")
        problems += [
            f"{where}: Service {namespace}/{name} sends port {port} to targetPort {p['targetPort']}"
            for p in ports
            if p.get("targetPort", port) != port
        ]
        selector = service.get("spec", {}).get("selector", {})
        if selector.get(SERVICE_LABEL) != name:
            problems.append(f"{where}: Service {namespace}/{name} does not select {SERVICE_LABEL}={name}: {selector}")
    for workload in (
        o for o in objects if o.get("kind") in POD_SPECS and o.get("metadata", {}).get("namespace") == namespace
    ):
        template: Any = workload
        for part in POD_SPECS[workload["kind"]]:
            template = template.get(part, {})
        if template.get("metadata", {}).get("labels", {}).get(SERVICE_LABEL) != name:
            continue
        container_ports = {
            p.get("containerPort") for c in template.get("spec", {}).get("containers", []) for p in c.get("ports", [])
        }
        if port not in container_ports:
            problems.append(
                f"{where}: {workload['kind']} {workload['metadata']['name']}'s pods listen on {sorted(container_ports)}"
            )
    return problems


def _named(obj: dict[str, Any], namespace: str, name: str) -> bool:
    metadata = obj.get("metadata", {})
    return bool(metadata.get("name") == name and metadata.get("namespace") == namespace)


def test_the_chain_from_the_listener_to_the_pods_is_consistent(
    platform: SynthesizedPlatform, stage: str, model_stacks: Callable[[str], list[StackTemplate]]
) -> None:
    problems = chain_problems(model_stacks(stage), platform.configs[stage])
    assert problems == [], "\n".join(problems)


# --- the chain check catches each broken link ---------------------------------------------------------------

Edit = Callable[[dict[str, Any], StageConfig], None]
"""Breaks a copy of the stage's platform template (or, given the whole stage, its network) in place."""


def _first_target_group(resources: dict[str, Any], config: StageConfig) -> dict[str, Any]:
    port = config.platform.services[0].port
    return next(
        r["Properties"] for r in resources.values() if r["Type"] == TARGET_GROUP and r["Properties"]["Port"] == port
    )


def _another_port(resources: dict[str, Any], config: StageConfig) -> None:
    _first_target_group(resources, config)["Port"] = 9000


def _binding_to_another_port(resources: dict[str, Any], config: StageConfig) -> None:
    service = config.platform.services[0]
    for resource in resources.values():
        if resource["Type"] == KUBERNETES_RESOURCE and f'\\"name\\":\\"{service.name}\\"' in json.dumps(resource):
            text, tokens = with_placeholders(resource["Properties"]["Manifest"])
            objects = json.loads(text)
            if [obj["kind"] for obj in objects] == ["TargetGroupBinding"]:
                objects[0]["spec"]["serviceRef"]["port"] = 9000
                resource["Properties"]["Manifest"] = rejoined(json.dumps(objects, separators=(",", ":")), tokens)


def _other_paths(resources: dict[str, Any], config: StageConfig) -> None:
    for resource in resources.values():
        if resource["Type"] == RULE and resource["Properties"]["Priority"] == 10:
            resource["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"] = ["/elsewhere/*"]


def _header_flipped(resources: dict[str, Any], config: StageConfig) -> None:
    for resource in resources.values():
        if resource["Type"] == RULE and resource["Properties"]["Priority"] == 10:
            conditions = resource["Properties"]["Conditions"]
            header = {
                "Field": "http-header",
                "HttpHeaderConfig": {"HttpHeaderName": ORIGIN_VERIFY_HEADER, "Values": ["x"]},
            }
            resource["Properties"]["Conditions"] = (
                [c for c in conditions if c["Field"] != "http-header"] if config.edge.enabled else [*conditions, header]
            )


def _a_service_and_pods_on_other_ports(resources: dict[str, Any], config: StageConfig) -> None:
    service = config.platform.services[0]
    meta = {"name": service.name, "namespace": service.namespace}
    labels = {SERVICE_LABEL: service.name}
    manifest = [
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": labels, "ports": [{"port": service.port, "targetPort": 9000}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 9000}]}]}}}},
    ]  # fmt: skip
    provider = next(r for r in resources.values() if r["Type"] == KUBERNETES_RESOURCE)["Properties"]
    resources["MutationWorkload"] = {
        "Type": KUBERNETES_RESOURCE,
        "Properties": {**provider, "Manifest": json.dumps(manifest)},
    }


CHAIN_MUTATIONS = {
    "a target group on another port": (_another_port, "is HTTP/9000 ip"),
    "a binding to another Service port": (_binding_to_another_port, "serviceRef is"),
    "a rule for other paths": (_other_paths, "its listener rule routes ['/elsewhere/*']"),
    "the origin header where the edge says otherwise": (_header_flipped, "its listener rule"),
    "a Service and pods on another port": (_a_service_and_pods_on_other_ports, "9000"),
}


@pytest.mark.parametrize("name", CHAIN_MUTATIONS)
def test_the_chain_check_names_a_broken_link(
    platform: SynthesizedPlatform, stage: str, model_stacks: Callable[[str], list[StackTemplate]], name: str
) -> None:
    edit, names = CHAIN_MUTATIONS[name]
    config = platform.configs[stage]
    stacks = copied(model_stacks(stage))
    (platform_stack,) = [s for s in stacks if s.name == f"{stage}-platform"]
    edit(platform_stack.template["Resources"], config)
    problems = chain_problems(stacks, config)
    first = config.platform.services[0].name
    assert problems and all(p.startswith(f"{stage}: {first} ") and names in p for p in problems), "\n".join(problems)


def test_the_chain_check_needs_the_network_between_load_balancer_and_pods(
    platform: SynthesizedPlatform, stage: str, model_stacks: Callable[[str], list[StackTemplate]]
) -> None:
    """Without the workload group's ingress from the alb group, every service is cut off from its pods."""
    stacks = copied(model_stacks(stage))
    (network,) = [s for s in stacks if s.name == f"{stage}-network"]
    resources = network.template["Resources"]
    for key in [k for k, r in resources.items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
                and "SecurityGroupsAlb" in json.dumps(r["Properties"].get("SourceSecurityGroupId"))]:  # fmt: skip
        del resources[key]
    problems = chain_problems(stacks, platform.configs[stage])
    services = {p.split(" (")[0] for p in problems}
    assert services == {f"{stage}: {s.name}" for s in platform.configs[stage].platform.services}, "\n".join(problems)
    assert any("no ingress rule of network/SecurityGroups/Workload" in p for p in problems), "\n".join(problems)
