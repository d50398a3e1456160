"""`make failover-plan`: the ordered failover of a stage from its synthesized assembly names every piece the
runbook acts on, and names what is missing (exit 1) when a piece is not in the templates."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from environments.schema.regions import images_failover_region, replica_bucket_name
from tests.stage_files import EXAMPLE_CONFIG, LIVE_CONFIG
from tests.synthesis import SynthesizedPlatform
from tools import failover_plan
from tools.assembly import CloudAssembly

Template = dict[str, Any]


def _run(
    capsys: pytest.CaptureFixture[str], stage: str, outdir: Path, config_dir: Path = LIVE_CONFIG
) -> tuple[int, str, str]:
    status = failover_plan.main(["--stage", stage, "--config-dir", str(config_dir), "--outdir", str(outdir)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _copy(platform: SynthesizedPlatform, tmp_path: Path) -> Path:
    copy = tmp_path / "cdk.out"
    shutil.copytree(platform.outdir, copy, ignore=shutil.ignore_patterns("asset.*"))
    return copy


def _edit(outdir: Path, stack: str, change: Callable[[Template], None]) -> None:
    """Change the template of the stack named `stack` in the copied assembly."""
    for stage in CloudAssembly.read(outdir).stages.values():
        for found in stage.stacks:
            if found.name == stack:
                template = json.loads(found.template_file.read_text())
                change(template)
                found.template_file.write_text(json.dumps(template))
                return
    raise AssertionError(f"no stack {stack}")


def _of_type(template: Template, kind: str) -> list[str]:
    return [logical for logical, body in template["Resources"].items() if body["Type"] == kind]


def test_the_plan_names_every_piece_in_order(platform: SynthesizedPlatform, stage: str) -> None:
    config = platform.configs[stage]
    if not config.secondaries:
        with pytest.raises(failover_plan.AssemblyError, match="no secondary region"):
            failover_plan.plan(CloudAssembly.read(platform.outdir).stage(stage), config)
        return
    plan = failover_plan.plan(CloudAssembly.read(platform.outdir).stage(stage), config)
    prefix = f"{config.tags.project}-{config.name}"
    target = config.secondaries[0].region
    titles = [title for title, _ in plan.steps]
    assert titles.index("Promote the global database") < titles.index("Verify")
    assert titles[0] == "Decide" and titles[-1] == "Verify"
    text = plan.render()
    assert f"global cluster {prefix}-postgres-global" in text
    for region in config.secondaries:
        assert f"secondary cluster {prefix}-postgres-{region.region} in {region.region}" in text
    assert (
        f"--target-db-cluster-identifier arn:aws:rds:{target}:{config.account}:cluster:{prefix}-postgres-{target}"
        in text
    )
    assert f"/{config.tags.project}/{config.name}/postgres-master: replica in" in text
    assert f"replicates to {target}" in text and "aws efs delete-replication-configuration" in text
    for bucket in config.recovery.replicate_buckets:
        assert f"replica bucket {replica_bucket_name(config, bucket, target)}" in text
    assert "node group " in text and "Karpenter NodePool " in text
    assert "Route 53" in text
    images = images_failover_region(config)
    if images is not None:
        fallback = f"{replica_bucket_name(config, 'images', images.region)}.s3.{images.region}.amazonaws.com"
        assert f"CloudFront {stage}-edge /images/*: " in text and f" then {fallback} on 500, 502" in text


def test_every_stage_with_a_secondary_can_fail_over(
    platform: SynthesizedPlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str
) -> None:
    """Nothing the plan needs is missing from the templates, and `make failover-plan` says so with exit 0."""
    config = platform.configs[stage]
    if not config.secondaries:
        pytest.skip(f"{stage} has one region (the test above checks its plan is refused)")
    plan = failover_plan.plan(CloudAssembly.read(platform.outdir).stage(stage), config)
    assert plan.missing == []
    status, out, err = _run(capsys, stage, platform.outdir)
    assert status == 0 and "missing" not in out + err
    assert out.startswith(f"Failover plan for {stage}: {config.region} -> ")


def test_a_stage_without_a_secondary_or_missing_from_the_assembly_fails_in_one_line(
    platform: SynthesizedPlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str
) -> None:
    if platform.configs[stage].secondaries:
        outdir = _copy(platform, tmp_path)
        manifest = json.loads((outdir / "manifest.json").read_text())
        manifest["artifacts"] = {
            key: artifact for key, artifact in manifest["artifacts"].items()
            if artifact.get("properties", {}).get("displayName") != stage
        }  # fmt: skip
        (outdir / "manifest.json").write_text(json.dumps(manifest))
        expected = f"no stage '{stage}' in the assembly"
    else:
        outdir = platform.outdir
        expected = f"{stage}: no secondary region in its stage file"
    status, out, err = _run(capsys, stage, outdir)
    assert status == 1 and out == ""
    assert expected in err and err.count("\n") == 1


def _drop_secondary_cluster(template: Template) -> None:
    for logical_id in _of_type(template, "AWS::RDS::DBCluster"):
        del template["Resources"][logical_id]


def _drop_global_cluster(template: Template) -> None:
    for logical_id in _of_type(template, "AWS::RDS::GlobalCluster"):
        del template["Resources"][logical_id]


def _drop_efs_replication(template: Template) -> None:
    for logical_id in _of_type(template, "AWS::EFS::FileSystem"):
        template["Resources"][logical_id]["Properties"].pop("ReplicationConfiguration", None)


def _master_secret_not_in_target(template: Template) -> None:
    (secret,) = [r for r in _of_type(template, "AWS::SecretsManager::Secret") if r.startswith("PostgresMasterSecret")]
    template["Resources"][secret]["Properties"]["ReplicaRegions"] = [{"Region": "ap-southeast-1"}]


MUTATIONS: list[tuple[str, str, Callable[[Template], None], str]] = [
    (
        "the target's secondary cluster removed",
        "prod-database-eu-west-1",
        _drop_secondary_cluster,
        "missing: no Aurora secondary cluster in eu-west-1 joined to ai-platform-prod-postgres-global",
    ),
    (
        "the EFS replication removed",
        "prod-data",
        _drop_efs_replication,
        "missing: no EFS replication destination in eu-west-1",
    ),
    (
        "the master secret's replica in the target removed",
        "prod-data",
        _master_secret_not_in_target,
        "missing: secret /ai-platform/prod/postgres-master is replicated to ap-southeast-1 but not to eu-west-1",
    ),
    (
        "the global cluster removed",
        "prod-data",
        _drop_global_cluster,
        "missing: no AWS::RDS::GlobalCluster in the assembly",
    ),
]


@pytest.mark.parametrize("stage", ["prod"])
@pytest.mark.parametrize(("stack", "mutate", "expected"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_a_missing_piece_is_named_and_fails_the_plan(
    examples: SynthesizedPlatform,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    stage: str,
    stack: str,
    mutate: Callable[[Template], None],
    expected: str,
) -> None:
    outdir = _copy(examples, tmp_path)
    _edit(outdir, stack, mutate)
    status, out, err = _run(capsys, stage, outdir, EXAMPLE_CONFIG)
    assert status == 1
    assert expected in out, out
    assert "prod: the failover cannot run as planned" in err
