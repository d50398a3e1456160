"""The synthesized cloud assembly, read from disk: stages (the nested assemblies), their stacks, where each
deploys and what it depends on.

Every command in tools/ works from this model, so it sees exactly what `cdk deploy` would deploy.
`ensure` synthesizes first when cdk.out/ is missing, lacks a stage or is older than the sources.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTDIR = REPO_ROOT / "cdk.out"
LIVE_CONFIG = REPO_ROOT / "environments"
SOURCES = (
    "app.py",
    "cdk.json",
    "requirements.lock",
    "environments",
    "stacks",
    "constructs",
    "lambdas",
    "glue_jobs",
    "guardrails",
)
"""What synthesis reads: cdk.out/ older than any of these is stale."""
STACK_TYPE = "aws:cloudformation:stack"
NESTED_TYPE = "cdk:cloud-assembly"

Template = dict[str, Any]


class AssemblyError(Exception):
    """The assembly cannot serve the request (missing, or without the stage asked for)."""


@dataclass(frozen=True)
class Resource:
    """One resource of a template: its logical id, type and properties (CloudFormation's own shapes)."""

    stack: Stack
    logical_id: str
    type: str
    properties: dict[str, Any]
    deletion_policy: str

    @property
    def path(self) -> str:
        """The construct path CDK records (falls back to the logical id)."""
        return str(
            self.stack.template["Resources"][self.logical_id].get("Metadata", {}).get("aws:cdk:path", self.logical_id)
        )


@dataclass(frozen=True)
class Stack:
    """A stack artifact: `name` is the CloudFormation stack name, `path` the CLI's `<stage>/<id>`."""

    artifact_id: str
    name: str
    path: str
    account: str
    region: str
    template_file: Path
    dependencies: tuple[str, ...]
    """Artifact ids of the stacks this one deploys after."""
    termination_protection: bool
    bootstrap_version: int = 0
    """The bootstrap stack version the deploy needs (0: none named)."""
    bootstrap_parameter: str = ""
    """The SSM parameter that holds the bootstrapped version in the stack's account and region."""

    @property
    def construct_id(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @cached_property
    def template(self) -> Template:
        loaded: Template = json.loads(self.template_file.read_text(encoding="utf-8"))
        return loaded

    def resources(self) -> Iterator[Resource]:
        for logical_id, body in self.template.get("Resources", {}).items():
            yield Resource(
                self, logical_id, body["Type"], body.get("Properties", {}), body.get("DeletionPolicy", "Delete")
            )


@dataclass(frozen=True)
class StageAssembly:
    """The stacks of one stage (`cdk deploy '<stage>/*'`), in the manifest's order."""

    name: str
    stacks: tuple[Stack, ...]

    @property
    def environments(self) -> list[tuple[str, str]]:
        """Every (account, region) pair the stage deploys to, sorted: what must be bootstrapped."""
        return sorted({(stack.account, stack.region) for stack in self.stacks})

    def stack(self, artifact_id: str) -> Stack:
        (found,) = [stack for stack in self.stacks if stack.artifact_id == artifact_id]
        return found

    def by_name(self) -> dict[str, Stack]:
        return {stack.name: stack for stack in self.stacks}

    def deploy_order(self) -> list[Stack]:
        """The stacks in an order CloudFormation can create them (each after its dependencies); ties keep the
        manifest's order, so the result is deterministic."""
        ids = {stack.artifact_id for stack in self.stacks}
        done: list[Stack] = []
        placed: set[str] = set()
        pending = list(self.stacks)
        while pending:
            ready = [s for s in pending if all(d in placed or d not in ids for d in s.dependencies)]
            if not ready:
                raise AssemblyError(f"{self.name}: the stacks' dependencies form a cycle")
            for stack in ready:
                done.append(stack)
                placed.add(stack.artifact_id)
                pending.remove(stack)
        return done

    def resources(self) -> Iterator[Resource]:
        for stack in self.stacks:
            yield from stack.resources()


@dataclass(frozen=True)
class CloudAssembly:
    """cdk.out/: the stages (nested assemblies) and the top-level stacks (the pipeline and its support)."""

    outdir: Path
    stages: dict[str, StageAssembly]
    top_level: tuple[Stack, ...] = field(default=())

    @classmethod
    def read(cls, outdir: Path = DEFAULT_OUTDIR) -> CloudAssembly:
        manifest_file = outdir / "manifest.json"
        if not manifest_file.is_file():
            raise AssemblyError(f"{outdir}: no cloud assembly (run `make synth`)")
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        stages: dict[str, StageAssembly] = {}
        for artifact in manifest["artifacts"].values():
            if artifact["type"] == NESTED_TYPE:
                name = artifact["properties"].get("displayName", artifact["properties"]["directoryName"])
                nested = outdir / artifact["properties"]["directoryName"]
                nested_manifest = json.loads((nested / "manifest.json").read_text(encoding="utf-8"))
                stages[name] = StageAssembly(name, tuple(_stacks(nested, nested_manifest)))
        return cls(outdir, stages, tuple(_stacks(outdir, manifest)))

    def stage(self, name: str) -> StageAssembly:
        if name not in self.stages:
            known = ", ".join(sorted(self.stages)) or "none"
            raise AssemblyError(f"{self.outdir}: no stage {name!r} in the assembly (stages: {known})")
        return self.stages[name]


def _stacks(directory: Path, manifest: dict[str, Any]) -> Iterator[Stack]:
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] != STACK_TYPE:
            continue
        properties = artifact["properties"]
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        yield Stack(
            artifact_id=artifact_id,
            name=properties.get("stackName", artifact_id),
            path=artifact.get("displayName", artifact_id),
            account=account,
            region=region,
            template_file=directory / properties["templateFile"],
            dependencies=tuple(d for d in artifact.get("dependencies", ()) if not d.endswith(".assets")),
            termination_protection=bool(properties.get("terminationProtection", False)),
            bootstrap_version=int(properties.get("requiresBootstrapStackVersion", 0)),
            bootstrap_parameter=str(properties.get("bootstrapStackVersionSsmParameter", "")),
        )


def stale(
    outdir: Path, stages: Iterable[str], sources: Iterable[Path] | None = None, config_dir: Path = LIVE_CONFIG
) -> str | None:
    """Why `outdir` cannot be used for `stages` of `config_dir` as it is (None when it can): missing,
    without one of the stages, or older than a source file."""
    manifest = outdir / "manifest.json"
    if not manifest.is_file():
        return "no cloud assembly yet"
    try:
        present = set(CloudAssembly.read(outdir).stages)
    except (OSError, ValueError, KeyError) as error:
        return f"unreadable ({error})"
    missing = sorted(set(stages) - present)
    if missing:
        return f"it lacks {', '.join(missing)}"
    built = manifest.stat().st_mtime
    checked = sources if sources is not None else source_files(config_dir)
    newer = [path for path in checked if path.stat().st_mtime > built]
    if newer:
        return f"{newer[0].relative_to(REPO_ROOT) if newer[0].is_relative_to(REPO_ROOT) else newer[0]} changed since"
    return None


def _present(outdir: Path) -> list[str]:
    try:
        return list(CloudAssembly.read(outdir).stages)
    except (AssemblyError, OSError, ValueError, KeyError):
        return []


def source_files(config_dir: Path = LIVE_CONFIG) -> Iterator[Path]:
    """What a synthesis of `config_dir`'s stage files reads: the code, and the stage files of that folder
    only (editing the examples does not make the live assembly stale, nor the other way round)."""
    folder = config_dir.resolve()
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and (p.suffix != ".yaml" or p.parent == folder)
            )
    if not folder.is_relative_to(LIVE_CONFIG):
        yield from folder.glob("*.yaml")


def outdir_for(config_dir: Path) -> Path:
    """cdk.out/ for environments/; another folder of stage files (the examples) synthesizes into its own
    sub-folder, so its stages never pass for the live ones."""
    return DEFAULT_OUTDIR if config_dir.resolve() == LIVE_CONFIG else DEFAULT_OUTDIR / f"config-{config_dir.name}"


def ensure(stages: list[str] | None, config_dir: Path = LIVE_CONFIG) -> CloudAssembly:
    """The assembly of `config_dir` with `stages` (every stage file's when None), synthesized first when
    `stale` says so. Synthesis runs the CDK CLI the Makefile puts on PATH, for just those stages."""
    from environments.loader import available_stages

    outdir = outdir_for(config_dir)
    wanted = stages if stages is not None else available_stages(config_dir)
    reason = stale(outdir, wanted, config_dir=config_dir)
    if reason is not None:
        # The stages already there are built again too, so switching between stages does not rebuild each time.
        build = sorted(set(wanted) | (set(_present(outdir)) & set(available_stages(config_dir))))
        print(f"synthesizing {', '.join(build)} first: {outdir.relative_to(REPO_ROOT)}/ {reason}", flush=True)
        selection = ["-c", f"stages={','.join(build)}"] if stages is not None else []
        if outdir != DEFAULT_OUTDIR:
            selection += ["-c", f"config_dir={config_dir}"]
        command = ["cdk", "synth", "--quiet", "--no-notices", "--output", str(outdir), *selection]
        try:
            synthesized = subprocess.run(command, cwd=REPO_ROOT, check=False).returncode == 0
        except FileNotFoundError:
            raise AssemblyError("the CDK CLI is not on PATH: run this through make, which puts it there") from None
        if not synthesized:
            raise AssemblyError("synthesis failed (messages above)")
    return CloudAssembly.read(outdir)
