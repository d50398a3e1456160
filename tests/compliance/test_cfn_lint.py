"""cfn-lint over the templates of this session's synthesis: zero errors and zero warnings.

The one allowance: W3005 (a redundant DependsOn) on resources whose DependsOn CDK itself writes: its
singleton custom-resource providers (construct ids starting `Custom::`), the target group of an RDS Proxy
and the CodePipeline of CDK Pipelines (both L2s add DependsOn next to a Ref). Our own code adds DependsOn
only where nothing refers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import SynthesizedPlatform

ALLOWED_ON_CDK_INTERNALS = {"W3005"}
CDK_INTERNAL_PATHS = ("/Custom::", "/Proxy/ProxyTargetGroup", "/Pipeline/Pipeline/Resource")


def _is_allowed(finding: dict[str, Any]) -> bool:
    if finding["Rule"]["Id"] not in ALLOWED_ON_CDK_INTERNALS:
        return False
    path = finding["Location"]["Path"]
    if len(path) < 2 or path[0] != "Resources":
        return False
    template = json.loads(Path(finding["Filename"]).read_text())
    cdk_path = template["Resources"][path[1]].get("Metadata", {}).get("aws:cdk:path", "")
    return any(marker in cdk_path for marker in CDK_INTERNAL_PATHS)


def test_cfn_lint_is_clean(platform: SynthesizedPlatform) -> None:
    templates = platform.template_files()
    assert len(templates) >= len(platform.configs), "every stage has at least one template"
    regions = sorted({config.region for config in platform.configs.values()})
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--regions", *regions, "--", *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.stderr == ""
    findings = [f for f in json.loads(result.stdout or "[]") if not _is_allowed(f)]
    assert findings == [], "\n".join(
        f"{f['Rule']['Id']} {f['Filename']}:{f['Location']['Start']['LineNumber']} {f['Message']}" for f in findings
    )
