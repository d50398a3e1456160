#!/usr/bin/env python3
"""`make bench`: wall time (median of 3 runs each) and peak memory of the project's loops against their
targets; prints a table and exits 1 when a target is missed. Takes about 12 minutes on a quiet 2-core machine.

- floor: `cdk synth` of a one-bucket app in the project's App and cdk.json (bench/floor_app.py)
- full synth (every stage and the pipeline) <= 4x the floor; one stage (`-c stages=dev`) <= 2.5x the floor
- the network tests of one stage (`STAGES=dev pytest tests/unit/test_network.py`) <= 1.5x that stage's synth
- `make test` without the Spark tests <= 3x the full synth (cfn-lint's cache is warm from the second run on)
- the Spark tests (`pytest tests/lake`: a local Spark session and the lake's jobs) <= 120 s, a cost of their
  own (the JVM and the jobs), which the synth does not bound
- `make synth` in a fresh clone of HEAD with an empty HOME (no uv, npm or jsii cache) <= 2x a warm `make synth`
- peak memory of the whole process tree, in every run, <= 2 GB

It also prints the full synth's cost per resource over the floor (information, not a target): the ratio targets
were set for an app of 1,567 resources, and the figure per resource says whether a change made synthesis
cheaper or the app larger.

Run it through `make bench`: the Makefile's PATH (the pinned Node first) is the one `make synth` has.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = str(ROOT / "node_modules" / ".bin" / "cdk")
PY = str(ROOT / ".venv" / "bin" / "python")
MAKE_SYNTH = ["make", "--no-print-directory", "synth"]
RUNS = 3
PEAK_LIMIT_GB = 2.0
LAKE_TESTS_LIMIT_S = 120
CACHE_VARIABLES = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "UV_CACHE_DIR", "npm_config_cache")
"""Caches that would otherwise live outside the fresh clone's empty HOME."""


@dataclass(frozen=True)
class Command:
    """What to run, where, and with which environment (None: make bench's, with the Makefile's PATH)."""

    argv: list[str]
    cwd: Path = ROOT
    env: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Run:
    """One measurement: the median wall seconds of its runs and the highest peak memory of any of them."""

    name: str
    detail: str
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


def measure_once(name: str, command: Command) -> tuple[float, float]:
    """Wall seconds and peak GB of `command`, sampling its process tree's memory every 250 ms."""
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            command.argv, cwd=command.cwd, env=command.env, stdout=subprocess.DEVNULL, stderr=stderr
        )
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _tree_rss_kb(process.pid))
            time.sleep(0.25)
        seconds = time.monotonic() - started
        if process.returncode != 0:
            stderr.seek(0)
            sys.exit(f"{name}: {' '.join(command.argv)} failed:\n{stderr.read().decode(errors='replace')[-4000:]}")
    return seconds, peak_kb / 1024 / 1024


@dataclass(frozen=True)
class Bench:
    """One thing to measure; `each_run` sets up a run afresh and yields what to run."""

    name: str
    detail: str
    each_run: Callable[[], AbstractContextManager[Command]]


def measure(benches: list[Bench]) -> list[Run]:
    """The median of RUNS runs of each bench (a 2-core machine varies by a second from run to run), in rounds
    of one run of each, so that a burst of other work on the machine slows every bench alike, not one."""
    results: dict[str, list[tuple[float, float]]] = {bench.name: [] for bench in benches}
    for _ in range(RUNS):
        for bench in benches:
            with bench.each_run() as command:
                results[bench.name].append(measure_once(bench.name, command))
    return [
        Run(
            bench.name,
            bench.detail,
            statistics.median(seconds for seconds, _ in results[bench.name]),
            max(gb for _, gb in results[bench.name]),
        )
        for bench in benches
    ]


def shell_env(**changes: str) -> dict[str, str]:
    """A developer shell's environment for a `make` run: without what `make bench` added to PATH and the
    environment, so that make sets them up itself."""
    added = {str(ROOT / "node_modules" / ".bin"), str(ROOT / ".venv" / "bin")}
    env = {name: value for name, value in os.environ.items() if name not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    env["PATH"] = os.pathsep.join(entry for entry in env["PATH"].split(os.pathsep) if entry not in added)
    return env | changes


@contextmanager
def cdk_synth(*args: str) -> Iterator[Command]:
    """`cdk synth` into a new output directory, as `make synth` starts from none: nothing staged is reused."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        yield Command([CDK, "synth", "--quiet", "--no-notices", *args, "-o", outdir])


@contextmanager
def fresh_clone() -> Iterator[Command]:
    """`make synth` in a new clone of HEAD, with a new empty HOME: every install and cache starts empty."""
    with tempfile.TemporaryDirectory(prefix="bench-fresh-") as scratch:
        clone, home = Path(scratch, "clone"), Path(scratch, "home")
        home.mkdir()
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = {name: value for name, value in shell_env(HOME=str(home)).items() if name not in CACHE_VARIABLES}
        yield Command(MAKE_SYNTH, clone, env)


@contextmanager
def plain(command: Command) -> Iterator[Command]:
    """`command` as it is, every run."""
    yield command


def resource_count(outdir: Path) -> tuple[int, int]:
    """(templates, resources) of the cloud assembly in `outdir`, nested stage assemblies included."""
    templates = sorted(outdir.rglob("*.template.json"))
    return len(templates), sum(len(json.loads(t.read_text()).get("Resources", {})) for t in templates)


def main() -> int:
    if shutil.which("node") != str(ROOT / "node_modules" / ".bin" / "node"):
        sys.exit("bench/run.py: run it through `make bench`, which puts the pinned Node first on PATH")
    network_tests = Command([PY, "-m", "pytest", "tests/unit/test_network.py"], env={**os.environ, "STAGES": "dev"})
    make_test = Command(["make", "--no-print-directory", "test", "PYTEST_ARGS=--ignore=tests/lake"], env=shell_env())
    lake_tests = Command([PY, "-m", "pytest", "tests/lake"], env=shell_env())
    warm_synth = Command(MAKE_SYNTH, env=shell_env())
    runs = measure(
        [
            Bench("floor", "one bucket in new_app()", lambda: cdk_synth("--app", f"{PY} -m bench.floor_app")),
            Bench("full synth", "every stage and the pipeline", cdk_synth),
            Bench("one stage", "cdk synth -c stages=dev", lambda: cdk_synth("-c", "stages=dev")),
            Bench("network tests", "STAGES=dev pytest test_network.py", lambda: plain(network_tests)),
            Bench("make test", "the whole suite but tests/lake", lambda: plain(make_test)),
            Bench("lake tests", "pytest tests/lake (Spark)", lambda: plain(lake_tests)),
            Bench("warm make synth", "everything installed", lambda: plain(warm_synth)),
            Bench("fresh make synth", "new clone, empty HOME", fresh_clone),
        ]
    )
    floor, full, stage, network, test, lake, warm, fresh = runs
    print(f"{f'run (median of {RUNS})':52} {'seconds':>8} {'peak GB':>8}")
    for run in runs:
        print(f"{run.name + ': ' + run.detail:52} {run.seconds:8.1f} {run.peak_gb:8.2f}")
    targets = ((full, floor, 4.0), (stage, floor, 2.5), (network, stage, 1.5), (test, full, 3.0), (fresh, warm, 2.0))
    print(f"\n{'target':36} {'seconds':>15} {'ratio':>6}  {'target':8} verdict")
    missed = 0
    for measured, base, limit in targets:
        ratio = measured.seconds / base.seconds
        missed += ratio > limit
        seconds = f"{measured.seconds:.1f} / {base.seconds:.1f}"
        verdict = "ok" if ratio <= limit else "MISSED"
        print(f"{measured.name + ' / ' + base.name:36} {seconds:>15} {ratio:6.2f}  <= {limit:<5} {verdict}")
    missed += lake.seconds > LAKE_TESTS_LIMIT_S
    verdict = "ok" if lake.seconds <= LAKE_TESTS_LIMIT_S else "MISSED"
    print(f"{'lake tests (s)':36} {lake.seconds:15.1f} {'':6}  <= {LAKE_TESTS_LIMIT_S:<5} {verdict}")
    templates, resources = resource_count(ROOT / "cdk.out")  # what the warm `make synth` runs wrote
    per_resource = (full.seconds - floor.seconds) / resources * 1000
    counted = f"({resources} resources, {templates} templates)"
    print(f"{'full synth: ms per resource over floor':36} {per_resource:15.2f} {'':6}  {counted}")
    peak = max(run.peak_gb for run in runs)
    missed += peak > PEAK_LIMIT_GB
    verdict = "ok" if peak <= PEAK_LIMIT_GB else "MISSED"
    print(f"{'peak memory of any run (GB)':36} {peak:15.2f} {'':6}  <= {PEAK_LIMIT_GB:<5} {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
