"""`make diagram`: the committed pictures match what the templates draw, the drawing is deterministic,
and it shows the flows the templates hold (references, the ingress path, replication)."""

from __future__ import annotations

import re

from tests.stage_files import REPO_ROOT
from tests.synthesis import SynthesizedPlatform
from tools import diagram
from tools.assembly import CloudAssembly


def test_committed_diagram_is_up_to_date(platform: SynthesizedPlatform, stage: str) -> None:
    committed = REPO_ROOT / "docs" / "diagrams" / f"{stage}.svg"
    drawn = diagram.render(diagram.picture(CloudAssembly.read(platform.outdir).stage(stage)))
    assert committed.is_file(), f"{committed.relative_to(REPO_ROOT)} is missing: run make diagram and commit it"
    assert committed.read_text() == drawn, f"{committed.relative_to(REPO_ROOT)} is out of date: run make diagram"


def test_the_drawing_is_deterministic_and_has_no_volatile_parts(platform: SynthesizedPlatform, stage: str) -> None:
    stage_assembly = CloudAssembly.read(platform.outdir).stage(stage)
    first = diagram.render(diagram.picture(stage_assembly))
    assert first == diagram.render(diagram.picture(CloudAssembly.read(platform.outdir).stage(stage)))
    assert not re.search(r"[0-9a-f]{32}|\d{4}-\d{2}-\d{2}", first), "no hashes or dates"
    for stack in stage_assembly.stacks:
        assert f">{stack.name}</text>" in first


def test_every_cross_stack_reference_and_the_ingress_path_are_drawn(platform: SynthesizedPlatform, stage: str) -> None:
    stage_assembly = CloudAssembly.read(platform.outdir).stage(stage)
    pic = diagram.picture(stage_assembly)
    names = {stack.name for stack in stage_assembly.stacks}
    drawn = {(e.source, e.target) for e in pic.edges if e.kind == "reference"}
    for consumer in stage_assembly.stacks:
        for use in diagram._outputs_used(consumer.template.get("Resources", {})):
            if use["StackName"] in names:
                assert (use["StackName"], consumer.name) in drawn
    ingress = [e for e in pic.edges if e.kind == "ingress"]
    assert ingress and ingress[0].source == "internet"
    balancer_stacks = {
        s.name for s in stage_assembly.stacks for r in s.resources() if r.type.endswith("::LoadBalancer")
    }
    assert {e.target for e in ingress} & balancer_stacks, "the path ends at the load balancer"


def test_regions_are_bands_and_replication_crosses_them(examples: SynthesizedPlatform) -> None:
    pic = diagram.picture(CloudAssembly.read(examples.outdir).stage("prod"))
    assert [region for _, region in pic.regions] == ["us-east-1", "eu-west-1"]
    replication = {(e.source, e.target, e.label) for e in pic.edges if e.kind == "replication"}
    assert ("prod-data", "prod-database-dr", "Aurora global database") in replication
    assert ("prod-data", "prod-data-dr", "S3 replication") in replication
    assert next(e for e in pic.edges if e.kind == "ingress").target == "prod-edge"


def test_the_ingress_path_runs_in_a_gap_not_behind_a_stack(platform: SynthesizedPlatform, stage: str) -> None:
    """The internet's arrow comes down between columns, so it cannot be read as passing through a stack."""
    svg = diagram.render(diagram.picture(CloudAssembly.read(platform.outdir).stage(stage)))
    boxes = [
        (float(x), float(y), float(x) + diagram.BOX_WIDTH, float(y) + float(h))
        for x, y, h in re.findall(rf'<rect x="(\d+)" y="(\d+)" width="{diagram.BOX_WIDTH}" height="(\d+)"', svg)
    ]
    ingress = re.findall(r'<path d="M([^"]+)"[^>]*stroke="#e8590c"', svg)
    lanes = [path for path in ingress if " Q" in path]
    assert boxes and lanes, "the stacks and the internet's arrow are drawn"
    for path in lanes:
        down = path.split(" L")[2]  # M start, L below the internet, L over to the lane, L down it
        lane_x = float(down.split(",")[0])
        assert not [b for b in boxes if b[0] <= lane_x <= b[2]], f"the ingress lane at x={lane_x} crosses a stack"
