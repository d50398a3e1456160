"""The toolchain's pins hold together: every ==pin of a requirements*.txt is the version its lock installs (so
an edited pin without `make lock` fails here), and Node is pinned to an exact LTS release."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PIN_LISTS = sorted(path.name for path in REPO_ROOT.glob("requirements*.txt"))
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def normalized(name: str) -> str:
    """One spelling per package (PEP 503): PyYAML is pyyaml, aws-cdk.lambda-layer-kubectl-v36 is dashed."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(file: str) -> dict[str, str]:
    """The pins of `file` and of the files it includes with -r; anything but an ==pin fails the test."""
    found: dict[str, str] = {}
    for raw in (REPO_ROOT / file).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= pins(line.removeprefix("-r ").strip())
        elif line:
            match = PIN.fullmatch(line)
            assert match, f"{file}: {line!r} is not a ==pin"
            found[normalized(match[1])] = match[2]
    return found


def locked(file: str) -> dict[str, set[str]]:
    """Every package in lock `file` and its versions (a universal lock may fork one by Python version)."""
    versions: dict[str, set[str]] = {}
    for name, version in LOCKED.findall((REPO_ROOT / file).read_text()):
        versions.setdefault(normalized(name), set()).add(version)
    return versions


@pytest.mark.parametrize("pin_list", PIN_LISTS)
def test_every_pin_is_the_locked_version(pin_list: str) -> None:
    lock = pin_list.removesuffix(".txt") + ".lock"
    in_lock = locked(lock)
    drifted = {
        name: f"pinned {version}, locked {sorted(in_lock.get(name, ())) or 'nothing'}"
        for name, version in pins(pin_list).items()
        if in_lock.get(name) != {version}
    }
    assert not drifted, f"{lock} does not install what {pin_list} pins (run make lock): {drifted}"


def test_dev_lock_installs_the_runtime_lock_versions() -> None:
    """make test's venv runs the app on exactly the versions make synth's does."""
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_node_is_an_exact_lts_release() -> None:
    """Even majors from 22 on are LTS lines (odd ones never are); an exact version, as for every other pin, and
    the same one for every platform."""
    optional = json.loads((REPO_ROOT / "package.json").read_text())["optionalDependencies"]
    versions = {version for name, version in optional.items() if name.startswith("node-")}
    assert len(versions) == 1, f"package.json: the platforms' Node packages pin {sorted(versions)}, not one version"
    version = versions.pop()
    match = re.fullmatch(r"(\d+)\.\d+\.\d+", version)
    assert match, f"package.json: node {version!r} is not an exact version"
    major = int(match[1])
    assert major >= 22 and major % 2 == 0, f"package.json: node {version} is not an LTS line (an even major >= 22)"


def test_every_npm_package_is_hash_locked_and_installs_nothing_else() -> None:
    """`npm ci` checks each tarball against its lock entry's integrity. A package with an install script could
    fetch more (the `node` package ran a nested, unlocked `npm install` of the platform's binary)."""
    packages = json.loads((REPO_ROOT / "package-lock.json").read_text())["packages"]
    unlocked = [path for path, e in packages.items() if path and not e.get("integrity", "").startswith("sha512-")]
    scripted = [path for path, entry in packages.items() if entry.get("hasInstallScript")]
    assert not unlocked, f"package-lock.json: no sha512 integrity for {unlocked}"
    assert not scripted, f"package-lock.json: {scripted} run install scripts"
