"""cfn-lint over the templates of this session's synthesis: zero errors and zero warnings.

The one allowance: W3005 (a redundant DependsOn) where CDK's L2s write it themselves: every Lambda
function, custom-resource provider and CodePipeline depends on its IAM role and default policy next to
the GetAtt, and an RDS Proxy's target group on its database. Our own code adds DependsOn only where
nothing refers, so any other W3005 fails this test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import SynthesizedPlatform

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


def test_cfn_lint_is_clean(platform: SynthesizedPlatform) -> None:
    templates = platform.template_files()
    assert len(templates) >= len(platform.configs), "every stage has at least one template"
    regions = sorted(
        {config.region for config in platform.configs.values()}
        | {config.dr.region for config in platform.configs.values() if config.dr.enabled}
    )
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    # cfn-lint is single-threaded: lint halves of the templates side by side (CI has two cores).
    runs = [
        subprocess.Popen(
            [str(cfn_lint), "--format", "json", "--regions", *regions, "--", *map(str, templates[index::2])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    findings = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=600)
        assert stderr == ""
        findings += [f for f in json.loads(stdout or "[]") if not _is_allowed(f)]
    assert findings == [], "\n".join(
        f"{f['Rule']['Id']} {f['Filename']}:{f['Location']['Start']['LineNumber']} {f['Message']}" for f in findings
    )
