"""cfn-lint over every synthesized template, started in the background as soon as the session's
synthesis is written, so it lints while the other tests run (tests/compliance/test_cfn_lint.py waits
for it and runs last).

- Each template is linted for its own region only; naming every region for every template would lint
  each one once per region.
- Results are cached by what decides them: the template's bytes, its region and the cfn-lint version
  (`.pytest_cache/cfn-lint/`). A change relints the templates it changed; a fresh clone lints them all.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
PROCESSES = 2
"""cfn-lint is single-threaded; CI has two cores."""
Finding = dict[str, Any]


def _cache_key(path: Path, region: str) -> str:
    digest = hashlib.sha256(f"{version('cfn-lint')}\n{region}\n".encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class CfnLintRun:
    """The cfn-lint processes over one synthesis; `findings()` waits for them."""

    templates: dict[Path, str]
    """Every template linted, with the region it was linted for."""
    cache_dir: Path
    processes: list[tuple[subprocess.Popen[str], list[Path]]] = field(default_factory=list)
    cached: list[Finding] = field(default_factory=list)
    relinted: list[Path] = field(default_factory=list)
    """The templates this run lints (the others' results came from the cache)."""

    def findings(self) -> list[Finding]:
        found = list(self.cached)
        for process, batch in self.processes:
            stdout, stderr = process.communicate(timeout=600)
            assert stderr == "", stderr
            batch_findings: list[Finding] = json.loads(stdout or "[]")
            found += batch_findings
            for path in batch:
                mine = [f for f in batch_findings if Path(f["Filename"]) == path]
                (self.cache_dir / _cache_key(path, self.templates[path])).write_text(json.dumps(mine))
        return found


def start_cfn_lint(templates: dict[Path, str], cache_dir: Path) -> CfnLintRun:
    """Lint `templates` (path -> region) not in `cache_dir` in PROCESSES batches of about equal size,
    one region per batch."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    run = CfnLintRun(dict(templates), cache_dir)
    by_region: dict[str, list[Path]] = defaultdict(list)
    for path, region in templates.items():
        cache = cache_dir / _cache_key(path, region)
        if cache.exists():
            # Findings name the file they were found in: this session's copy of the same template.
            run.cached += [{**f, "Filename": str(path)} for f in json.loads(cache.read_text())]
        else:
            by_region[region].append(path)
            run.relinted.append(path)
    for region, paths in by_region.items():
        # Split the big regions so every process gets its share; largest templates first.
        shares = max(1, min(PROCESSES, round(PROCESSES * len(paths) / max(1, len(run.relinted)))))
        split: list[list[Path]] = [[] for _ in range(shares)]
        sizes = [0] * shares
        for path in sorted(paths, key=lambda p: p.stat().st_size, reverse=True):
            smallest = sizes.index(min(sizes))
            split[smallest].append(path)
            sizes[smallest] += path.stat().st_size
        for batch in filter(None, split):
            command = [str(CFN_LINT), "--format", "json", "--regions", region, "--", *map(str, batch)]
            run.processes.append(
                (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), batch)
            )
    return run
