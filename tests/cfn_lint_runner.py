"""cfn-lint over every synthesized template, started in the background as soon as the session's
synthesis is written, so it lints while the other tests run (tests/compliance/test_cfn_lint.py waits
for it and runs last).

Each template is linted for its own region only; naming every region for every template would lint
each one once per region.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
PROCESSES = 2
"""cfn-lint is single-threaded; CI has two cores."""


@dataclass
class CfnLintRun:
    """The cfn-lint processes over one synthesis; `findings()` waits for them."""

    processes: list[subprocess.Popen[str]]
    templates: dict[Path, str]
    """Every template linted, with the region it was linted for."""

    def findings(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for process in self.processes:
            stdout, stderr = process.communicate(timeout=600)
            assert stderr == "", stderr
            found += json.loads(stdout or "[]")
        return found


def start_cfn_lint(templates: dict[Path, str]) -> CfnLintRun:
    """Lint `templates` (path -> region) in PROCESSES batches of about equal size, one region per batch."""
    by_region: dict[str, list[Path]] = defaultdict(list)
    for path, region in templates.items():
        by_region[region].append(path)
    batches: list[tuple[str, list[Path], int]] = []
    for region, paths in by_region.items():
        # Split the big regions so every process gets its share; largest templates first.
        shares = max(1, round(PROCESSES * len(paths) / len(templates)))
        split: list[list[Path]] = [[] for _ in range(shares)]
        sizes = [0] * shares
        for path in sorted(paths, key=lambda p: p.stat().st_size, reverse=True):
            smallest = sizes.index(min(sizes))
            split[smallest].append(path)
            sizes[smallest] += path.stat().st_size
        batches += [(region, batch, size) for batch, size in zip(split, sizes, strict=True) if batch]
    processes = [
        subprocess.Popen(
            [str(CFN_LINT), "--format", "json", "--regions", region, "--", *map(str, batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for region, batch, _ in batches
    ]
    return CfnLintRun(processes, dict(templates))
