#!/usr/bin/env python3
"""`make bench`: wall time and peak memory of (a) `cdk synth` of every stage with the pinned CLI, (b) the
same for a one-bucket app with the same cdk.json (the floor), (c) `make test`; then a/b and c/a against
the targets (a/b <= 2.5, c/a <= 3, peak memory of a <= 2 GB). Exits 1 when a target is missed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = str(ROOT / "node_modules" / ".bin" / "cdk")
TARGETS = {"a/b": 2.5, "c/a": 3.0}
PEAK_LIMIT_GB = 2.0


@dataclass(frozen=True)
class Run:
    """One measured command: wall seconds and the peak resident memory of its largest process."""

    label: str
    seconds: float
    peak_gb: float


def measure(label: str, command: list[str]) -> Run:
    """Run `command` from the repository root; ru_maxrss of wait4 covers the command and every process
    it waited for (the CLI, Python, the jsii node runtime, pytest's workers)."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{label}: {' '.join(command)} failed:\n{stderr.decode(errors='replace')[-4000:]}")
    return Run(label, seconds, usage.ru_maxrss / 1024 / 1024)


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        synth = measure("(a) cdk synth, every stage", [CDK, "synth", "--quiet", "--no-notices", "-o", f"{scratch}/a"])
        floor = measure(
            "(b) cdk synth, one bucket",
            [
                CDK,
                "synth",
                "--quiet",
                "--no-notices",
                "--app",
                f"{sys.executable} bench/floor_app.py",
                "-o",
                f"{scratch}/b",
            ],
        )
    test = measure("(c) make test", ["make", "--no-print-directory", "test"])
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
