"""Kubernetes NetworkPolicy (networking.k8s.io/v1) evaluated over the objects a template applies: may this
endpoint open a connection to that one on this port?

The semantics the API reference gives: a pod is isolated for a direction once any policy selecting it lists
that direction in policyTypes (which defaults to Ingress, plus Egress when the policy has egress rules); an
isolated pod allows what the union of those policies' rules allows, and a connection needs the source's
egress and the destination's ingress. A rule without peers or ports matches every peer or port. In one peer,
namespaceSelector and podSelector are ANDed; podSelector alone means the policy's own namespace. ipBlock
matches addresses (the VPC CNI also matches pod IPs against it), minus its `except` list. Endpoints outside
any pod network namespace (hostNetwork agents, load balancers, AWS services) are not subject to policies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NAMESPACE_NAME = "kubernetes.io/metadata.name"
"""The label the API server puts on every namespace (its name)."""


@dataclass(frozen=True)
class Endpoint:
    """A pod (with a namespace and labels) or an address outside any pod (namespace None)."""

    name: str
    ip: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions, ANDed; empty selects everything)."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


class NetworkPolicies:
    """The NetworkPolicies and Namespaces among `objects`, and the verdict on a connection."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.policies = [obj for obj in objects if obj["kind"] == "NetworkPolicy"]
        self.namespace_labels = {
            obj["metadata"]["name"]: dict(obj["metadata"].get("labels", {}))
            for obj in objects
            if obj["kind"] == "Namespace"
        }

    def blocked(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> str | None:
        """Which side refuses `source` -> `destination`:`port`/`protocol`, or None when it is allowed."""
        if not self._allowed(source, "Egress", destination, port, protocol):
            return f"no egress rule of {source.namespace} admits it"
        if not self._allowed(destination, "Ingress", source, port, protocol):
            return f"no ingress rule of {destination.namespace} admits it"
        return None

    def _allowed(self, pod: Endpoint, direction: str, peer: Endpoint, port: int, protocol: str) -> bool:
        if pod.namespace is None:
            return True
        isolating = [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and selects(p["spec"].get("podSelector", {}), pod.labels)
            and direction in _policy_types(p["spec"])
        ]
        rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        return not isolating or any(
            self._peer_matches(rule.get(peers_key), p["metadata"]["namespace"], peer)
            and _ports_match(rule.get("ports"), port, protocol)
            for p in isolating
            for rule in p["spec"].get(rules_key, [])
        )

    def _peer_matches(self, peers: list[dict[str, Any]] | None, namespace: str, endpoint: Endpoint) -> bool:
        if not peers:
            return True
        return any(self._one_peer(peer, namespace, endpoint) for peer in peers)

    def _one_peer(self, peer: dict[str, Any], namespace: str, endpoint: Endpoint) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            address = ipaddress.IPv4Address(endpoint.ip)
            return address in ipaddress.IPv4Network(block["cidr"]) and not any(
                address in ipaddress.IPv4Network(excepted) for excepted in block.get("except", [])
            )
        if endpoint.namespace is None:
            return False
        if "namespaceSelector" in peer:
            labels = {**self.namespace_labels.get(endpoint.namespace, {}), NAMESPACE_NAME: endpoint.namespace}
            in_namespace = selects(peer["namespaceSelector"], labels)
        else:
            in_namespace = endpoint.namespace == namespace
        return in_namespace and selects(peer.get("podSelector"), endpoint.labels)


def _policy_types(spec: dict[str, Any]) -> list[str]:
    return list(spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])])


def _ports_match(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        first = entry["port"]
        if not isinstance(first, int):
            raise ValueError(f"named port {first!r}: the model resolves numeric ports only")
        if first <= port <= entry.get("endPort", first):
            return True
    return False
