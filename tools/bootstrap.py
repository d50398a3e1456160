"""`make bootstrap STAGE=<stage>`: bootstrap every account/region pair the stage's assembly deploys to (its
region, the secondary region, us-east-1 for the edge), trusting the tooling account of
environments/pipeline.yaml so the pipeline can deploy there; `make bootstrap-pipeline` bootstraps the
tooling account's own pairs (the pipeline and its cross-region support stacks).

Needs AWS credentials for the account being bootstrapped; says what it ran and what came of it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from environments.loader import PIPELINE_FILE
from tools import aws
from tools.assembly import LIVE_CONFIG, AssemblyError, CloudAssembly, ensure
from tools.preflight import PLACEHOLDER_ACCOUNT

EXECUTION_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
"""What CloudFormation may do when it deploys (README, "Bootstrap": scope it down where required)."""

Runner = Callable[[Sequence[str]], int]


def tooling_account(config_dir: Path, stage: str) -> str | None:
    """The pipeline's account, when the pipeline promotes `stage` and lives in another account."""
    path = config_dir / f"{PIPELINE_FILE}.yaml"
    if not path.is_file():
        return None
    pipeline = yaml.safe_load(path.read_text(encoding="utf-8"))
    return str(pipeline["account"]) if stage in pipeline.get("stages", []) else None


def commands(pairs: list[tuple[str, str]], trust: str | None) -> list[list[str]]:
    """One `cdk bootstrap` per pair, trusting `trust` (the tooling account) for pipeline deploys."""
    trusting = ["--trust", trust, "--cloudformation-execution-policies", EXECUTION_POLICY] if trust else []
    return [["cdk", "bootstrap", "--no-notices", f"aws://{account}/{region}", *trusting] for account, region in pairs]


def bootstrap(
    what: str, pairs: list[tuple[str, str]], trust: str | None, identity: aws.Identity, run: Runner
) -> tuple[list[str], int]:
    """Bootstrap the pairs in the credentials' account; lines saying what was done, and the exit code."""
    accounts = sorted({account for account, _ in pairs})
    lines: list[str] = []
    if any(PLACEHOLDER_ACCOUNT.fullmatch(account) for account in accounts):
        return [f"{what}: {', '.join(accounts)} is a placeholder account — set the real one first (make preflight)"], 1
    if identity.account not in accounts:
        mismatch = aws.account_mismatch(accounts[0], identity, what)
        return [f"{what}: {mismatch}"], 1
    failed = 0
    for command, (account, region) in zip(commands(pairs, trust), pairs, strict=True):
        if account != identity.account:
            lines.append(f"skipped aws://{account}/{region}: {aws.account_mismatch(account, identity, what)}")
            failed += 1
            continue
        code = run(command)
        trusted = f", trusting {trust} for pipeline deploys" if trust else ""
        lines.append(
            f"bootstrapped aws://{account}/{region}{trusted}" if code == 0
            else f"failed aws://{account}/{region} (cdk bootstrap exited {code}; messages above)"
        )  # fmt: skip
        failed += code != 0
    return lines, 1 if failed else 0


def _run(command: Sequence[str]) -> int:
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(list(command), check=False).returncode


def main(argv: list[str] | None = None, run: Runner = _run) -> int:
    parser = argparse.ArgumentParser(prog="make bootstrap", description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stage")
    target.add_argument("--pipeline", action="store_true", help="the tooling account's pairs")
    parser.add_argument("--config-dir", type=Path, default=LIVE_CONFIG)
    args = parser.parse_args(argv)
    try:
        session = aws.session_with_credentials("make bootstrap")
        identity = aws.identity(session)
        assembly = ensure(None if args.pipeline else [args.stage], args.config_dir)
    except (aws.NoCredentials, AssemblyError) as error:
        print(error, file=sys.stderr)
        return 1
    what, pairs, trust = _target(assembly, args.stage, args.config_dir)
    lines, code = bootstrap(what, pairs, trust, identity, run)
    print("\n".join(lines))
    return code


def _target(
    assembly: CloudAssembly, stage: str | None, config_dir: Path
) -> tuple[str, list[tuple[str, str]], str | None]:
    if stage is None:
        return "the pipeline", sorted({(s.account, s.region) for s in assembly.top_level}), None
    pairs = assembly.stage(stage).environments
    trust = tooling_account(config_dir, stage)
    return stage, pairs, trust if trust not in {account for account, _ in pairs} else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
