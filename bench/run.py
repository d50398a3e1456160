#!/usr/bin/env python3
"""`make bench`: wall time and peak memory of (a) `cdk synth` of every stage with the pinned CLI, (b) the
same for a one-bucket app with the same cdk.json (the floor), (c) `make test`; then a/b and c/a against
the targets (a/b <= 2.5, c/a <= 3, peak memory of a <= 2 GB). Exits 1 when a target is missed."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = str(ROOT / "node_modules" / ".bin" / "cdk")
TARGETS = {"a/b": 2.5, "c/a": 3.0}
PEAK_LIMIT_GB = 2.0
RUNS = 3
"""Synth runs per measurement (the median counts); the tests run once."""


@dataclass(frozen=True)
class Run:
    """One measured command: wall seconds and the peak memory of its whole process tree."""

    label: str
    seconds: float
    peak_gb: float


def _tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and all its descendants now (the CLI, Python, the jsii node runtime,
    cfn-lint ...), from /proc: rusage only covers processes that were waited for, and jsii's is not."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue  # the process ended while we looked
        pid = int(status.parent.name)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending += children.get(pid, [])
    return total


def measure_once(label: str, command: list[str]) -> Run:
    """Run `command` from the repository root, sampling its process tree's memory every 250 ms."""
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _tree_rss_kb(process.pid))
            time.sleep(0.25)
        seconds = time.monotonic() - started
        if process.returncode != 0:
            stderr.seek(0)
            sys.exit(f"{label}: {' '.join(command)} failed:\n{stderr.read().decode(errors='replace')[-4000:]}")
    return Run(label, seconds, peak_kb / 1024 / 1024)


def measure(label: str, command: Callable[[int], list[str]], runs: int) -> Run:
    """The median wall time of `runs` runs of `command(run)` (a 2-core machine varies by a second from run
    to run) and the highest peak memory seen."""
    results = [measure_once(label, command(run)) for run in range(runs)]
    return Run(label, statistics.median(r.seconds for r in results), max(r.peak_gb for r in results))


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        # A fresh output directory per run, as `make synth` starts from none: nothing staged is reused.
        def synth_into(name: str, *app: str) -> Callable[[int], list[str]]:
            return lambda run: [CDK, "synth", "--quiet", "--no-notices", *app, "-o", f"{scratch}/{name}{run}"]

        synth = measure("(a) cdk synth, every stage", synth_into("a"), RUNS)
        floor = measure(
            "(b) cdk synth, one bucket", synth_into("b", "--app", f"{sys.executable} bench/floor_app.py"), RUNS
        )
    test = measure("(c) make test", lambda _: ["make", "--no-print-directory", "test"], 1)
    ratios = {"a/b": synth.seconds / floor.seconds, "c/a": test.seconds / synth.seconds}
    for run in (synth, floor, test):
        print(f"{run.label:30} {run.seconds:7.1f} s  {run.peak_gb:5.2f} GB peak")
    missed = []
    for name, value in ratios.items():
        ok = value <= TARGETS[name]
        print(f"{name:30} {value:7.2f}    (target <= {TARGETS[name]})  {'ok' if ok else 'MISSED'}")
        missed += [] if ok else [name]
    peak_ok = synth.peak_gb <= PEAK_LIMIT_GB
    verdict = "ok" if peak_ok else "MISSED"
    print(f"{'peak memory of (a)':30} {synth.peak_gb:7.2f} GB (target <= {PEAK_LIMIT_GB})  {verdict}")
    return 0 if not missed and peak_ok else 1


if __name__ == "__main__":
    sys.exit(main())
