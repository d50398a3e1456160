"""cfn-lint over the templates of this session's synthesis: zero errors and zero warnings. The lint
itself starts in the background right after the synthesis (tests/cfn_lint_runner.py).

The one allowance: W3005 (a redundant DependsOn) where CDK's L2s write it themselves: every Lambda
function, custom-resource provider and CodePipeline depends on its IAM role and default policy next to
the GetAtt, and an RDS Proxy's target group on its database. Our own code adds DependsOn only where
nothing refers, so any other W3005 fails this test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import cfn_lint_runner
from tests.synthesis import SynthesizedPlatform

CDK_DEPENDENCY_TYPES = {"AWS::IAM::Role", "AWS::IAM::Policy"}
CDK_INTERNAL_PATHS = ("/Proxy/ProxyTargetGroup",)


def _is_allowed(finding: dict[str, Any]) -> bool:
    path = finding["Location"]["Path"]
    if finding["Rule"]["Id"] != "W3005" or len(path) < 3 or path[0] != "Resources" or path[2] != "DependsOn":
        return False
    resources = json.loads(Path(finding["Filename"]).read_text())["Resources"]
    resource = resources[path[1]]
    depends_on = resource["DependsOn"]
    target = depends_on[path[3]] if isinstance(depends_on, list) else depends_on
    cdk_path = resource.get("Metadata", {}).get("aws:cdk:path", "")
    return resources[target]["Type"] in CDK_DEPENDENCY_TYPES or any(m in cdk_path for m in CDK_INTERNAL_PATHS)


def _lint_problems(platform: SynthesizedPlatform, templates: list[Path]) -> list[str]:
    assert platform.cfn_lint is not None
    assert set(templates) <= set(platform.cfn_lint.templates), "every template is linted"
    return [
        f"{f['Rule']['Id']} {f['Filename']}:{f['Location']['Start']['LineNumber']} {f['Message']}"
        for f in platform.cfn_lint.findings()
        if Path(f["Filename"]) in templates and not _is_allowed(f)
    ]


def test_cfn_lint_is_clean(platform: SynthesizedPlatform, stage: str) -> None:
    templates = platform.stage_template_files(stage)
    assert templates
    problems = _lint_problems(platform, templates)
    assert problems == [], "\n".join(problems)


def test_cfn_lint_is_clean_outside_the_stages(platform: SynthesizedPlatform) -> None:
    """The pipeline's templates, and every template is linted for the region it deploys to."""
    assert platform.cfn_lint is not None
    assert sorted(platform.cfn_lint.templates) == platform.template_files()
    for stage in platform.stages.values():
        for stack in platform.stacks(stage.stage_name):
            assert platform.cfn_lint.templates[Path(stage.outdir, stack.template_file)] == stack.region
    problems = _lint_problems(platform, platform.pipeline_template_files())
    assert problems == [], "\n".join(problems)


def test_results_are_reused_only_for_identical_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache: a template linted before with the same bytes, region and cfn-lint is not linted again;
    a changed one is. (A stand-in for cfn-lint reports one finding per file it was given.)"""
    fake = tmp_path / "cfn-lint"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "files = sys.argv[sys.argv.index('--') + 1:]\n"
        "print(json.dumps([{'Filename': f, 'Rule': {'Id': 'W0000'}} for f in files]))\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(cfn_lint_runner, "CFN_LINT", fake)
    first, second = tmp_path / "a.template.json", tmp_path / "b.template.json"
    first.write_text('{"Resources": {}}')
    second.write_text('{"Resources": {"X": {}}}')
    templates = {first: "us-east-1", second: "eu-west-1"}
    cache = tmp_path / "cache"

    cold = cfn_lint_runner.start_cfn_lint(templates, cache)
    assert sorted(cold.relinted) == [first, second]
    assert sorted(f["Filename"] for f in cold.findings()) == [str(first), str(second)]

    second.write_text('{"Resources": {"Y": {}}}')
    warm = cfn_lint_runner.start_cfn_lint(templates, cache)
    assert warm.relinted == [second]
    assert sorted(f["Filename"] for f in warm.findings()) == [str(first), str(second)]
    assert cfn_lint_runner.start_cfn_lint({first: "eu-west-1"}, cache).relinted == [first], "another region"
