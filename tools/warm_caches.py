"""`make runtime-deps`, once per install: fill the two caches a fresh clone's first synth would otherwise fill one
after the other, here side by side on two cores.

- jsii's package cache (in HOME): the jsii runtime unpacks every jsii package's tarball there on first load
  (aws-cdk-lib is 7,600 files), about 9 CPU seconds. A child process imports each package's `_jsii` module
  under `python -O`, as `app.sh` runs the app, which also compiles the -O bytecode of the packages' top modules.
- the -O bytecode of the other jsii bindings the app imports: aws_cdk's modules are up to 7 MB of source
  each, about 8 CPU seconds for the ones the app uses. This process compiles them meanwhile. Which ones:
  every aws_cdk module the app's sources import by name; the few the bindings import lazily for themselves
  (a tenth of the source) are compiled by the synth that imports them.

A cache emptied later is refilled by the next synth, slower but alike.
"""

from __future__ import annotations

import ast
import py_compile
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsii

from tools.assembly import REPO_ROOT

SITE_PACKAGES = Path(jsii.__file__).resolve().parent.parent
APP_SOURCES = ("app.py", "stacks", "constructs", "environments", "guardrails")
"""What `app.py` builds from (the tests and the deploy tooling are not part of a synth)."""


def jsii_packages() -> list[str]:
    """The importable names of every installed jsii package (those that carry an assembly tarball)."""
    return sorted(
        ".".join(tarball.parent.parent.relative_to(SITE_PACKAGES).parts)
        for tarball in SITE_PACKAGES.glob("**/_jsii/*.jsii.tgz")
    )


def _imported_modules(source: Path) -> Iterator[str]:
    """Every module name `source` imports, and for `from package import name` also `package.name`."""
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def binding_sources() -> list[Path]:
    """The source of every aws_cdk module the app's sources import, but the jsii packages' own top modules."""
    modules: set[str] = set()
    for entry in APP_SOURCES:
        for source in [REPO_ROOT / entry] if entry.endswith(".py") else (REPO_ROOT / entry).rglob("*.py"):
            modules.update(name for name in _imported_modules(source) if name.startswith("aws_cdk."))
    paths = (SITE_PACKAGES.joinpath(*module.split("."), "__init__.py") for module in modules - set(jsii_packages()))
    return sorted(path for path in paths if path.is_file())


def main() -> int:
    """Start the jsii loads in a child process, compile meanwhile, then wait for the child."""
    imports = ", ".join(f"{package}._jsii" for package in jsii_packages())
    loading = subprocess.Popen([sys.executable, "-O", "-c", f"import {imports}"])
    for source in binding_sources():
        py_compile.compile(
            str(source), optimize=1, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
        )
    return loading.wait()


if __name__ == "__main__":
    sys.exit(main())
