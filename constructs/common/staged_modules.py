"""Code assets of exactly the modules a runtime imports, under their own names: a folder staged at synth from
files across the repository (a Lambda handler with the event schema beside it, a Flink job with its modules and
connector jars), which CDK then zips. Plain file copies: no Docker bundling."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


def staged_modules(files: Mapping[str, Path]) -> str:
    """A folder holding each of `files` (name in the asset -> source file), for an asset's `path`. Its place
    is named after the contents, so the same files stage to the same folder and hash to the same asset."""
    digest = hashlib.sha256()
    for name, source in sorted(files.items()):
        digest.update(name.encode() + b"\0" + source.read_bytes())
    folder = Path(tempfile.gettempdir()) / f"staged-modules-{digest.hexdigest()[:16]}"
    if not folder.is_dir():
        partial = Path(tempfile.mkdtemp(prefix="staging-"))
        for name, source in files.items():
            (partial / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, partial / name)
        try:
            partial.rename(folder)
        except OSError:  # staged concurrently by another synth: the same contents
            shutil.rmtree(partial)
    return str(folder)
