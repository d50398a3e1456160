"""The test suite. Like `make`, it runs jsii on the Node that package.json pins when node_modules has it."""

import os
from pathlib import Path

_PINNED_NODE = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if (_PINNED_NODE / "node").exists():
    os.environ["PATH"] = f"{_PINNED_NODE}{os.pathsep}{os.environ.get('PATH', '')}"
