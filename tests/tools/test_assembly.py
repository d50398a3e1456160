"""tools/assembly.py: the stages and stacks of a cloud assembly, the deploy order, and when cdk.out/ must
be synthesized again before a command uses it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.synthesis import SynthesizedPlatform
from tools.assembly import LIVE_CONFIG, CloudAssembly, source_files, stale


def test_stages_stacks_and_environments(platform: SynthesizedPlatform, stage: str) -> None:
    assembly = CloudAssembly.read(platform.outdir).stage(stage)
    config = platform.configs[stage]
    assert {s.name for s in assembly.stacks} == {s.stack_name for s in platform.stacks(stage)}
    assert (config.account, config.region) in assembly.environments
    order = [s.artifact_id for s in assembly.deploy_order()]
    for stack in assembly.stacks:
        assert all(order.index(d) < order.index(stack.artifact_id) for d in stack.dependencies if d in order)
        assert stack.bootstrap_version > 0 and stack.bootstrap_parameter.startswith("/cdk-bootstrap/")


def test_stale_when_missing_lacking_a_stage_or_older_than_a_source(
    examples: SynthesizedPlatform, tmp_path: Path
) -> None:
    assert stale(tmp_path / "none", ["dev"], []) == "no cloud assembly yet"
    copy = tmp_path / "cdk.out"
    shutil.copytree(examples.outdir, copy, ignore=shutil.ignore_patterns("asset.*"))
    assert stale(copy, ["dev", "prod"], []) is None
    assert stale(copy, ["qa"], []) == "it lacks qa"
    source = tmp_path / "stage.yaml"
    source.write_text("x")
    built = (copy / "manifest.json").stat().st_mtime
    os.utime(source, (built + 10, built + 10))
    assert stale(copy, ["dev"], [source]) is not None
    os.utime(source, (built - 10, built - 10))
    assert stale(copy, ["dev"], [source]) is None


def test_a_synthesis_reads_the_stage_files_of_its_own_folder_only() -> None:
    """Editing the cost-lean example does not make the live cdk.out/ stale, nor the other way round."""
    examples = LIVE_CONFIG / "examples"
    live = set(source_files())
    lean = set(source_files(examples))
    assert LIVE_CONFIG / "dev.yaml" in live and LIVE_CONFIG / "dev.yaml" not in lean
    assert examples / "dev-lean.yaml" in lean and examples / "dev-lean.yaml" not in live
    assert LIVE_CONFIG / "schema" / "stage.py" in live & lean
