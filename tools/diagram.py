"""`make diagram`: one picture per stage, drawn from its synthesized assembly into docs/diagrams/<stage>.svg.

Regions are horizontal bands, stacks are boxes placed in columns by deploy order (a stack sits right of
everything it depends on), each listing its main resources with their counts. Arrows show what flows
between stacks: cross-stack references (labelled with what they reference), the ingress path from the
internet (above the bands, down the gap left of what it reaches, so it never runs behind a stack),
replication across regions, and dependencies that carry no reference.

The SVG is laid out here, with no renderer to install: the same templates always give the same bytes
(no ids, hashes or dates), so `tests/tools/test_diagram.py` can tell when a committed diagram is out of
date. `--check` does the same from the command line.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from tools.assembly import REPO_ROOT, AssemblyError, CloudAssembly, Stack, StageAssembly, ensure

DIAGRAMS_DIR = REPO_ROOT / "docs" / "diagrams"
MAIN: dict[str, str] = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::NatGateway": "NAT gateway",
    "AWS::EC2::TransitGateway": "Transit Gateway",
    "AWS::EC2::TransitGatewayPeeringAttachment": "Transit Gateway peering",
    "AWS::WAFv2::WebACL": "WAF web ACL",
    "AWS::CloudFront::Distribution": "CloudFront distribution",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::EKS::Cluster": "EKS cluster",
    "AWS::EKS::Nodegroup": "node group",
    "Custom::AWSCDK-EKS-HelmChart": "Helm chart",
    "AWS::ECS::Cluster": "ECS cluster",
    "AWS::ECR::Repository": "ECR repository",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBInstance": "database instance",
    "AWS::RDS::DBProxy": "RDS Proxy",
    "AWS::ElastiCache::ReplicationGroup": "Valkey cache",
    "AWS::Neptune::DBCluster": "Neptune graph",
    "AWS::Timestream::InfluxDBInstance": "InfluxDB (Timestream)",
    "AWS::DAX::Cluster": "DAX cluster",
    "AWS::DynamoDB::GlobalTable": "DynamoDB table",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::EFS::FileSystem": "EFS file system",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::Events::EventBus": "event bus",
    "AWS::Backup::BackupVault": "backup vault",
    "AWS::KMS::Key": "KMS key",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::MSK::Cluster": "Kafka (MSK) cluster",
    "AWS::MSK::ServerlessCluster": "Kafka (MSK Serverless)",
    "AWS::OpenSearchService::Domain": "OpenSearch domain",
    "AWS::Kinesis::Stream": "Kinesis stream",
    "AWS::KinesisFirehose::DeliveryStream": "Firehose stream",
    "AWS::Glue::Job": "Glue job",
    "AWS::Athena::WorkGroup": "Athena workgroup",
    "AWS::APS::Workspace": "Prometheus workspace",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::CloudWatch::Dashboard": "dashboard",
    "AWS::CloudTrail::Trail": "CloudTrail trail",
    "AWS::GuardDuty::Detector": "GuardDuty",
    "AWS::SecurityHub::Hub": "Security Hub",
    "AWS::Config::ConfigurationRecorder": "Config recorder",
}
"""The resource types a box lists (in this order); the rest are the plumbing between them."""

BOX_WIDTH, COLUMN, LINE, HEADER, GAP, MARGIN, INTERNET_WIDTH = 270, 480, 15, 24, 18, 24, 96
INTERNET_LANE = 52
"""Above the bands: the internet sits there, over the gap left of what it reaches, so the ingress arrow
comes down that gap instead of running behind the stacks in between."""
TIMES = "\u00d7"
LABEL_CHARS = 36
"""Edge labels sit in the gap before their target: at most this many characters fit there."""
BAND_FILLS = ("#eef4fb", "#f3f0fa", "#eef8f1", "#fbf3ea")
STYLES = {
    "reference": 'stroke="#6b7280" stroke-width="1.2"',
    "ingress": 'stroke="#e8590c" stroke-width="2.6"',
    "replication": 'stroke="#1c7ed6" stroke-width="1.8" stroke-dasharray="6 4"',
    "dependency": 'stroke="#9ca3af" stroke-width="1.2" stroke-dasharray="3 3"',
}
LEGEND = {
    "reference": "cross-stack references (what they reference)",
    "ingress": "ingress path",
    "replication": "replication between regions",
    "dependency": "deploys after (no reference)",
}


@dataclass(frozen=True)
class Edge:
    source: str
    """A stack name, or "internet"."""
    target: str
    kind: str
    label: str


@dataclass
class Picture:
    """What a stage's diagram shows, before layout: stacks by region, their lines, the edges."""

    stage: str
    regions: list[tuple[str, str]]
    """(account, region), the primary region first."""
    stacks: list[Stack]
    lines: dict[str, list[str]]
    levels: dict[str, int]
    edges: list[Edge] = field(default_factory=list)


def main_resources(stack: Stack) -> list[str]:
    """`label xN` for each main type in the stack (DynamoDB tables note their replicas' regions below)."""
    counts = Counter(r.type for r in stack.resources() if r.type in MAIN)
    replicas = sorted(
        {
            replica["Region"]
            for r in stack.resources()
            if r.type == "AWS::DynamoDB::GlobalTable"
            for replica in r.properties.get("Replicas", [])
            if replica.get("Region") != stack.region
        }
    )
    lines = []
    for resource_type, label in MAIN.items():
        if counts[resource_type]:
            lines.append(label + (f" {TIMES}{counts[resource_type]}" if counts[resource_type] > 1 else ""))
            if resource_type == "AWS::DynamoDB::GlobalTable" and replicas:
                lines.append(f"  (replicas in {', '.join(replicas)})")  # a line of its own: the box is narrow
    return lines


def _outputs_used(value: Any) -> Iterator[dict[str, str]]:
    if isinstance(value, dict):
        if "Fn::GetStackOutput" in value:
            yield value["Fn::GetStackOutput"]
        for item in value.values():
            yield from _outputs_used(item)
    elif isinstance(value, list):
        for item in value:
            yield from _outputs_used(item)


def _referenced_type(producer: Stack, output: str) -> str:
    """What the output of `producer` refers to, as a short name (the main label, or the type's last part)."""
    value = producer.template.get("Outputs", {}).get(output, {}).get("Value")
    logical = value.get("Ref") if isinstance(value, dict) else None
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical = value["Fn::GetAtt"][0]
    resource_type = producer.template["Resources"].get(logical, {}).get("Type", "") if logical else ""
    return MAIN.get(resource_type, resource_type.rsplit("::", 1)[-1] or "value")


def edges(stage: StageAssembly) -> list[Edge]:
    """Every arrow of the stage's picture, deterministic in order."""
    by_name = stage.by_name()
    found: list[Edge] = []
    referenced: set[tuple[str, str]] = set()
    for consumer in stage.stacks:
        what: dict[str, Counter[str]] = defaultdict(Counter)
        for use in _outputs_used(consumer.template.get("Resources", {})):
            producer = by_name.get(use["StackName"])
            if producer is not None:
                what[producer.name][_referenced_type(producer, use["OutputName"])] += 1
        for producer_name, kinds in sorted(what.items()):
            named = [name for name, _ in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))]
            label = ", ".join(named[:3]) + (f" +{len(named) - 3}" if len(named) > 3 else "")
            found.append(Edge(producer_name, consumer.name, "reference", label))
            referenced.add((producer_name, consumer.name))
    ids = {stack.artifact_id: stack.name for stack in stage.stacks}
    for stack in stage.stacks:
        for dependency in stack.dependencies:
            name = ids.get(dependency)
            if name and (name, stack.name) not in referenced:
                found.append(Edge(name, stack.name, "dependency", ""))
    found += _ingress(stage) + _replication(stage)
    return found


def _holding(stage: StageAssembly, resource_type: str) -> list[Stack]:
    return [s for s in stage.stacks if any(r.type == resource_type for r in s.resources())]


def _internet_facing(resource_type: str, properties: dict[str, Any]) -> bool:
    return resource_type.endswith("::LoadBalancer") and properties.get("Scheme", "internet-facing") == "internet-facing"


def _ingress(stage: StageAssembly) -> list[Edge]:
    """The internet reaches CloudFront where a stack has a distribution, and the load balancer behind it;
    otherwise the load balancer directly."""
    balancers = [s for s in stage.stacks if any(_internet_facing(r.type, r.properties) for r in s.resources())]
    fronts = _holding(stage, "AWS::CloudFront::Distribution")
    if fronts:
        return [Edge("internet", f.name, "ingress", "HTTPS") for f in fronts] + [
            Edge(f.name, b.name, "ingress", "HTTPS + origin header") for f in fronts for b in balancers
        ]
    return [Edge("internet", b.name, "ingress", "HTTPS") for b in balancers]


def _replication(stage: StageAssembly) -> list[Edge]:
    """S3 replication to a bucket another stack names, and Aurora global database secondaries."""
    buckets = {
        str(r.properties["BucketName"]): s.name
        for s in stage.stacks
        for r in s.resources()
        if r.type == "AWS::S3::Bucket" and isinstance(r.properties.get("BucketName"), str)
    }
    found: set[Edge] = set()
    for stack in stage.stacks:
        for resource in stack.resources():
            for rule in resource.properties.get("ReplicationConfiguration", {}).get("Rules", []):
                destination = str(rule.get("Destination", {}).get("Bucket", "")).removeprefix("arn:aws:s3:::")
                if destination in buckets and buckets[destination] != stack.name:
                    found.add(Edge(stack.name, buckets[destination], "replication", "S3 replication"))
            if resource.type == "AWS::RDS::DBCluster":
                for use in _outputs_used(resource.properties.get("GlobalClusterIdentifier")):
                    found.add(Edge(use["StackName"], stack.name, "replication", "Aurora global database"))
    return sorted(found, key=lambda e: (e.source, e.target))


def picture(stage: StageAssembly) -> Picture:
    order = stage.deploy_order()
    ids = {stack.artifact_id: stack for stack in stage.stacks}
    levels: dict[str, int] = {}
    for stack in order:
        deps = [levels[ids[d].name] for d in stack.dependencies if d in ids]
        levels[stack.name] = 1 + max(deps) if deps else 0
    primary = (stage.stacks[0].account, stage.stacks[0].region)
    regions = [primary, *sorted(set(stage.environments) - {primary})]
    return Picture(stage.name, regions, order, {s.name: main_resources(s) for s in order}, levels, edges(stage))


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    height: float


def render(pic: Picture) -> str:
    """The SVG: bands per region, boxes per stack, edges with labels, a legend."""
    left = MARGIN + 56
    boxes: dict[str, Box] = {}
    bands: list[tuple[tuple[str, str], float, float]] = []
    ingress_targets = [e.target for e in pic.edges if e.source == "internet"]
    y = 56.0 + (INTERNET_LANE if ingress_targets else 0)
    for account_region in pic.regions:
        in_band = [s for s in pic.stacks if (s.account, s.region) == account_region]
        column_y: dict[int, float] = defaultdict(lambda: 0.0)
        for stack in in_band:
            level = pic.levels[stack.name]
            ends = max(sum(e.target == stack.name for e in pic.edges), sum(e.source == stack.name for e in pic.edges))
            height = max(HEADER + LINE * max(1, len(pic.lines[stack.name])) + 8, 16.0 * (ends + 1))
            boxes[stack.name] = Box(left + level * COLUMN, y + 30 + column_y[level], height)
            column_y[level] += height + GAP
        band_height = 30 + max(column_y.values(), default=0.0) + 4
        bands.append((account_region, y, band_height))
        y += band_height + 14
    width = left + max(pic.levels.values(), default=0) * COLUMN + BOX_WIDTH + 130 + MARGIN
    legend_y = y + 6
    height = legend_y + 22 * len(LEGEND) + MARGIN
    if ingress_targets:
        boxes["internet"] = Box(_lane_x(boxes[ingress_targets[0]]) - INTERNET_WIDTH / 2, 50.0, 36)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{_colour(kind)}"/></marker>'
            for kind in STYLES
        )
        + "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="30" font-size="17" font-weight="bold">{escape(pic.stage)}: stacks by region and '
        "deploy order, main resources, and what flows between them</text>",
    ]
    band_x = MARGIN + 20
    for index, ((account, region), band_y, band_height) in enumerate(bands):
        out.append(
            f'<rect x="{band_x}" y="{band_y:.0f}" width="{width - MARGIN - band_x:.0f}" '
            f'height="{band_height:.0f}" rx="10" fill="{BAND_FILLS[index % len(BAND_FILLS)]}" stroke="#c7d0dc"/>'
        )
        out.append(
            f'<text x="{band_x + 12}" y="{band_y + 20:.0f}" font-weight="bold" fill="#364152">'
            f"{escape(region)} (account {escape(account)})</text>"
        )
    if ingress_targets:
        box = boxes["internet"]
        out.append(
            f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{INTERNET_WIDTH}" height="36" rx="18" fill="#fff4e6" '
            'stroke="#e8590c"/>'
            f'<text x="{box.x + INTERNET_WIDTH / 2:.0f}" y="{box.y + 22:.0f}" text-anchor="middle">internet</text>'
        )
    paths, labels = _edges_svg(pic.edges, boxes)
    out += paths  # under the boxes, so a long edge passes behind what it skips
    for stack in pic.stacks:
        box = boxes[stack.name]
        out.append(
            f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{BOX_WIDTH}" height="{box.height:.0f}" rx="6" '
            f'fill="#ffffff" stroke="#4b5563"/>'
        )
        out.append(f'<text x="{box.x + 10:.0f}" y="{box.y + 17:.0f}" font-weight="bold">{escape(stack.name)}</text>')
        for number, line in enumerate(pic.lines[stack.name] or ["(no main resources)"]):
            out.append(
                f'<text x="{box.x + 14:.0f}" y="{box.y + HEADER + 11 + number * LINE:.0f}" fill="#374151">'
                f"{escape(_fit(line))}</text>"
            )
    out += labels
    for number, (kind, text) in enumerate(LEGEND.items()):
        line_y = legend_y + 22 * number
        out.append(
            f'<line x1="{MARGIN}" y1="{line_y:.0f}" x2="{MARGIN + 44}" y2="{line_y:.0f}" {STYLES[kind]} '
            f'marker-end="url(#arrow-{kind})"/><text x="{MARGIN + 54}" y="{line_y + 4:.0f}">{escape(text)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _edges_svg(all_edges: list[Edge], boxes: dict[str, Box]) -> tuple[list[str], list[str]]:
    """Curves from the source's right side to the target's left side; to a target further left, from the
    source's left side to the target's right side; within a column, out and back on the right. Ends are
    spread along each side; each label sits just before its arrowhead, in the gap."""
    outgoing: dict[str, list[Edge]] = defaultdict(list)
    incoming: dict[str, list[Edge]] = defaultdict(list)
    for edge in all_edges:
        outgoing[edge.source].append(edge)
        incoming[edge.target].append(edge)
    paths, labels = [], []
    for edge in all_edges:
        source, target = boxes[edge.source], boxes[edge.target]
        if edge.source == "internet":
            paths.append(_from_the_internet(edge, source, target))
            labels.append(_label(edge, target.x - 10, target.y + target.height / 2 - 4, "end"))
            continue
        y1 = source.y + source.height * (outgoing[edge.source].index(edge) + 1) / (len(outgoing[edge.source]) + 1)
        y2 = target.y + target.height * (incoming[edge.target].index(edge) + 1) / (len(incoming[edge.target]) + 1)
        forward = target.x > source.x + BOX_WIDTH
        backward = target.x + BOX_WIDTH < source.x  # leaves from the left side, across the gap between
        x1 = source.x if backward else source.x + BOX_WIDTH
        x2 = target.x if forward else target.x + BOX_WIDTH
        bend = max(60.0, abs(x2 - x1) / 2) if forward or backward else 110.0
        first = x1 - bend if backward else x1 + bend
        second = x2 - bend if forward else x2 + bend
        paths.append(
            f'<path d="M{x1:.0f},{y1:.0f} C{first:.0f},{y1:.0f} {second:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
            f'fill="none" {STYLES[edge.kind]} marker-end="url(#arrow-{edge.kind})"/>'
        )
        if edge.label:
            labels.append(_label(edge, *((x2 - 10, y2 - 4, "end") if forward else (x2 + 10, y2 + 12, "start"))))
    return paths, labels


def _lane_x(target: Box) -> float:
    """The middle of the gap left of `target`'s column (just left of it in the first column)."""
    return target.x - (COLUMN - BOX_WIDTH) / 2 if target.x - (COLUMN - BOX_WIDTH) > MARGIN else target.x - 22


def _from_the_internet(edge: Edge, internet: Box, target: Box) -> str:
    """From the internet above the bands down the gap left of the target, then into its left side."""
    x, y2 = _lane_x(target), target.y + target.height / 2
    start, below = internet.x + INTERNET_WIDTH / 2, internet.y + internet.height + 8
    return (
        f'<path d="M{start:.0f},{below - 8:.0f} L{start:.0f},{below:.0f} L{x:.0f},{below:.0f} L{x:.0f},{y2 - 12:.0f} '
        f'Q{x:.0f},{y2:.0f} {x + 12:.0f},{y2:.0f} L{target.x:.0f},{y2:.0f}" '
        f'fill="none" {STYLES[edge.kind]} marker-end="url(#arrow-{edge.kind})"/>'
    )


def _label(edge: Edge, x: float, y: float, anchor: str) -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" font-size="10" fill="{_colour(edge.kind)}" '
        f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(_fit(edge.label, LABEL_CHARS))}</text>'
    )


def _colour(kind: str) -> str:
    return STYLES[kind].split('"')[1]


def _fit(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write(assembly: CloudAssembly, directory: Path = DIAGRAMS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, stage in sorted(assembly.stages.items()):
        path = directory / f"{name}.svg"
        path.write_text(render(picture(stage)), encoding="utf-8")
        written.append(path)
    return written


def out_of_date(assembly: CloudAssembly, directory: Path = DIAGRAMS_DIR) -> list[str]:
    """The stages whose committed diagram differs from what their templates draw."""
    stale = []
    for name, stage in sorted(assembly.stages.items()):
        path = directory / f"{name}.svg"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(picture(stage)):
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make diagram", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed diagram is out of date")
    args = parser.parse_args(argv)
    try:
        assembly = ensure(None)
    except AssemblyError as error:
        print(error, file=sys.stderr)
        return 1
    if args.check:
        stale = out_of_date(assembly)
        for name in stale:
            print(f"docs/diagrams/{name}.svg is out of date with the templates — run make diagram and commit it")
        return 1 if stale else 0
    for path in write(assembly):
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
